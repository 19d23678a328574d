// The "Try it" box of the write-up (docs/try.md): the exported model runs in the visitor's browser with
// onnxruntime-web (WebAssembly), no server. `make docs` puts the library (from npm, see package.json) in
// assets/demo/vendor/ and the model (or where to fetch it from the Hub) in assets/demo/, described by demo.json.
// Pages without the box load this module and do nothing.
import { hashedIds, prepareText } from "./textprep.js";

const ASSETS = new URL("../assets/demo/", import.meta.url);
const VENDOR = new URL("vendor/", ASSETS);

async function fetchOk(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch ${what} (${url}): ${err.message}`);
  }
  if (!response.ok) throw new Error(`could not fetch ${what} (${url}): HTTP ${response.status}`);
  return response;
}

const fetchJson = async (url, what) => (await fetchOk(url, what)).json();

/** The model file as bytes, reporting progress (the int8 transformer is tens of MB). */
async function fetchModel(url, progress) {
  const response = await fetchOk(url, "the model");
  const total = Number(response.headers.get("Content-Length")) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  // Chunks rather than one buffer of Content-Length bytes: a compressed response is longer than its header says.
  const chunks = [];
  let size = 0;
  for (const reader = response.body.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    progress(size, Math.max(size, total));
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function softmax(logits) {
  const top = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((x) => x / sum);
}

/** Load the library, the featurizer and the model described by demo.json; returns `text -> probabilities`. */
async function loadClassifier(info, status) {
  const base = new URL(info.base, ASSETS);
  const config = await fetchJson(new URL("config.json", base), "the model's config.json");
  const block = config.dl_portfolio;
  const ort = await import(new URL("ort.wasm.min.mjs", VENDOR).href).catch((err) => {
    throw new Error(`the JavaScript library is missing from this build (${err.message}): run \`npm ci\`, then \`make docs\``);
  });
  ort.env.wasm.wasmPaths = VENDOR.href;
  // One thread: threads need cross-origin isolation headers, which GitHub Pages does not send.
  ort.env.wasm.numThreads = 1;
  let featurize;
  if (block.encoder === "bow") {
    featurize = (text) => {
      const ids = hashedIds(text, block);
      return { ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]) };
    };
  } else {
    const { Tokenizer } = await import(new URL("tokenizers.min.mjs", VENDOR).href);
    const [json, cfg] = await Promise.all([
      fetchJson(new URL("tokenizer.json", base), "tokenizer.json"),
      fetchJson(new URL("tokenizer_config.json", base), "tokenizer_config.json"),
    ]);
    const tokenizer = new Tokenizer(json, cfg);
    featurize = (text) => {
      let ids = tokenizer.encode(text).ids;
      // Truncation as the Python tokenizer does it (max_length, the closing special token kept).
      if (ids.length > block.max_length) ids = [...ids.slice(0, block.max_length - 1), ids[ids.length - 1]];
      const shape = [1, ids.length];
      return {
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), shape),
        attention_mask: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), shape),
      };
    };
  }
  const bytes = await fetchModel(new URL(info.file, base), (done, total) => {
    status(`Loading the model… ${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`);
  });
  status("Starting the model…");
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const prepare = (text) => prepareText(text, block.normalize);
  return async (text) => {
    const feeds = featurize(prepare(text));
    const out = await session.run(Object.fromEntries(session.inputNames.map((name) => [name, feeds[name]])));
    return softmax(Array.from(out.logits.data, Number));
  };
}

function pct(p) {
  return `${(100 * p).toFixed(1)}%`; // the write-up's one format for fractions (formats.fmt_pct)
}

// `labels` are the model's ids (kept on each row as data-label); `names` are how a person reads them, written into
// demo.json by `make docs` with the library's formats.label_name, the one function the pages and figures use too.
function show(box, labels, names, probs, ms, text) {
  const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
  const best = order[0][1];
  const result = box.querySelector(".dl-demo__result");
  result.hidden = false;
  result.dataset.text = text;
  result.dataset.ms = ms.toFixed(3);
  result.querySelector(".dl-demo__label").textContent = names[best];
  result.querySelector(".dl-demo__confidence").textContent = pct(probs[best]);
  result.querySelector(".dl-demo__time").textContent = `${ms.toFixed(1)} ms in your browser`;
  const bars = result.querySelector(".dl-demo__bars");
  bars.replaceChildren(
    ...order.map(([p, i]) => {
      const row = document.createElement("li");
      row.dataset.label = labels[i];
      row.dataset.prob = String(p);
      row.className = i === best ? "dl-demo__row dl-demo__row--best" : "dl-demo__row";
      const name = Object.assign(document.createElement("span"), { className: "dl-demo__name", textContent: names[i] });
      const bar = Object.assign(document.createElement("span"), { className: "dl-demo__bar" });
      bar.style.setProperty("--p", p.toFixed(4));
      const value = Object.assign(document.createElement("span"), { className: "dl-demo__pct", textContent: pct(p) });
      row.append(name, bar, value);
      return row;
    }),
  );
}

async function start(box) {
  const status = box.querySelector(".dl-demo__status");
  const form = box.querySelector("form");
  const input = form.querySelector("textarea");
  const button = form.querySelector("button");
  const say = (text, state = "loading") => {
    status.textContent = text;
    box.dataset.state = state;
  };
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    say("This browser cannot run the demo: it needs WebAssembly, which is missing or turned off here.", "error");
    return;
  }
  let classify, info;
  try {
    info = await fetchJson(new URL("demo.json", ASSETS), "demo.json");
    if (!info.file) {
      say(info.message || "No model on this site yet.", "empty");
      return;
    }
    box.querySelector(".dl-demo__source").textContent = info.source_note;
    say("Loading the model…");
    classify = await loadClassifier(info, (text) => say(text));
  } catch (err) {
    console.warn("demo:", err);
    say(`The demo could not start: ${err.message}`, "error");
    return;
  }
  const labels = info.labels;
  const names = info.names || labels; // a demo.json written before names existed
  for (const noun of box.querySelectorAll(".dl-demo__noun")) noun.textContent = info.noun || noun.textContent;
  say("Ready: type a tweet.", "ready");
  button.disabled = false;
  let pending = Promise.resolve();
  const run = () => {
    const text = input.value;
    pending = pending.then(async () => {
      if (!text.trim()) return;
      const t0 = performance.now();
      const probs = await classify(text);
      show(box, labels, names, probs, performance.now() - t0, text);
    });
    return pending;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 250); // predict as the visitor types, once they pause
  });
}

for (const box of document.querySelectorAll("[data-dl-demo]")) start(box);
