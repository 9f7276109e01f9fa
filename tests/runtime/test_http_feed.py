"""HttpFeed against a real HTTP server on 127.0.0.1 (tests/http_server.py): pages, cursors, links,
retries, failures, resuming from positions, the cursor_field rules of SPEC §3, and secrets kept out."""

from __future__ import annotations

import json
import time

import polars as pl
import pytest
from http_server import Reply, ScriptedServer, cursor_paged, linked, paged, since
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Config, Source
from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.http import HttpFeed
from flowc.runtime.sources.http_client import HttpFailed

RECORDS = [{"id": i, "name": f"n{i}", "ts": f"2026-01-01T00:00:{i:02d}Z"} for i in range(25)]
SECRET = "s3cr3t-token-value"


def source(url: str, schema: Struct | None = None, written: dict | None = None, **config) -> Source:
    return Source("api", "http", Config({"url": url, **config}), schema, None, written=written or {})


def drain(feed: HttpFeed, max_records: int = 1000, deadline: float = 10.0) -> pl.DataFrame:
    """Every record the feed delivers until it is exhausted (bounded feeds only)."""
    frames, end = [], time.monotonic() + deadline
    while not feed.exhausted():
        assert time.monotonic() < end, "the feed did not finish"
        frame = feed.poll(max_records, 0.5)
        if frame is not None:
            frames.append(frame)
    return pl.concat(frames) if frames else pl.DataFrame()


def opened(src: Source, position=None, **kwargs) -> HttpFeed:
    feed = HttpFeed(src, "/tmp", **kwargs)
    feed.open(position)
    return feed


def test_one_request_records_path_text_values_and_row_numbers():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body={"data": {"items": RECORDS[:3]}}))
        feed = opened(source(server.url("/x"), records="data.items"))
        frame = drain(feed)
        feed.close()
    assert frame.columns == ["id", "name", "ts", ROW, RAW_ERROR]
    assert frame["id"].to_list() == ["0", "1", "2"]  # scalars as text, for the Scan lowering to convert
    assert frame[ROW].to_list() == [0, 1, 2]
    assert frame[RAW_ERROR].null_count() == 3
    assert feed.schema == Struct((("id", t.INT), ("name", t.STRING), ("ts", t.STRING)))
    assert feed.exhausted() and feed.position()["done"] is True
    assert len(server.requests) == 1 and server.requests[0].headers["Accept"] == "application/json"


def test_declared_schema_keeps_nested_values_and_fills_missing_fields():
    schema = Struct((("id", t.INT), ("tags", ListOf(t.STRING)), ("missing", t.STRING)))
    body = [{"id": 1, "tags": ["a", "b"], "extra": 1}, {"id": 2, "tags": None}]
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body=body))
        feed = opened(source(server.url("/x"), schema))
        frame = drain(feed)
        feed.close()
    assert frame.columns == ["id", "tags", "missing", ROW, RAW_ERROR]
    assert frame["tags"].to_list() == [["a", "b"], None]
    assert frame["missing"].to_list() == [None, None]


def test_page_pagination_small_polls_numbers_rows_consecutively():
    with ScriptedServer() as server:
        server.route("/p", paged(RECORDS, size=10))
        pagination = {"type": "page", "param": "page", "start": 1, "size_param": "size", "size": 10}
        feed = opened(source(server.url("/p"), records="data.items", pagination=pagination))
        frame = drain(feed, max_records=7)
        feed.close()
    assert frame["id"].to_list() == [str(i) for i in range(25)]
    assert frame[ROW].to_list() == list(range(25))
    assert [r.query for r in server.requests] == [{"page": str(p), "size": "10"} for p in (1, 2, 3, 4)]


def test_cursor_pagination_follows_next_until_null():
    with ScriptedServer() as server:
        server.route("/c", cursor_paged(RECORDS, size=10))
        feed = opened(source(server.url("/c"), records="items",
                             pagination={"type": "cursor", "param": "after", "next": "meta.next"}))
        frame = drain(feed)
        feed.close()
    assert frame["id"].to_list() == [str(i) for i in range(25)]
    assert [r.query.get("after") for r in server.requests] == [None, "10", "20"]


def test_link_pagination_follows_rel_next():
    with ScriptedServer() as server:
        server.route("/l", linked(server, "/l", RECORDS, size=10))
        feed = opened(source(server.url("/l"), pagination={"type": "link"}))
        frame = drain(feed)
        feed.close()
    assert frame["id"].to_list() == [str(i) for i in range(25)]
    assert [r.query.get("offset") for r in server.requests] == [None, "10", "20"]


def test_link_to_another_origin_is_refused():
    with ScriptedServer() as server:
        server.route("/l", lambda r: Reply(body=RECORDS[:2], headers={"Link": '<http://evil.invalid/x>; rel="next"'}))
        feed = opened(source(server.url("/l"), pagination={"type": "link"}, headers={"Authorization": SECRET}))
        with pytest.raises(HttpFailed, match="another origin"):
            drain(feed)
        feed.close()


def test_429_waits_retry_after_then_succeeds():
    with ScriptedServer() as server:
        server.script("/x", Reply(429, {"error": "slow down"}, headers={"Retry-After": "1"}))
        server.route("/x", lambda r: Reply(body=RECORDS[:2]))
        feed = opened(source(server.url("/x"), retry={"max_attempts": 3, "backoff": "10ms"}))
        began = time.monotonic()
        frame = drain(feed)
        feed.close()
    assert frame.height == 2
    assert time.monotonic() - began >= 0.9  # the server's 1 s, not the 10 ms backoff
    assert len(server.requests) == 2


def test_5xx_retried_with_backoff_then_fails_with_status_and_excerpt():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(503, "upstream down"))
        feed = opened(source(server.url("/x"), retry={"max_attempts": 3, "backoff": "20ms", "max_backoff": "30ms"}))
        began = time.monotonic()
        with pytest.raises(HttpFailed) as failure:
            drain(feed)
        feed.close()
    assert len(server.requests) == 3
    assert time.monotonic() - began >= 0.05  # 20 ms + 30 ms (doubled, capped)
    assert "failed after 3 attempts" in str(failure.value) and "503" in str(failure.value)
    assert "upstream down" in str(failure.value)


def test_500_then_success_is_transparent():
    with ScriptedServer() as server:
        server.script("/x", Reply(500, "oops"), Reply(502, "bad gateway"))
        server.route("/x", lambda r: Reply(body=RECORDS[:4]))
        feed = opened(source(server.url("/x"), retry={"max_attempts": 5, "backoff": "1ms"}))
        assert drain(feed).height == 4
        feed.close()


def test_4xx_fails_at_once_naming_status_body_and_url_as_written_never_the_secret():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(403, {"error": f"token {r.headers.get('Authorization')} is not allowed"}))
        url = server.url("/x") + f"?key={SECRET}"
        feed = opened(source(url, headers={"Authorization": f"Bearer {SECRET}"},
                             written={"url": "http://api/x?key=${API_KEY}"}))
        with pytest.raises(HttpFailed) as failure:
            drain(feed)
        status = json.dumps(feed.status())
        feed.close()
    message = str(failure.value)
    assert len(server.requests) == 1  # not retried
    assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"  # sent, yet never shown
    assert "403 Forbidden" in message and "is not allowed" in message and "${API_KEY}" in message
    assert SECRET not in message and SECRET not in status


def test_connection_refused_is_retried_then_fails():
    with ScriptedServer() as server:
        url = server.url("/x")
    feed = opened(source(url, retry={"max_attempts": 2, "backoff": "1ms"}))
    with pytest.raises(HttpFailed, match="failed after 2 attempts"):
        drain(feed)
    feed.close()


def test_slow_endpoint_poll_keeps_its_timeout_and_close_is_prompt():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body=RECORDS[:2], delay=0.6))
        feed = opened(source(server.url("/x")))
        began = time.monotonic()
        assert feed.poll(10, 0.1) is None
        assert time.monotonic() - began < 0.4
        assert drain(feed).height == 2
        feed.close()


def test_timeout_of_a_request_counts_as_a_failed_attempt():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body=[], delay=0.5))
        feed = opened(source(server.url("/x"), retry={"max_attempts": 2, "backoff": "1ms"}), timeout=0.1)
        with pytest.raises(HttpFailed, match="timed out"):
            drain(feed)
        feed.close()


def test_malformed_json_is_one_record_error_and_ends_the_pass():
    with ScriptedServer() as server:
        server.route("/p", lambda r: Reply(body=b'{"items": [1, 2' if r.query["page"] == "2"
                                           else json.dumps({"items": RECORDS[:3]}).encode()))
        feed = opened(source(server.url("/p"), records="items", pagination={"type": "page", "param": "page"}))
        frames, where = [], []
        while not feed.exhausted():
            batch = feed.poll(100, 0.5)
            if batch is not None:  # positions() covers the most recent batch
                frames.append(batch)
                where += batch.select(feed.positions(pl.col(ROW))).to_series().to_list()
        frame = pl.concat(frames)
        feed.close()
    assert frame.height == 4 and len(server.requests) == 2
    error = frame[RAW_ERROR].to_list()[3]
    assert error.startswith("malformed JSON body (") and '{"items": [1, 2' in error
    assert frame.row(3, named=True)["id"] is None
    assert where == ["page 1[0]", "page 1[1]", "page 1[2]", "page 2"]


def test_non_array_and_non_object_records_are_record_errors():
    with ScriptedServer() as server:
        server.script("/x", Reply(body={"items": {"not": "a list"}}))
        server.route("/y", lambda r: Reply(body={"items": [{"id": 1}, 7, "x"]}))
        first = drain(opened(source(server.url("/x"), records="items")))
        second = drain(opened(source(server.url("/y"), records="items")))
    assert first[RAW_ERROR].to_list()[0].startswith("expected an array of records at 'items', found an object")
    assert second[RAW_ERROR].to_list() == [None, "record is not a JSON object but a number: 7",
                                          'record is not a JSON object but a string: "x"']


def test_missing_records_path_is_an_empty_page():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body={"data": {}}))
        feed = opened(source(server.url("/x"), records="data.items"))
        assert drain(feed).height == 0 and feed.exhausted()
        feed.close()


@pytest.mark.parametrize("pagination,handler", [
    ({"type": "page", "param": "page", "size_param": "size", "size": 10}, lambda s: paged(RECORDS, size=10)),
    ({"type": "cursor", "param": "after", "next": "meta.next"}, lambda s: cursor_paged(RECORDS, size=10)),
    ({"type": "link"}, lambda s: linked(s, "/r", RECORDS, size=10)),
])
@pytest.mark.parametrize("cut", [3, 10, 13, 24])
def test_a_new_feed_resumes_exactly_where_the_position_says(pagination, handler, cut):
    records = "data.items" if pagination["type"] == "page" else ("items" if pagination["type"] == "cursor" else None)
    config = {"pagination": pagination, **({"records": records} if records else {})}
    with ScriptedServer() as server:
        server.route("/r", handler(server))
        first = opened(source(server.url("/r"), **config))
        got = []
        while len(got) < cut:
            frame = first.poll(cut - len(got), 1.0)
            got += frame["id"].to_list() if frame is not None else []
        position = json.loads(json.dumps(first.position()))  # what the event log keeps
        first.close()
        second = opened(source(server.url("/r"), **config), position)
        rest = drain(second, max_records=4)
        second.close()
    assert got + rest["id"].to_list() == [str(i) for i in range(25)]
    assert rest[ROW].to_list() == list(range(cut, 25))


def test_a_finished_bounded_feed_resumes_exhausted_without_requests():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body=RECORDS[:2]))
        feed = opened(source(server.url("/x")))
        drain(feed)
        position = feed.position()
        feed.close()
        again = opened(source(server.url("/x")), position)
        assert again.exhausted() and again.poll(10, 0.1) is None
        again.close()
        assert len(server.requests) == 1


def _poll_until(feed: HttpFeed, count: int, deadline: float = 5.0) -> list[str]:
    got, end = [], time.monotonic() + deadline
    while len(got) < count and time.monotonic() < end:
        frame = feed.poll(100, 0.2)
        got += frame["id"].to_list() if frame is not None else []
    return got


def test_cursor_field_sends_the_committed_cursor_and_drops_what_was_read():
    rows = [{"id": i, "ts": ts} for i, ts in enumerate([1, 2, 3, 3])]
    with ScriptedServer() as server:
        server.route("/s", since(rows))
        config = {"interval": "50ms", "cursor_field": "ts", "cursor_param": "since", "id_field": "id"}
        feed = opened(source(server.url("/s"), **config))
        assert _poll_until(feed, 4) == ["0", "1", "2", "3"]
        assert feed.position()["cursor"] == 3 and sorted(feed.position()["ids"]) == [2, 3]
        time.sleep(0.2)
        assert feed.poll(100, 0.1) is None  # later polls re-read ts >= (nothing committed) but drop all
        assert all("since" not in r.query for r in server.requests)  # nothing committed yet: no cursor sent
        feed.committed(feed.position())
        rows += [{"id": 4, "ts": 3}, {"id": 5, "ts": 4}]
        assert _poll_until(feed, 2) == ["4", "5"]  # same ts as the cursor, unseen id: kept
        position = feed.position()
        feed.committed(position)
        time.sleep(0.2)
        assert server.requests[-1].query["since"] == "4"
        feed.close()
        rows += [{"id": 6, "ts": 4}, {"id": 7, "ts": 2}]  # 7 is below the cursor: dropped
        resumed = opened(source(server.url("/s"), **config), json.loads(json.dumps(position)))
        assert _poll_until(resumed, 1) == ["6"]
        assert resumed.poll(100, 0.3) is None
        resumed.close()


def test_cursor_without_id_field_keeps_records_equal_to_the_cursor():
    rows = [{"id": 0, "ts": "a"}, {"id": 1, "ts": "b"}]
    with ScriptedServer() as server:
        server.route("/s", since(rows))
        feed = opened(source(server.url("/s"), interval="30ms", cursor_field="ts", cursor_param="since"))
        first = _poll_until(feed, 2)
        feed.committed(feed.position())
        again = _poll_until(feed, 1)
        feed.close()
    assert first == ["0", "1"] and again == ["1"]  # SPEC §3: equal records are dropped only by their id


@pytest.mark.parametrize(("kind", "values", "late", "largest"), [
    (t.INT, ["9", "10"], "9", "10"),  # as text "9" > "10": the cursor stayed at 9 and 9 came again
    (t.DATETIME, ["2026-01-01T00:00:02Z", "2026-01-01T00:00:05Z"], "2026-01-01T01:00:00+01:00",
     "2026-01-01T00:00:05Z"),  # 00:00:00Z, below the bound, though above it as text
])
def test_a_typed_cursor_field_compares_by_its_declared_type(kind, values, late, largest):
    """SPEC §3: the *largest* cursor value; a field declared int or datetime whose API sends text
    compares by value (an audit found int texts compared as text)."""
    rows = [{"id": i, "c": v} for i, v in enumerate(values)]
    with ScriptedServer() as server:
        server.route("/s", lambda r: Reply(body=rows))  # an API that ignores the cursor: flowc drops
        config = {"interval": "30ms", "cursor_field": "c", "cursor_param": "since", "id_field": "id"}
        feed = opened(source(server.url("/s"), Struct((("id", t.INT), ("c", kind))), **config))
        assert _poll_until(feed, 2) == ["0", "1"]
        assert feed.position()["cursor"] == largest
        feed.committed(feed.position())
        rows.append({"id": 9, "c": late})
        assert feed.poll(100, 0.3) is None  # below the largest value read: dropped
        assert server.requests[-1].query["since"] == largest
        feed.close()


def test_rate_limit_spaces_requests():
    with ScriptedServer() as server:
        server.route("/p", paged(RECORDS, size=5))
        feed = opened(source(server.url("/p"), records="data.items", rate_limit="20/s",
                             pagination={"type": "page", "param": "page", "size_param": "size", "size": 5}))
        began = time.monotonic()
        assert drain(feed).height == 25
        feed.close()
    assert len(server.requests) == 6
    assert time.monotonic() - began >= 5 * 0.05 * 0.95


def test_post_method_and_headers_are_sent():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body=[{"m": r.method, "h": r.headers.get("X-Api-Key")}]))
        feed = opened(source(server.url("/x"), method="POST", headers={"X-Api-Key": SECRET}))
        frame = drain(feed)
        position, status = json.dumps(feed.position()), json.dumps(feed.status())
        feed.close()
    assert frame["m"].to_list() == ["POST"] and frame["h"].to_list() == [SECRET]
    assert SECRET not in position and SECRET not in status


def test_interval_polls_again_and_is_never_exhausted():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body=RECORDS[:1]))
        feed = opened(source(server.url("/x"), interval="50ms"))
        got = _poll_until(feed, 3)
        feed.close()
    assert got == ["0", "0", "0"] and not feed.exhausted()


def test_redirect_to_another_origin_is_refused_and_same_origin_followed():
    with ScriptedServer() as server:
        server.route("/away", lambda r: Reply(302, "", headers={"Location": "http://127.0.0.2:9/steal"}))
        server.route("/moved", lambda r: Reply(301, "", headers={"Location": "/x"}))
        server.route("/x", lambda r: Reply(body=RECORDS[:1]))
        away = opened(source(server.url("/away"), headers={"Authorization": SECRET}))
        with pytest.raises(HttpFailed, match="redirect to another origin refused"):
            drain(away)
        away.close()
        moved = opened(source(server.url("/moved")))
        assert drain(moved).height == 1
        moved.close()


def test_a_spec_http_source_keeps_its_records_path_and_runs_through_the_feed():
    from flowc.compiler.normalize import normalize_spec
    from flowc.dsl.loader import load_text

    with ScriptedServer() as server:
        server.route("/p", paged(RECORDS, size=10))
        text = (f"version: 1\npipeline: p\nsources:\n  api:\n    type: http\n    url: {server.url('/p')}\n"
                "    records: data.items\n    pagination: {type: page, param: page, size_param: size, size: 10}\n"
                "sinks:\n  out: {type: console}\n")
        doc, problems = load_text(text, "p.flow.yaml")
        spec, problems = normalize_spec(doc)
        assert spec is not None and not problems
        assert spec.sources[0].config["records"] == "data.items" and spec.sources[0].records == ()
        feed = opened(spec.sources[0])
        assert drain(feed).height == 25
        feed.close()


# --- exactly once over random pages, poll sizes and restarts ---

@pytest.fixture(scope="module")
def shared_server():
    with ScriptedServer() as server:
        yield server


@settings(max_examples=min(settings().max_examples, 100))
@given(count=st.integers(0, 40), size=st.integers(1, 12), kind=st.sampled_from(["page", "cursor", "link"]),
       plan=st.lists(st.tuples(st.integers(1, 9), st.booleans()), min_size=1, max_size=12))
def test_every_record_exactly_once_across_random_restarts(shared_server, count, size, kind, plan):
    records = [{"id": i} for i in range(count)]
    path = f"/prop-{kind}"
    handlers = {"page": paged(records, size=size, wrap=lambda rs: rs), "cursor": cursor_paged(records, size=size),
                "link": linked(shared_server, path, records, size=size)}
    shared_server.route(path, handlers[kind])
    pagination = {"page": {"type": "page", "param": "page", "size_param": "size", "size": size},
                  "cursor": {"type": "cursor", "param": "after", "next": "meta.next"},
                  "link": {"type": "link"}}[kind]
    src = source(shared_server.url(path), pagination=pagination, **({"records": "items"} if kind == "cursor" else {}))
    got, rows, position = [], [], None
    feed = opened(src, position)
    steps = iter(plan)
    end = time.monotonic() + 20
    while not feed.exhausted():
        assert time.monotonic() < end
        limit, restart = next(steps, (50, False))
        frame = feed.poll(limit, 1.0)
        if frame is not None:
            got += frame["id"].to_list()
            rows += frame[ROW].to_list()
        if restart:
            position = json.loads(json.dumps(feed.position()))
            feed.close()
            feed = opened(src, position)
    feed.close()
    assert got == [str(i) for i in range(count)]
    assert rows == list(range(count))


def test_the_helpers_examples_hold():
    import doctest

    from flowc.runtime.sources import http_client, http_pages

    for module in (http_client, http_pages):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_a_body_larger_than_the_limit_fails_the_run():
    with ScriptedServer() as server:
        server.route("/x", lambda r: Reply(body=RECORDS))
        feed = opened(source(server.url("/x")), max_body=100)
        with pytest.raises(HttpFailed, match="larger than 100 bytes"):
            drain(feed)
        feed.close()
    assert len(server.requests) == 1
