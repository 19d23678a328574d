// What the model sees, computed in the browser exactly as Python computes it (dl_portfolio.textprep and encoders.py):
// the run's text preparation scheme, and the bag-of-n-grams featurizer (hashed word and character n-grams).
//
// Python's `re` and JavaScript's RegExp disagree on `\w` and `\s` outside ASCII, so both are spelled out:
// Python's \w is a letter, a number or "_" (Unicode categories L* and N*), and its \s is what str.isspace() accepts
// (which, unlike JavaScript's \s, includes U+001C..U+001F and U+0085 but not U+FEFF).
const WORD = "\\p{L}\\p{N}_";
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const URLS = new RegExp(`(?:https?://|www\\.)[^${SPACE}]+`, "gu");
const USERS = new RegExp(`(?<![${WORD}])@[${WORD}]+`, "gu");
const SPACES = new RegExp(`[${SPACE}]+`, "gu");
const TOKENS = new RegExp(`[${WORD}]+|[^${WORD}${SPACE}]`, "gu");

/** textprep.normalize_tweet: links -> "http", @mentions -> "@user", whitespace runs -> one space, trimmed. */
export function normalizeTweet(text) {
  const out = text.replace(URLS, "http").replace(USERS, "@user").replace(SPACES, " ");
  return out.replace(/^ /, "").replace(/ $/, "");
}

// TweetTopic's markup: {@Verified Name@} and its two placeholders (textprep.ENTITY, USERNAME, URL_TOKEN).
// The placeholders' opening braces are built, not written: two in a row would read as a template tag.
const OPEN = "{".repeat(2);
const ENTITIES = /\{@([\s\S]+?)@\}/gu;
const PY_STRIP = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, "gu"); // str.strip(): Python's whitespace at both ends

/** textprep.normalize_tweettopic: entity names kept, placeholders as TweetEval writes them, then normalizeTweet. */
export function normalizeTweetTopic(text) {
  const named = text.replace(ENTITIES, (_, name) => name.replace(PY_STRIP, ""));
  return normalizeTweet(named.replaceAll(`${OPEN}USERNAME}}`, "@user").replaceAll(`${OPEN}URL}}`, "http"));
}

/** textprep.prepare for one text: the scheme the run recorded (config.json's `normalize`; true/false from older runs). */
export function prepareText(text, scheme) {
  if (scheme === true || scheme === "tweeteval" || scheme == null) return normalizeTweet(text);
  if (scheme === "tweettopic") return normalizeTweetTopic(text);
  return text;
}

/** encoders.HashedNgrams.grams: word 1..N-grams, then "#"-prefixed character 3..N-grams of "<word>", cut. */
export function grams(text, { word_ngrams, char_ngrams, max_tokens }) {
  const words = text.toLowerCase().match(TOKENS) || [];
  const out = [];
  for (let n = 1; n <= word_ngrams; n++) {
    for (let i = 0; i + n <= words.length; i++) out.push(words.slice(i, i + n).join(" "));
  }
  if (char_ngrams) {
    for (const word of words) {
      const chars = Array.from(`<${word}>`); // code points, as Python indexes strings (not UTF-16 units)
      for (let n = 3; n <= char_ngrams; n++) {
        for (let i = 0; i + n <= chars.length; i++) out.push(`#${chars.slice(i, i + n).join("")}`);
      }
    }
  }
  return out.slice(0, max_tokens);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const UTF8 = new TextEncoder();

/** zlib.crc32 of the UTF-8 bytes of `text`, as an unsigned 32-bit number. */
export function crc32(text) {
  let c = 0xffffffff;
  for (const byte of UTF8.encode(text)) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** encoders.HashedNgrams on one text: its n-gram ids in 1..num_buckets-1, or [0] (padding) when it has none. */
export function hashedIds(text, config) {
  const ids = grams(text, config).map((g) => (crc32(g) % (config.num_buckets - 1)) + 1);
  return ids.length ? ids : [0];
}
