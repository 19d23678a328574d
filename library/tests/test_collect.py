"""Tests for `collect`: real tweepy and requests against a fake X API v2 recent search (the `responses` library)."""

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import dl_portfolio.collect as collect_module
import pytest
import requests
import responses
import yaml
from dl_portfolio.collect import add_arguments, collect, main
from dl_portfolio.errors import UserError
from tweet_topic_classifier.sources import load_collected as load_splits

from .conftest import COLLECTED

URL = "https://api.twitter.com/2/tweets/search/recent"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeBearerTokenForTests%2B0123456789abcdef"
SPORTS = "(#nba OR #nfl) lang:en -is:retweet"
POP = "(#netflix OR #kpop) lang:en -is:retweet"
FIELDS = "id,text,created_at,lang,author_id,public_metrics"
NOW = 1_800_000_000.0  # the fake clock
TOKEN_PREFIX = "b26v89c19zqg8o3f"
RATE_HEADERS = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449", "x-rate-limit-reset": str(int(NOW) + 900)}


def tweet(n: int, topic: str) -> dict:
    """A tweet as the v2 API returns it with our tweet.fields."""
    tweet_id = str(1_860_000_000_000_000_000 + n)
    return {
        "id": tweet_id,
        "text": f"{topic} tweet {n} \u2764",
        "created_at": f"2026-11-01T12:{n % 60:02d}:00.000Z",
        "lang": "en",
        "author_id": str(44196397 + n),
        "edit_history_tweet_ids": [tweet_id],
    }


# newest first, as the API returns them
SPORTS_TWEETS = [tweet(n, "#nba") for n in range(125, 100, -1)]  # 25
POP_TWEETS = [tweet(n, "#kpop") for n in range(212, 200, -1)]  # 12


def next_token(offset: int) -> str:
    return f"{TOKEN_PREFIX}{offset:06d}"


class FakeX:
    """X API v2 recent search over fixed results per query, paginated with opaque next_tokens.

    `script` maps a request number (1-based, counted over the whole test) to what that request gets instead:
    an exception to raise or a `(status, headers, json_body)` tuple.
    """

    def __init__(self, rsps: responses.RequestsMock, corpus: dict[str, list[dict]]):
        self.corpus, self.script, self.calls = corpus, {}, []
        rsps.add_callback(responses.GET, URL, callback=self.handle)

    def handle(self, request):
        self.calls.append(request)
        scripted = self.script.get(len(self.calls))
        if isinstance(scripted, BaseException):
            raise scripted
        if scripted:
            status, headers, body = scripted
            return status, {**RATE_HEADERS, **headers}, json.dumps(body)
        params = dict(parse_qsl(urlsplit(request.url).query))
        since = int(params.get("since_id", 0))
        tweets = [t for t in self.corpus.get(params["query"], []) if int(t["id"]) > since]
        start = int(params["next_token"].removeprefix(TOKEN_PREFIX)) if "next_token" in params else 0
        end = start + int(params["max_results"])
        page = tweets[start:end]
        meta = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if end < len(tweets):
            meta["next_token"] = next_token(end)
        body = {"data": page, "meta": meta} if page else {"meta": meta}
        return 200, RATE_HEADERS, json.dumps(body)

    def params(self, start: int = 0) -> list[tuple]:
        """(query, max_results, next_token, since_id) of each request from number `start` + 1 on."""
        out = []
        for request in self.calls[start:]:
            p = dict(parse_qsl(urlsplit(request.url).query))
            out.append((p["query"], p["max_results"], p.get("next_token"), p.get("since_id")))
        return out


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeX(rsps, {SPORTS: list(SPORTS_TWEETS), POP: list(POP_TWEETS)})


@pytest.fixture
def sleeps():
    return []


def config(sports_max: int = 25, pop_max: int = 12, **overrides) -> dict:
    return {
        "labels": {
            "sports_&_gaming": {"query": SPORTS, "max": sports_max},
            "pop_culture": {"query": POP, "max": pop_max},
        },
        "max_results_per_page": 10,
        "max_retries": 2,
        "retry_base_delay": 0.5,
        **overrides,
    }


def run(out: Path, sleeps: list, cfg: dict | None = None) -> dict:
    return collect(cfg or config(), out, token=TOKEN, sleep=sleeps.append, clock=lambda: NOW)


def stored(tweets: list[dict], label: str, query: str) -> list[dict]:
    keys = ("id", "text", "created_at", "lang")
    return [{**{k: t[k] for k in keys}, "label": label, "query": query} for t in tweets]


FULL = stored(SPORTS_TWEETS, "sports_&_gaming", SPORTS) + stored(POP_TWEETS, "pop_culture", POP)


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "tweets.jsonl").read_text(encoding="utf-8").splitlines()]


def state(out: Path) -> dict:
    return json.loads((out / "state.json").read_text(encoding="utf-8"))


def test_paginates_into_exact_jsonl_and_state(fake, tmp_path, sleeps):
    summary = run(tmp_path, sleeps)

    assert summary == {
        "labels": {
            "sports_&_gaming": {"new": 25, "total": 25, "status": "max_reached"},
            "pop_culture": {"new": 12, "total": 12, "status": "max_reached"},
        },
        "new": 37,
        "cross_label_duplicates": 0,
        "skipped_lines": 0,
        "stopped_reason": "max_reached",
        "out_file": str(tmp_path / "tweets.jsonl"),
    }
    assert rows(tmp_path) == FULL
    assert fake.params() == [
        (SPORTS, "10", None, None),
        (SPORTS, "10", next_token(10), None),
        (SPORTS, "10", next_token(20), None),
        (POP, "10", None, None),
        (POP, "10", next_token(10), None),
    ]
    assert dict(parse_qsl(urlsplit(fake.calls[0].url).query))["tweet.fields"] == FIELDS
    assert fake.calls[0].req_kwargs["timeout"] == collect_module.REQUEST_TIMEOUT_S  # tweepy alone would set none
    assert state(tmp_path) == {
        "sports_&_gaming": {
            "query": SPORTS,
            "next_token": None,
            "since_id": None,
            "newest_id": SPORTS_TWEETS[0]["id"],
            "count": 25,
        },
        "pop_culture": {
            "query": POP,
            "next_token": None,
            "since_id": None,
            "newest_id": POP_TWEETS[0]["id"],
            "count": 12,
        },
    }
    assert sleeps == []


def test_max_per_label_is_respected_and_raising_it_resumes(fake, tmp_path, sleeps):
    summary = run(tmp_path, sleeps, config(sports_max=15, pop_max=3))

    assert rows(tmp_path) == stored(SPORTS_TWEETS[:15], "sports_&_gaming", SPORTS) + stored(
        POP_TWEETS[:3], "pop_culture", POP
    )
    assert summary["labels"] == {
        "sports_&_gaming": {"new": 15, "total": 15, "status": "max_reached"},
        "pop_culture": {"new": 3, "total": 3, "status": "max_reached"},
    }
    # the API's minimum page is 10, so the last page is asked for 10 and cut to the max
    assert fake.params() == [(SPORTS, "10", None, None), (SPORTS, "10", next_token(10), None), (POP, "10", None, None)]
    assert state(tmp_path)["sports_&_gaming"]["next_token"] == next_token(20)

    again = run(tmp_path, sleeps, config(sports_max=15, pop_max=3))
    assert len(fake.calls) == 3  # both labels full: nothing asked
    assert again["new"] == 0 and again["stopped_reason"] == "max_reached"

    more = run(tmp_path, sleeps, config(sports_max=20, pop_max=3))
    assert fake.params(start=3) == [(SPORTS, "10", next_token(20), None)]
    assert more["labels"]["sports_&_gaming"] == {"new": 5, "total": 20, "status": "max_reached"}
    assert [r["id"] for r in rows(tmp_path)][18:] == [t["id"] for t in SPORTS_TWEETS[20:25]]


def test_tweet_matching_two_labels_is_kept_once_with_the_first(fake, tmp_path, sleeps):
    shared = SPORTS_TWEETS[3]
    fake.corpus[POP] = POP_TWEETS + [shared]  # oldest, so last

    summary = run(tmp_path, sleeps, config(pop_max=13))

    assert rows(tmp_path) == FULL
    assert [r["label"] for r in rows(tmp_path) if r["id"] == shared["id"]] == ["sports_&_gaming"]
    assert summary["cross_label_duplicates"] == 1
    assert summary["labels"]["pop_culture"] == {"new": 12, "total": 12, "status": "no_more_results"}
    assert summary["stopped_reason"] == "no_more_results"


RATE_LIMITED = (
    429,
    {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 60)},
    {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
)


def test_rate_limit_wait_sleeps_until_reset_and_continues(fake, tmp_path, sleeps):
    fake.script[2] = RATE_LIMITED

    summary = run(tmp_path, sleeps)

    assert sleeps == [61.0]  # reset - now + 1
    assert rows(tmp_path) == FULL
    assert summary["new"] == 37
    assert fake.params()[1] == fake.params()[2] == (SPORTS, "10", next_token(10), None)


def test_rate_limit_stop_says_when_to_retry_and_keeps_what_was_saved(fake, tmp_path, sleeps):
    fake.script[2] = RATE_LIMITED

    with pytest.raises(UserError) as err:
        run(tmp_path, sleeps, config(on_rate_limit="stop"))

    retry_at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(NOW + 60))
    assert str(err.value) == (
        "X API rate limit reached while collecting 'sports_&_gaming': saved 10 new tweets this run "
        f"(10 in {tmp_path / 'tweets.jsonl'}); run again after {retry_at} (local time) to continue, "
        "or set on_rate_limit: wait in collect config"
    )
    assert sleeps == []
    assert rows(tmp_path) == FULL[:10]
    assert state(tmp_path)["sports_&_gaming"]["next_token"] == next_token(10)

    run(tmp_path, sleeps, config(on_rate_limit="stop"))
    assert fake.params()[2] == (SPORTS, "10", next_token(10), None)
    assert rows(tmp_path) == FULL


def test_unauthorized_token(fake, tmp_path, sleeps):
    fake.script[1] = (
        401,
        {},
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
    )

    with pytest.raises(UserError) as err:
        run(tmp_path, sleeps)

    assert str(err.value) == (
        "the X API rejected TWITTER_BEARER_TOKEN (401 Unauthorized): it is wrong, expired or was regenerated; "
        "copy your app's Bearer Token from developer.x.com (Keys and tokens) into .env"
    )
    assert rows(tmp_path) == []
    assert len(fake.calls) == 1


def test_forbidden_access_level(fake, tmp_path, sleeps):
    detail = (
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Project."
    )
    fake.script[1] = (
        403,
        {},
        {
            "client_id": "12345678",
            "detail": detail,
            "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
            "title": "Client Forbidden",
            "required_enrollment": "Appropriate Level of API Access",
            "reason": "client-not-enrolled",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
        },
    )

    with pytest.raises(UserError) as err:
        run(tmp_path, sleeps)

    assert str(err.value) == (
        "the X API refused recent search (403 Forbidden): your access level does not include it; recent search "
        "needs at least the Basic tier of the X API (the Free tier cannot search), upgrade at developer.x.com "
        f"(X said: {detail})"
    )


def test_bad_query_names_the_label(fake, tmp_path, sleeps):
    fake.script[1] = (
        400,
        {},
        {
            "errors": [{"parameters": {"query": [SPORTS]}, "message": "There were errors processing your request"}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )

    with pytest.raises(UserError) as err:
        run(tmp_path, sleeps)

    assert str(err.value) == (
        "the X API refused the search for 'sports_&_gaming': 400 Bad Request There were errors processing your "
        "request; check labels.sports_&_gaming.query in collect config"
    )


@pytest.mark.parametrize(
    ("error", "name"),
    [
        (requests.ConnectionError("Connection refused"), "ConnectionError"),
        (requests.ReadTimeout("timed out"), "ReadTimeout"),
    ],
)
def test_network_error_is_retried_then_reported(fake, tmp_path, sleeps, error, name):
    fake.script.update({1: error, 2: error, 3: error})

    with pytest.raises(UserError) as err:
        run(tmp_path, sleeps)

    assert str(err.value) == (
        f"network error while collecting 'sports_&_gaming': {name}: {error} (gave up after 2 retries); "
        "check your connection and run again, everything collected so far is saved"
    )
    assert sleeps == [0.5, 1.0]
    assert len(fake.calls) == 3


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("Connection reset by peer"),
        requests.ReadTimeout("timed out"),
        (503, {}, {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank"}),
    ],
)
def test_transient_failure_then_success_loses_nothing(fake, tmp_path, sleeps, failure):
    fake.script[2] = failure

    summary = run(tmp_path, sleeps)

    assert sleeps == [0.5]
    assert rows(tmp_path) == FULL
    assert summary["new"] == 37


def test_kill_mid_run_then_resume_has_no_loss_and_no_duplicates(fake, tmp_path, sleeps):
    run(tmp_path / "reference", sleeps)
    reference = rows(tmp_path / "reference")
    done = len(fake.calls)
    fake.script[done + 3] = KeyboardInterrupt()  # killed while asking for page 3

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "killed", sleeps)
    assert rows(tmp_path / "killed") == FULL[:20]
    assert state(tmp_path / "killed")["sports_&_gaming"]["next_token"] == next_token(20)

    summary = run(tmp_path / "killed", sleeps)

    assert fake.params(start=done + 3)[0] == (SPORTS, "10", next_token(20), None)  # resumed from the state's token
    assert rows(tmp_path / "killed") == reference == FULL
    assert summary["new"] == 17


def test_kill_after_a_page_but_before_its_state_refetches_without_duplicates(fake, tmp_path, sleeps, monkeypatch):
    real_write = collect_module.write_json
    writes = []

    def dies_on_second_state(path, obj):
        writes.append(path)
        if len(writes) == 2:
            raise KeyboardInterrupt
        real_write(path, obj)

    monkeypatch.setattr(collect_module, "write_json", dies_on_second_state)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, sleeps)
    assert rows(tmp_path) == FULL[:20]  # page 2 is on disk, its state is not
    assert state(tmp_path)["sports_&_gaming"]["next_token"] == next_token(10)
    monkeypatch.undo()

    summary = run(tmp_path, sleeps)

    assert fake.params(start=2)[0] == (SPORTS, "10", next_token(10), None)
    assert rows(tmp_path) == FULL
    assert summary["labels"]["sports_&_gaming"] == {"new": 5, "total": 25, "status": "max_reached"}
    assert summary["cross_label_duplicates"] == 0


def test_torn_last_line_is_skipped_and_counted(fake, tmp_path, sleeps):
    data = tmp_path / "tweets.jsonl"
    torn = '{"id": "1860000000000000124", "text": "#nba tw'
    data.write_text(json.dumps(FULL[0]) + "\n" + torn, encoding="utf-8")

    summary = run(tmp_path, sleeps)

    assert summary["skipped_lines"] == 1
    assert summary["labels"]["sports_&_gaming"] == {"new": 24, "total": 25, "status": "max_reached"}
    lines = data.read_text(encoding="utf-8").splitlines()
    assert lines[1] == torn
    assert [json.loads(line) for line in lines[:1] + lines[2:]] == FULL
    assert len(load_collected(tmp_path)) == 37


def test_token_is_never_written_or_logged(fake, tmp_path, sleeps, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    fake.script.update({2: RATE_LIMITED, 4: requests.ConnectionError("Connection reset by peer")})

    run(tmp_path, sleeps)
    fake.script[len(fake.calls) + 1] = (401, {}, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
    with pytest.raises(UserError) as err:
        run(tmp_path / "second", sleeps)

    assert fake.calls[0].headers["Authorization"] == f"Bearer {TOKEN}"  # the fake did see it
    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err, str(err.value)]
    texts += [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file()]
    assert len(texts) == 7  # tweets.jsonl and state.json in each folder (the second has an empty tweets.jsonl)
    assert not [text for text in texts if "FakeBearerToken" in text]


def test_token_comes_from_the_environment_only(fake, tmp_path, sleeps, monkeypatch):
    monkeypatch.delenv("TWITTER_BEARER_TOKEN", raising=False)
    with pytest.raises(UserError) as err:
        collect(config(), tmp_path, sleep=sleeps.append)
    assert str(err.value) == (
        "TWITTER_BEARER_TOKEN is not set: put it in .env (see .env.example) or export it; "
        "get one at developer.x.com (recent search needs at least the Basic tier)"
    )
    assert fake.calls == []

    monkeypatch.setenv("TWITTER_BEARER_TOKEN", TOKEN)
    assert collect(config(), tmp_path, sleep=sleeps.append)["new"] == 37
    assert fake.calls[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_next_pass_asks_only_for_newer_tweets(fake, tmp_path, sleeps):
    first = run(tmp_path, sleeps, config(sports_max=100))
    assert first["labels"]["sports_&_gaming"] == {"new": 25, "total": 25, "status": "no_more_results"}
    newer = [tweet(n, "#nfl") for n in range(128, 125, -1)]
    fake.corpus[SPORTS] = newer + SPORTS_TWEETS
    done = len(fake.calls)

    second = run(tmp_path, sleeps, config(sports_max=100))

    assert fake.params(start=done) == [(SPORTS, "10", None, SPORTS_TWEETS[0]["id"])]
    assert second["labels"]["sports_&_gaming"] == {"new": 3, "total": 28, "status": "no_more_results"}
    assert rows(tmp_path)[37:] == stored(newer, "sports_&_gaming", SPORTS)
    assert state(tmp_path)["sports_&_gaming"]["newest_id"] == newer[0]["id"]


def test_since_id_older_than_the_search_window_is_dropped(fake, tmp_path, sleeps):
    run(tmp_path, sleeps, config(sports_max=100))
    done = len(fake.calls)
    message = f"Invalid 'since_id':'{SPORTS_TWEETS[0]['id']}'. 'since_id' must be a tweet id created after 2026-11-02."
    fake.script[done + 1] = (
        400,
        {},
        {
            "errors": [{"parameters": {"since_id": [SPORTS_TWEETS[0]["id"]]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )

    summary = run(tmp_path, sleeps, config(sports_max=100))

    assert fake.params(start=done)[:2] == [(SPORTS, "10", None, SPORTS_TWEETS[0]["id"]), (SPORTS, "10", None, None)]
    assert summary["labels"]["sports_&_gaming"] == {"new": 0, "total": 25, "status": "no_more_results"}
    assert rows(tmp_path) == FULL


def load_collected(folder) -> list[dict]:
    """The collected rows as the data source reads them (all splits, in file order)."""
    splits = load_splits(str(folder), (0.0, 0.0), 0)
    return [{"text": t, "label": y} for t, y in splits["train"]]


def test_load_collected_returns_text_and_label(fake, tmp_path, sleeps):
    run(tmp_path, sleeps)

    expected = [{"text": r["text"], "label": r["label"]} for r in FULL]
    assert sorted(load_collected(tmp_path), key=str) == sorted(expected, key=str)


@pytest.mark.parametrize("make_folder", [False, True])
def test_load_collected_without_tweets_says_to_collect(tmp_path, make_folder, monkeypatch):
    monkeypatch.chdir(COLLECTED)  # a project with `collect` (its configs/collect.yaml)
    folder = tmp_path / "collected"
    if make_folder:
        folder.mkdir()

    with pytest.raises(UserError) as err:
        load_collected(folder)

    assert str(err.value) == (
        f"no collected tweets in {folder}: run `make collect` first (it needs TWITTER_BEARER_TOKEN in .env)"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("labels"), "'labels' must map each label to its 'query' and 'max'"),
        (
            lambda c: c["labels"]["pop_culture"].pop("query"),
            "'labels.pop_culture.query' must be a non-empty search query",
        ),
        (
            lambda c: c["labels"]["pop_culture"].update(max=0),
            "'labels.pop_culture.max' must be an integer at least 1, got 0",
        ),
        (
            lambda c: c["labels"]["pop_culture"].update(max="500"),
            "'labels.pop_culture.max' must be an integer at least 1, got '500'",
        ),
        (
            lambda c: c["labels"]["pop_culture"].update(querry="x"),
            "unknown key(s) 'querry' in 'labels.pop_culture'; allowed: query, max",
        ),
        (
            lambda c: c.update(max_result=5),
            "unknown key(s) 'max_result'; allowed: labels, max_results_per_page, tweet_fields, on_rate_limit, "
            "max_retries, retry_base_delay",
        ),
        (
            lambda c: c.update(max_results_per_page=5),
            "'max_results_per_page' must be an integer between 10 and 100, got 5",
        ),
        (lambda c: c.update(on_rate_limit="retry"), "'on_rate_limit' must be 'wait' or 'stop', got 'retry'"),
        (lambda c: c.update(max_retries=-1), "'max_retries' must be an integer at least 0, got -1"),
        (lambda c: c.update(tweet_fields="id,text"), "'tweet_fields' must be a non-empty list of field names"),
    ],
)
def test_bad_config_names_the_key_and_the_file(fake, tmp_path, sleeps, change, message):
    cfg = config()
    change(cfg)
    path = tmp_path / "collect.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")

    with pytest.raises(UserError) as err:
        collect(path, tmp_path / "out", token=TOKEN, sleep=sleeps.append)

    assert str(err.value) == f"{path}: {message}"
    assert fake.calls == []


def test_missing_or_broken_config_file(tmp_path):
    with pytest.raises(UserError, match="collect config .*nope.yaml not found"):
        collect(tmp_path / "nope.yaml", tmp_path, token=TOKEN)
    broken = tmp_path / "broken.yaml"
    broken.write_text("labels: [unclosed\n", encoding="utf-8")
    with pytest.raises(UserError, match="broken.yaml is not valid YAML: ") as err:
        collect(broken, tmp_path, token=TOKEN)
    assert "\n" not in str(err.value)


def test_shipped_config_asks_one_query_per_topic(fake, tmp_path, sleeps):
    shipped = COLLECTED / "configs" / "collect.yaml"

    summary = collect(shipped, tmp_path, token=TOKEN, sleep=sleeps.append)

    assert list(summary["labels"]) == [
        "arts_&_culture",
        "business_&_entrepreneurs",
        "pop_culture",
        "daily_life",
        "sports_&_gaming",
        "science_&_technology",
    ]
    requests_sent = [dict(parse_qsl(urlsplit(r.url).query)) for r in fake.calls]
    assert [p["max_results"] for p in requests_sent] == ["100"] * 6
    assert {p["tweet.fields"] for p in requests_sent} == {FIELDS}
    assert all(p["query"].endswith(" lang:en -is:retweet") for p in requests_sent)
    assert summary["stopped_reason"] == "no_more_results"


def test_cli_arguments_and_summary(fake, tmp_path, monkeypatch, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    defaults = parser.parse_args([])
    assert (defaults.config, defaults.out) == ("configs/collect.yaml", "data/collected")
    path = tmp_path / "collect.yaml"
    path.write_text(yaml.safe_dump(config(), sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("TWITTER_BEARER_TOKEN", TOKEN)
    args = parser.parse_args(["--config", str(path), "--out", str(tmp_path / "out")])

    main(args)

    assert capsys.readouterr().out.splitlines() == [
        "sports_&_gaming: +25 new, 25 in total (max reached)",
        "pop_culture: +12 new, 12 in total (max reached)",
        f"37 new tweets in {tmp_path / 'out' / 'tweets.jsonl'}; 0 cross-label duplicates skipped",
    ]

    fake.script[len(fake.calls) + 1] = KeyboardInterrupt()
    with pytest.raises(UserError, match="interrupted: everything collected so far is saved in"):
        main(parser.parse_args(["--config", str(path), "--out", str(tmp_path / "other")]))


def test_progress_without_tqdm_prints_lines(fake, tmp_path, sleeps, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `from tqdm import tqdm` fail

    run(tmp_path, sleeps)

    assert capsys.readouterr().err.splitlines() == [
        "sports_&_gaming: 10/25",
        "sports_&_gaming: 20/25",
        "sports_&_gaming: 25/25",
        "pop_culture: 10/12",
        "pop_culture: 12/12",
    ]


def test_collected_tweets_train_as_a_stratified_seeded_source(fake, tmp_path, sleeps):
    from tweet_topic_classifier.data import TextDataModule

    run(tmp_path, sleeps, config(sports_max=20, pop_max=10))
    labels = ["sports_&_gaming", "pop_culture"]
    modules = [TextDataModule(labels=labels, source="collected", path=str(tmp_path)) for _ in range(2)]
    for dm in modules:
        dm.setup()
    assert modules[0].splits == modules[1].splits  # split_seed fixes the split
    sizes = {split: sorted(y for _, y in examples) for split, examples in modules[0].splits.items()}
    assert sizes == {"train": [0] * 16 + [1] * 8, "validation": [0, 0, 1], "test": [0, 0, 1]}


def test_cli_without_token_is_one_line(tmp_path):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TWITTER_BEARER_TOKEN"}
    cfg = COLLECTED / "configs" / "collect.yaml"
    cmd = [sys.executable, "-m", "tweet_topic_classifier", "collect", "--config", str(cfg), "--out", "out"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("error: TWITTER_BEARER_TOKEN is not set") and out.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing half written
