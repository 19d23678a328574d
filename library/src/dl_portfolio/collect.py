"""Collect labelled tweets from the X API v2 recent search (`make collect`).

Each label in `configs/collect.yaml` has one search query and a maximum. For every label in order, `collect` pages
through `search_recent_tweets` (next_token) until the label holds `max` tweets or the search runs out, and appends
what it finds to `<out>/tweets.jsonl`, one JSON object per line:

    {"id": "1853...", "text": "...", "label": "sports_&_gaming", "query": "...", "created_at": "...Z", "lang": "en"}

Safe to kill and re-run:
- Each page is appended with one write, then flushed and fsynced, so a kill loses at most the page in flight. A torn
  final line (no newline) is skipped and counted as an unreadable line; the next run starts on a fresh line.
- `<out>/state.json` is replaced atomically after each page and holds, per label: the query, `next_token` (resume
  pagination mid-query), `since_id` (the lower bound of the pass in progress), `newest_id` (highest id seen; the
  next fresh pass only asks for newer tweets) and `count`. The JSONL is the source of truth: counts and seen ids are
  rebuilt from it on start, so a page saved just before a kill is fetched again and deduplicated, not stored twice.
- A label that already holds `max` tweets is skipped. Changing a label's query restarts its pagination.

Tweets are deduplicated by id across runs and across labels: a tweet that matches two labels' queries is kept once,
with the label whose query found it first (the order of `labels` in the config), and counted in the summary as
`cross_label_duplicates`.

The bearer token comes from TWITTER_BEARER_TOKEN only and is never written to a file, log line or message. Recent
search needs at least the Basic tier of the X API. Bad token (401), missing access (403), rate limit (429, see
`on_rate_limit`) and network failures (retried `max_retries` times with exponential backoff) end with one clear
UserError; everything saved before stays saved.
"""

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

import requests
import tweepy
import yaml

from .errors import UserError
from .files import write_json
from .tables import read_collected_jsonl

TOKEN_ENV = "TWITTER_BEARER_TOKEN"
DATA_FILE = "tweets.jsonl"
STATE_FILE = "state.json"
REQUEST_TIMEOUT_S = 30
RATE_WINDOW_S = 15 * 60  # X rate limits reset every 15 minutes; used when the reset header is missing
DEFAULTS = {
    "max_results_per_page": 100,
    "tweet_fields": ["id", "text", "created_at", "lang", "author_id", "public_metrics"],
    "on_rate_limit": "wait",
    "max_retries": 3,
    "retry_base_delay": 2.0,
}


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout: tweepy sets none, so a stalled connection would hang forever."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        return super().request(method, url, **kwargs)


class _LineProgress:
    """Progress as one stderr line per page, for when tqdm is not installed."""

    def __init__(self, label: str, total: int, done: int):
        self.label, self.total, self.done = label, total, done

    def update(self, n: int) -> None:
        self.done += n
        print(f"{self.label}: {self.done}/{self.total}", file=sys.stderr)

    def close(self) -> None:
        pass


def _progress(label: str, total: int, done: int):
    """A tqdm bar on stderr (tqdm comes with lightning), else plain lines."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _LineProgress(label, total, done)
    return tqdm(total=total, initial=done, desc=label, unit="tweet", file=sys.stderr)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _check_int(where: str, key: str, value, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise UserError(f"{where}: '{key}' must be an integer {bound}, got {value!r}")


def _load_config(config: dict | str | Path) -> tuple[dict, str]:
    """The validated config with defaults filled in, and where it came from (for messages)."""
    if isinstance(config, dict):
        raw, where = config, "collect config"
    else:
        where = str(config)
        path = Path(config)
        if not path.is_file():
            raise UserError(f"collect config {where} not found: pass --config or restore configs/collect.yaml")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise UserError(f"{where} is not valid YAML: {_one_line(exc)}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a mapping with a 'labels' key")
    unknown = sorted(set(raw) - set(DEFAULTS) - {"labels"})
    if unknown:
        raise UserError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: labels, {', '.join(DEFAULTS)}"
        )
    cfg = {**DEFAULTS, **raw}

    labels = cfg.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise UserError(f"{where}: 'labels' must map each label to its 'query' and 'max'")
    for label, spec in labels.items():
        key = f"labels.{label}"
        if not isinstance(label, str) or not isinstance(spec, dict):
            raise UserError(f"{where}: '{key}' must be a label name mapping to 'query' and 'max'")
        extra = sorted(set(spec) - {"query", "max"})
        if extra:
            raise UserError(f"{where}: unknown key(s) {', '.join(map(repr, extra))} in '{key}'; allowed: query, max")
        if not isinstance(spec.get("query"), str) or not spec["query"].strip():
            raise UserError(f"{where}: '{key}.query' must be a non-empty search query")
        _check_int(where, f"{key}.max", spec.get("max"), 1)

    _check_int(where, "max_results_per_page", cfg["max_results_per_page"], 10, 100)  # the API's own limits
    fields = cfg["tweet_fields"]
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
        raise UserError(f"{where}: 'tweet_fields' must be a non-empty list of field names")
    if cfg["on_rate_limit"] not in ("wait", "stop"):
        raise UserError(f"{where}: 'on_rate_limit' must be 'wait' or 'stop', got {cfg['on_rate_limit']!r}")
    _check_int(where, "max_retries", cfg["max_retries"], 0)
    delay = cfg["retry_base_delay"]
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise UserError(f"{where}: 'retry_base_delay' must be a number of seconds >= 0, got {delay!r}")
    return cfg, where


def _local_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


class _Collector:
    """One run of `collect`: the seen ids, per-label counts and pagination state shared by all labels."""

    def __init__(self, cfg: dict, where: str, out: Path, token: str, sleep, clock):
        self.cfg, self.where, self.sleep, self.clock = cfg, where, sleep, clock
        self.data_path, self.state_path = out / DATA_FILE, out / STATE_FILE
        self.seen: dict[str, str] = {}  # tweet id -> the label it was stored with
        self.counts: Counter[str] = Counter()
        skipped = 0
        for path in sorted(out.glob("*.jsonl")):
            rows, bad = read_collected_jsonl(path)
            skipped += bad
            for row in rows:
                if row["id"] not in self.seen:
                    self.seen[row["id"]] = row["label"]
                    self.counts[row["label"]] += 1
        try:
            self.state = json.loads(self.state_path.read_text(encoding="utf-8")) if self.state_path.exists() else {}
        except json.JSONDecodeError:
            raise UserError(
                f"{self.state_path} is corrupt: delete it to restart pagination (collected tweets are kept)"
            ) from None
        self.summary = {
            "labels": {},
            "new": 0,
            "cross_label_duplicates": 0,
            "skipped_lines": skipped,
            "out_file": str(self.data_path),
        }
        # tweepy logs request headers, bearer token included, at DEBUG
        logging.getLogger("tweepy.client").setLevel(logging.INFO)
        self.client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
        self.client.session = _TimeoutSession()

    def run(self) -> dict:
        if self.data_path.exists() and self.data_path.stat().st_size:
            with self.data_path.open("rb+") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")  # end a torn line so the next page starts on a line of its own
        with self.data_path.open("a", encoding="utf-8") as sink:
            for label, spec in self.cfg["labels"].items():
                self._collect_label(sink, label, spec["query"], spec["max"])
        statuses = {s["status"] for s in self.summary["labels"].values()}
        self.summary["stopped_reason"] = "max_reached" if statuses == {"max_reached"} else "no_more_results"
        return self.summary

    def _collect_label(self, sink, label: str, query: str, limit: int) -> None:
        st = self.state.get(label)
        if not st or st.get("query") != query:
            # new label, or its query changed: an old token and ids belong to the old query
            st = {"query": query, "next_token": None, "since_id": None, "newest_id": None}
        if not st["next_token"]:
            st["since_id"] = st["newest_id"]  # a fresh pass only asks for tweets newer than the last one saw
        st["count"] = self.counts[label]
        self.state[label] = st
        result = self.summary["labels"][label] = {"new": 0, "total": self.counts[label], "status": "max_reached"}
        bar = _progress(label, limit, self.counts[label])
        try:
            while self.counts[label] < limit:
                remaining = limit - self.counts[label]
                page = self._search(label, st, max(10, min(self.cfg["max_results_per_page"], remaining)))
                tweets = page.get("data") or []
                rows = []
                for tweet in tweets:
                    owner = self.seen.get(tweet["id"])
                    if owner is not None:
                        if owner != label:
                            self.summary["cross_label_duplicates"] += 1
                        continue
                    if len(rows) == remaining:
                        break
                    self.seen[tweet["id"]] = label
                    rows.append(
                        {
                            "id": tweet["id"],
                            "text": tweet["text"],
                            "label": label,
                            "query": query,
                            "created_at": tweet.get("created_at"),
                            "lang": tweet.get("lang"),
                        }
                    )
                if rows:
                    sink.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
                    sink.flush()
                    os.fsync(sink.fileno())
                newest = max((int(t["id"]) for t in tweets), default=0)
                if newest > int(st["newest_id"] or 0):
                    st["newest_id"] = str(newest)
                st["next_token"] = page.get("meta", {}).get("next_token")
                self.counts[label] += len(rows)
                st["count"] = result["total"] = self.counts[label]
                result["new"] += len(rows)
                self.summary["new"] += len(rows)
                write_json(self.state_path, self.state)  # after the fsync: state never runs ahead of data
                bar.update(len(rows))
                if not st["next_token"]:
                    if self.counts[label] < limit:
                        result["status"] = "no_more_results"
                    break
        finally:
            bar.close()

    def _search(self, label: str, st: dict, max_results: int) -> dict:
        """One page of results, waiting out rate limits and retrying network errors as configured."""
        failures = 0
        while True:
            try:
                return self.client.search_recent_tweets(
                    st["query"],
                    max_results=max_results,
                    next_token=st["next_token"],
                    since_id=st["since_id"],
                    tweet_fields=self.cfg["tweet_fields"],
                )
            except tweepy.TooManyRequests as exc:
                reset = exc.reset_time or self.clock() + RATE_WINDOW_S
                if self.cfg["on_rate_limit"] == "stop":
                    total = sum(self.counts.values())
                    raise UserError(
                        f"X API rate limit reached while collecting '{label}': saved {self.summary['new']} new "
                        f"tweets this run ({total} in {self.data_path}); run again after {_local_time(reset)} "
                        f"(local time) to continue, or set on_rate_limit: wait in {self.where}"
                    ) from None
                wait = max(reset - self.clock(), 0) + 1
                print(f"rate limit reached: waiting {wait:.0f} s, until {_local_time(reset)}", file=sys.stderr)
                self.sleep(wait)
            except (requests.RequestException, tweepy.TwitterServerError) as exc:
                # tweepy does not wrap requests' own errors (connection refused, timeout, reset)
                if failures == self.cfg["max_retries"]:
                    raise UserError(
                        f"network error while collecting '{label}': {type(exc).__name__}: {_one_line(exc)} "
                        f"(gave up after {failures} retries); check your connection and run again, "
                        "everything collected so far is saved"
                    ) from None
                delay = self.cfg["retry_base_delay"] * 2**failures
                failures += 1
                print(f"{type(exc).__name__}; retry {failures} in {delay:g} s", file=sys.stderr)
                self.sleep(delay)
            except tweepy.Unauthorized:
                raise UserError(
                    f"the X API rejected {TOKEN_ENV} (401 Unauthorized): it is wrong, expired or was regenerated; "
                    "copy your app's Bearer Token from developer.x.com (Keys and tokens) into .env"
                ) from None
            except tweepy.Forbidden as exc:
                said = _one_line(" ".join(exc.api_messages)) or "no details"
                raise UserError(
                    "the X API refused recent search (403 Forbidden): your access level does not include it; "
                    "recent search needs at least the Basic tier of the X API (the Free tier cannot search), "
                    f"upgrade at developer.x.com (X said: {said})"
                ) from None
            except tweepy.HTTPException as exc:
                if st["since_id"] and "since_id" in " ".join(exc.api_messages):
                    # the last pass is older than the 7-day search window: all tweets still searchable are newer
                    st["since_id"] = None
                    continue
                raise UserError(
                    f"the X API refused the search for '{label}': {_one_line(exc)}; "
                    f"check labels.{label}.query in {self.where}"
                ) from None


def collect(
    config: dict | str | Path,
    out_dir: str | Path = "data/collected",
    token: str | None = None,
    sleep=time.sleep,
    clock=time.time,
) -> dict:
    """Collect tweets for every label in `config` into `out_dir`, resuming where the last run stopped.

    `token` defaults to $TWITTER_BEARER_TOKEN. `sleep` and `clock` are injectable so tests never wait.
    Returns a summary: `labels` (per label: `new`, `total`, `status` = max_reached | no_more_results), `new`,
    `cross_label_duplicates`, `skipped_lines` (unreadable JSONL lines), `stopped_reason` and `out_file`.
    Raises UserError for a bad config, a missing or rejected token, a rate limit in `stop` mode or a network failure.
    """
    cfg, where = _load_config(config)
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise UserError(
            f"{TOKEN_ENV} is not set: put it in .env (see .env.example) or export it; "
            "get one at developer.x.com (recent search needs at least the Basic tier)"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _Collector(cfg, where, out, token, sleep, clock).run()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `collect` subcommand's options to `parser`."""
    parser.add_argument("--config", default="configs/collect.yaml", help="queries and limits per label")
    parser.add_argument("--out", default="data/collected", help="folder for tweets.jsonl and state.json")


def main(args: argparse.Namespace) -> None:
    """Run `collect` with the token from the environment and print a short summary."""
    try:
        summary = collect(args.config, args.out)
    except KeyboardInterrupt:
        raise UserError(
            f"interrupted: everything collected so far is saved in {args.out}; run again to resume"
        ) from None
    for label, result in summary["labels"].items():
        status = result["status"].replace("_", " ")
        print(f"{label}: +{result['new']} new, {result['total']} in total ({status})")
    print(
        f"{summary['new']} new tweets in {summary['out_file']}; "
        f"{summary['cross_label_duplicates']} cross-label duplicates skipped"
        + (f"; {summary['skipped_lines']} unreadable lines skipped" if summary["skipped_lines"] else "")
    )
