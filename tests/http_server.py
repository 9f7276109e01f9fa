"""A real threaded HTTP server on 127.0.0.1 with scripted responses, for the `http` source's tests.

    with ScriptedServer() as server:
        server.route("/items", paged(records, size=10))            # ?page=N&size=M pages
        server.script("/items", Reply(429, headers={"Retry-After": "1"}))  # served first, then the route
        url = server.url("/items")
        ...
        server.requests  # every request received: method, path, query, headers

Handlers get a `Request` and return a `Reply`; scripted replies for a path are served first, in order.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # bytes and str are sent as they are; anything else as JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow endpoint)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Reply]


class ScriptedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.scripts: dict[str, deque[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self.scripts.setdefault(path, deque()).extend(replies)

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            queued = self.scripts.get(request.path)
            scripted = queued.popleft() if queued else None
        if scripted is not None:
            return scripted
        handler = self.routes.get(request.path)
        return handler(request) if handler is not None else Reply(404, {"error": "no such route"})


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            request = Request(self.command, parts.path, dict(urllib.parse.parse_qsl(parts.query)),
                              {k: v for k, v in self.headers.items()})
            reply = server.answer(request)
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.payload()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return _Handler


# --- handlers for the usual pagination styles ---


def paged(records: Sequence[Mapping[str, Any]], *, size: int = 10, param: str = "page", start: int = 1,
          wrap: Callable[[list], Any] = lambda rs: {"data": {"items": rs}}) -> Handler:
    """Numbered pages `start`, `start + 1`, ...; a page past the end is empty."""

    def handle(request: Request) -> Reply:
        page = int(request.query.get(param, start))
        chunk = int(request.query.get("size", size))
        begin = (page - start) * chunk
        return Reply(body=wrap(list(records[begin:begin + chunk])))

    return handle


def cursor_paged(records: Sequence[Mapping[str, Any]], *, size: int = 10) -> Handler:
    """`?after=<token>` pages; the body's `meta.next` names the next token (null on the last page)."""

    def handle(request: Request) -> Reply:
        begin = int(request.query.get("after", "0"))
        end = begin + size
        following = str(end) if end < len(records) else None
        return Reply(body={"items": list(records[begin:end]), "meta": {"next": following}})

    return handle


def linked(server: ScriptedServer, path: str, records: Sequence[Mapping[str, Any]], *, size: int = 10) -> Handler:
    """Pages followed through `Link: <...>; rel="next"` headers (`?offset=N`)."""

    def handle(request: Request) -> Reply:
        begin = int(request.query.get("offset", "0"))
        end = begin + size
        headers = {"Link": f'<{path}?offset={end}>; rel="next", <{path}?offset=0>; rel="first"'} \
            if end < len(records) else {}
        return Reply(body=list(records[begin:end]), headers=headers)

    return handle


def since(records: Sequence[Mapping[str, Any]], *, field_name: str = "ts", param: str = "since") -> Handler:
    """Records whose `field_name` is at least the `param` value (inclusive, as many APIs are)."""

    def handle(request: Request) -> Reply:
        bound = request.query.get(param)
        chosen = [r for r in records if bound is None or str(r[field_name]) >= bound] if not _numeric(records, field_name) \
            else [r for r in records if bound is None or r[field_name] >= float(bound)]
        return Reply(body=chosen)

    return handle


def _numeric(records: Sequence[Mapping[str, Any]], name: str) -> bool:
    return bool(records) and isinstance(records[0][name], int | float)
