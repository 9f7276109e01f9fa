"""Acceptance tests for SPEC §3's `http` source against a real HTTP server on 127.0.0.1, run through the
`flowc` command."""

from __future__ import annotations

import signal
import subprocess
import time

from acceptance_cli import FLOWC, flowc, lines, write_spec
from http_server import Reply, Request, ScriptedServer, cursor_paged, linked, paged

RECORDS = [{"id": i, "name": f"n{i}"} for i in range(1, 6)]


def test_one_pass_with_page_cursor_and_link_pagination_and_headers(tmp_path):
    with ScriptedServer() as server:
        server.route("/paged", paged(RECORDS, size=2, param="page", start=1))
        server.route("/cursor", cursor_paged(RECORDS, size=2))
        server.route("/linked", linked(server, "/linked", RECORDS, size=2))
        path = write_spec(tmp_path, f"""
        sources:
          p:
            type: http
            url: {server.url("/paged")}
            headers: {{Authorization: Bearer abc}}
            records: data.items
            pagination: {{type: page, param: page, start: 1, size_param: size, size: 2}}
          c:
            type: http
            url: {server.url("/cursor")}
            records: items
            pagination: {{type: cursor, param: after, next: meta.next}}
          l:
            type: http
            url: {server.url("/linked")}
            pagination: {{type: link}}
        sinks:
          p_out: {{type: file, path: p.jsonl, from: p}}
          c_out: {{type: file, path: c.jsonl, from: c}}
          l_out: {{type: file, path: l.jsonl, from: l}}
        """)
        done = flowc("run", "--quiet", str(path))
        assert done.returncode == 0, done.stderr
        paged_requests = server.requests_to("/paged")
    for name in ("p", "c", "l"):
        assert lines(tmp_path / f"{name}.jsonl") == RECORDS, name
    assert all(r.headers.get("Authorization") == "Bearer abc" for r in paged_requests)
    assert [r.query.get("page") for r in paged_requests][:3] == ["1", "2", "3"]
    assert all(r.query.get("size") == "2" for r in paged_requests)


def test_429_and_5xx_are_retried(tmp_path):
    with ScriptedServer() as server:
        server.script("/items", Reply(503, {"error": "busy"}), Reply(429, {"error": "slow down"},
                                                                     headers={"Retry-After": "0"}),
                      Reply(500, "oops"))
        server.route("/items", lambda request: Reply(body=RECORDS))
        path = write_spec(tmp_path, f"""
        sources:
          s: {{type: http, url: "{server.url("/items")}", retry: {{max_attempts: 5, backoff: 10ms}}}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        done = flowc("run", "--quiet", str(path))
        assert done.returncode == 0, done.stderr
        assert len(server.requests_to("/items")) == 4
    assert lines(tmp_path / "out.jsonl") == RECORDS


def test_4xx_fails_the_run_with_status_and_body_excerpt(tmp_path):
    with ScriptedServer() as server:
        server.route("/items", lambda request: Reply(403, {"error": "token expired for tenant 42"}))
        path = write_spec(tmp_path, f"""
        sources:
          s: {{type: http, url: "{server.url("/items")}"}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        done = flowc("run", str(path))
        assert len(server.requests_to("/items")) == 1  # not retried
    assert done.returncode == 1
    assert "403" in done.stderr and "token expired for tenant 42" in done.stderr


def test_interval_polling_with_cursor_field_and_id_field(tmp_path):
    served = [{"id": "a", "ts": 1}, {"id": "b", "ts": 2}]

    def since(request: Request) -> Reply:
        bound = request.query.get("since")
        return Reply(body=[r for r in served if bound is None or r["ts"] >= int(bound)])

    with ScriptedServer() as server:
        server.route("/feed", since)
        path = write_spec(tmp_path, f"""
        settings: {{batch_timeout: 50ms}}
        sources:
          s:
            type: http
            url: {server.url("/feed")}
            interval: 200ms
            cursor_field: ts
            cursor_param: since
            id_field: id
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        out = tmp_path / "out.jsonl"
        proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 2)
            # b is served again (equal to the cursor, already read: dropped); c shares b's cursor value
            # but is new (kept); an older one below the cursor is dropped.
            served.extend([{"id": "c", "ts": 2}, {"id": "d", "ts": 3}, {"id": "old", "ts": 0}])
            _wait_for(lambda: len(out.read_text().splitlines()) >= 4)
            time.sleep(0.6)  # a few more polls: nothing read twice
            assert proc.poll() is None
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        bounds = [r.query.get("since") for r in server.requests_to("/feed")]
    assert [r["id"] for r in lines(out)] == ["a", "b", "c", "d"]
    assert bounds[0] is None and "2" in bounds and bounds[-1] == "3"


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_rate_limit_spaces_requests_and_method_is_sent(tmp_path):
    with ScriptedServer() as server:
        server.route("/paged", paged(RECORDS, size=1, param="page", start=1))
        path = write_spec(tmp_path, f"""
        sources:
          s:
            type: http
            url: {server.url("/paged")}
            method: POST
            records: data.items
            rate_limit: 5/s
            pagination: {{type: page, param: page, start: 1, size_param: size, size: 1}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        started = time.monotonic()
        done = flowc("run", "--quiet", str(path))
        took = time.monotonic() - started
        requests = server.requests_to("/paged")
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "out.jsonl") == RECORDS
    assert {r.method for r in requests} == {"POST"} and len(requests) >= 5
    assert took >= (len(requests) - 1) / 5 * 0.9  # at most 5 requests a second


def test_the_cursor_survives_a_restart(tmp_path):
    served = [{"id": "a", "ts": 5}, {"id": "b", "ts": 7}]

    def since(request: Request) -> Reply:
        bound = request.query.get("since")
        return Reply(body=[r for r in served if bound is None or r["ts"] >= int(bound)])

    with ScriptedServer() as server:
        server.route("/feed", since)
        path = write_spec(tmp_path, f"""
        settings: {{batch_timeout: 50ms}}
        sources:
          s: {{type: http, url: "{server.url("/feed")}", interval: 100ms, cursor_field: ts, cursor_param: since,
               id_field: id}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        out = tmp_path / "out.jsonl"
        for expected in (2, 3):
            proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(path)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                _wait_for(lambda n=expected: out.exists() and len(out.read_text().splitlines()) >= n)
                time.sleep(0.4)  # a few more polls, and the checkpoint of the last batch
                proc.send_signal(signal.SIGINT)
                assert proc.wait(timeout=20) == 130
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if expected == 2:
                first_run = len(server.requests_to("/feed"))
                served.append({"id": "c", "ts": 9})
        restarted = server.requests_to("/feed")[first_run]
    assert [r["id"] for r in lines(out)] == ["a", "b", "c"]
    assert restarted.query.get("since") == "7"
