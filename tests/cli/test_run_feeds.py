"""`flowc run` end to end on the polled sources of issue 6: a watched folder that gets files while the
pipeline runs (SIGTERM -> 130 -> resume, SIGKILL -> resume: each record exactly once), and an http
pipeline against a scripted server on 127.0.0.1 (pages to a JSONL file; a 4xx fails the run), with the
secret in its headers checked to appear in no output, log line or state file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from http_server import Reply, ScriptedServer, paged

FLOWC = [sys.executable, "-m", "flowc"]
SECRET = "tok-5ecret-9f3a71"

WATCH_SPEC = """\
version: 1
pipeline: inbox
settings: {batch_size: BATCH, batch_timeout: 100ms}
sources:
  inbox:
    type: file
    path: in/*.jsonl
    watch: true
    schema: {id: int, name: string}
sinks:
  out: {type: file, path: out/ids.jsonl}
"""


def jsonl_file(path: Path, ids: range, rename: bool = True) -> None:
    """Publish a file the safe way: written under another name, renamed into the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp") if rename else path
    temp.write_text("".join(json.dumps({"id": i, "name": f"n{i}"}) + "\n" for i in ids))
    if rename:
        temp.rename(path)


def written_ids(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.endswith("}")]


def wait_for(path: Path, count: int, process: subprocess.Popen, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while len(written_ids(path)) < count:
        assert process.poll() is None, f"flowc run ended early: {process.returncode}"
        assert time.monotonic() < end, f"only {len(written_ids(path))} of {count} records arrived"
        time.sleep(0.05)


def start(spec: Path) -> subprocess.Popen:
    return subprocess.Popen([*FLOWC, "run", str(spec), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


def test_watched_folder_files_arrive_while_running_and_survive_sigterm(tmp_path):
    spec = tmp_path / "inbox.flow.yaml"
    spec.write_text(WATCH_SPEC.replace("BATCH", "1000"))
    out = tmp_path / "out/ids.jsonl"
    jsonl_file(tmp_path / "in/001.jsonl", range(0, 100))
    process = start(spec)
    wait_for(out, 100, process)
    jsonl_file(tmp_path / "in/002.jsonl", range(100, 250))  # renamed in while running
    jsonl_file(tmp_path / "in/003.jsonl", range(250, 260), rename=False)  # written in place
    wait_for(out, 260, process)
    code, _ = stop(process)
    assert code == 130
    jsonl_file(tmp_path / "in/004.jsonl", range(260, 300))  # arrives while stopped
    process = start(spec)
    wait_for(out, 300, process)
    code, _ = stop(process)
    assert code == 130
    assert written_ids(out) == list(range(300))
    events = [json.loads(line) for line in (tmp_path / ".flow/inbox/events.log").read_text().splitlines()]
    assert [e["type"] for e in events].count("stopped") == 2
    last = [e for e in events if e["type"] == "checkpoint_saved"][-1]["data"]["sources"]["inbox"]
    assert last["finished"] == ["in/001.jsonl", "in/002.jsonl", "in/003.jsonl"] and last["row"] == 299


def test_watched_folder_sigkill_mid_file_resumes_exactly_once(tmp_path):
    spec = tmp_path / "inbox.flow.yaml"
    spec.write_text(WATCH_SPEC.replace("BATCH", "50"))
    out = tmp_path / "out/ids.jsonl"
    jsonl_file(tmp_path / "in/a.jsonl", range(0, 3000))
    jsonl_file(tmp_path / "in/b.jsonl", range(3000, 4000))
    process = start(spec)
    wait_for(out, 700, process)
    process.kill()  # mid-file: the sink is cut back to the checkpoint, the feed resumes at its offset
    process.communicate(timeout=60)
    process = start(spec)
    wait_for(out, 4000, process)
    code, _ = stop(process)
    assert code == 130
    assert written_ids(out) == list(range(4000))


HTTP_SPEC = """\
version: 1
pipeline: api
settings: {batch_size: 7}
sources:
  api:
    type: http
    url: URL
    headers: {Authorization: "Bearer ${API_TOKEN}", X-Key: "${API_TOKEN}"}
    records: data.items
    pagination: {type: page, param: page, size_param: size, size: 10}
    retry: {max_attempts: 4, backoff: 10ms}
    schema: {id: int, name: string, ts: datetime}
sinks:
  out: {type: file, path: out/api.jsonl}
"""

RECORDS = [{"id": i, "name": f"n{i}", "ts": f"2026-01-01T00:00:{i % 60:02d}Z"} for i in range(45)]


def run_http(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    spec = tmp_path / "api.flow.yaml"
    spec.write_text(HTTP_SPEC.replace("URL", url))
    env = {**os.environ, "API_TOKEN": SECRET}
    return subprocess.run([*FLOWC, "run", str(spec), *extra], capture_output=True, text=True, timeout=120, env=env)


def everything_written(tmp_path: Path, result: subprocess.CompletedProcess) -> str:
    """Every byte flowc wrote: its output streams, the state directory, the sink files."""
    texts = [result.stdout, result.stderr]
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.suffix != ".yaml":
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def test_http_pipeline_pages_into_jsonl_and_never_shows_the_secret(tmp_path):
    with ScriptedServer() as server:
        server.script("/items", Reply(429, {"error": "slow down"}, headers={"Retry-After": "0"}),
                      Reply(503, "busy"))
        server.route("/items", paged(RECORDS, size=10))
        result = run_http(tmp_path, server.url("/items"), "--log-format", "json")
        sent = {r.headers.get("Authorization") for r in server.requests}
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "out/api.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(45))
    assert rows[1]["name"] == "n1" and rows[1]["ts"].startswith("2026-01-01T00:00:01")  # converted by the schema
    assert sent == {f"Bearer {SECRET}"}
    assert SECRET not in everything_written(tmp_path, result)


def test_http_4xx_fails_the_run_with_status_and_excerpt_but_not_the_secret(tmp_path):
    with ScriptedServer() as server:
        server.route("/items", lambda r: Reply(401, {"error": f"bad token {r.headers.get('X-Key')}"}))
        result = run_http(tmp_path, server.url("/items"))
    assert result.returncode == 1
    assert "401 Unauthorized" in result.stderr and "bad token ***" in result.stderr
    events = (tmp_path / ".flow/api/events.log").read_text()
    failed = [json.loads(line) for line in events.splitlines() if '"failed"' in line][-1]
    assert "401 Unauthorized" in failed["data"]["reason"] and "${API_TOKEN}" not in failed["data"]["reason"]
    assert SECRET not in everything_written(tmp_path, result)


def test_http_4xx_on_the_first_poll_of_a_source_without_a_schema_is_a_clear_error(tmp_path):
    """Its schema is inferred from the first poll, before the run starts: the error exits 1 with the
    status and excerpt, no traceback (found by the acceptance audit)."""
    spec = tmp_path / "api.flow.yaml"
    with ScriptedServer() as server:
        server.route("/items", lambda r: Reply(404, {"error": "nope here"}))
        spec.write_text(HTTP_SPEC.replace("URL", server.url("/items")).replace(
            "    schema: {id: int, name: string, ts: datetime}\n", ""))
        result = subprocess.run([*FLOWC, "run", str(spec)], capture_output=True, text=True, timeout=120,
                                env={**os.environ, "API_TOKEN": SECRET})
    assert result.returncode == 1
    assert "returned 404 Not Found" in result.stderr and "nope here" in result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr


def test_polled_http_stops_promptly_on_sigterm_while_a_slow_request_is_in_flight(tmp_path):
    with ScriptedServer() as server:
        server.route("/items", lambda r: Reply(body={"data": {"items": RECORDS[:3]}}, delay=5.0))
        spec = tmp_path / "api.flow.yaml"
        spec.write_text(HTTP_SPEC.replace("URL", server.url("/items")).replace("    pagination:", "    interval: 100ms\n"
                                                                                 "    pagination:"))
        process = subprocess.Popen([*FLOWC, "run", str(spec), "--quiet"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, "API_TOKEN": SECRET})
        end = time.monotonic() + 60
        while not server.requests:
            assert process.poll() is None and time.monotonic() < end
            time.sleep(0.05)
        began = time.monotonic()
        code, output = stop(process)
    assert code == 130 and time.monotonic() - began < 4.0  # not the 5 s the request would take
    assert SECRET not in output
