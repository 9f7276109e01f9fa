"""The `http` source (SPEC §3): a JSON API read once (no `interval`: bounded) or polled every `interval`.

A fetcher thread walks the pages of a pass and queues them (at most two ahead, so memory stays
bounded); `poll` hands out their records. Running the requests on a thread keeps `poll` within its
timeout even while the endpoint is slow or a retry waits, so a stop request is honoured promptly.

Exactly once, as far as an API allows: `position()` holds the row number, where the pass stands (the
request and how many of its records were delivered) and, with `cursor_field`, the largest cursor
value delivered and the `id_field` values read at it. A resumed run continues the pass where the
checkpoint left it. `cursor_param` carries the cursor of the last *committed* checkpoint (SPEC §3).
A pass's records are filtered against the cursor delivered before the pass began (its *bound*), not
against each other: below it they are dropped, equal to it only when their id was read, so an API
that lists newest first delivers its whole first pass (filtering against the running largest value
kept only the first record).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from flowc.compiler.spec import Retry, Source
from flowc.dsl import types as t
from flowc.dsl.functions import FUNCTIONS
from flowc.dsl.lib_convert import to_float, to_int
from flowc.dsl.record_errors import RecordError
from flowc.dsl.types import Struct
from flowc.dsl.units import parse_duration, parse_rate
from flowc.runtime.sources.feed import SchemaHold
from flowc.runtime.sources.http_client import Client, Closed, HttpFailed, next_link, origin, with_params
from flowc.runtime.sources.http_pages import Page, PassState, decode, next_state, split_path
from flowc.runtime.sources.records import Item, as_text, frame_of, infer_schema, positions_of

AHEAD = 2  # pages fetched ahead of delivery
MAX_BODY = 256 * 1024 * 1024  # bytes of one response body; a larger one fails the run


class HttpFeed:
    def __init__(self, source: Source, base_dir: str, *, timeout: float = 30.0, max_body: int = MAX_BODY) -> None:
        config = source.config
        self.source, self.name = source, source.name
        self.url = str(config.get("url", ""))
        self.records_path = split_path(config.get("records"))
        self.pagination = dict(config.get("pagination") or {})
        interval = parse_duration(str(config.get("interval"))) if config.get("interval") is not None else None
        self.interval = interval / 1e6 if interval is not None else None
        self.cursor_field, self.cursor_param = config.get("cursor_field"), config.get("cursor_param")
        self.id_field = config.get("id_field")
        self.infer_rows = int(config.get("infer_rows", 1000))
        self.schema: Struct | None = source.schema
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        self._stop = threading.Event()
        self.client = Client(
            name=self.name, method=str(config.get("method", "GET")).upper(), headers=headers,
            retry=_retry(config.get("retry") or {}), rate=parse_rate(config.get("rate_limit", "")),
            timeout=timeout, max_body=max_body, shown_url=source.written.get("url", self.url), stop=self._stop,
            secrets=(*headers.values(), self.url, *_query_values(self.url)))
        self._cond = threading.Condition()
        self._pages: deque[Page] = deque()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._row, self._at, self._done = -1, None, False
        self._cursor: Any = None
        self._ids: dict[str, Any] = {}  # JSON text -> id, of records read at the cursor
        self._bound: Any = None  # the cursor when the pass being delivered began: what its records pass
        self._bound_ids: dict[str, Any] = {}  # JSON text -> id, of records read at the bound
        self._committed: Any = None
        self._batch: tuple[int, list[Item]] = (0, [])
        self._held: list[Item] = []  # records taken before any told a schema (`_waits_for_schema`)
        self._schema_hold = SchemaHold()

    # --- the Feed protocol ---

    def open(self, position: Mapping[str, Any] | None) -> None:
        position = position or {}
        self._row = int(position.get("row", -1) if position.get("row") is not None else -1)
        self._cursor = self._committed = position.get("cursor")
        self._ids = {_key(i): i for i in position.get("ids") or ()}
        # a checkpoint from before bounds were recorded: the cursor was the bound
        self._bound = position.get("bound", self._cursor)
        self._bound_ids = {_key(i): i for i in position.get("bound_ids", position.get("ids")) or ()}
        self._at = PassState.from_json(position["pass"]) if position.get("pass") else None
        self._done = bool(position.get("done")) and self.interval is None

    def use_schema(self, schema: Struct) -> None:
        """Deliver records with `schema` (the one recorded in the event log when the source declares none)."""
        self.schema = schema

    def poll(self, max_records: int, timeout: float) -> pl.DataFrame | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            self._start()
            while True:
                items = self._held + self._take(max(1, max_records - len(self._held)))
                self._held = []
                if items and not self._waits_for_schema(items, max_records):
                    return self._frame(items)
                if self._error is not None:
                    raise self._error
                remaining = deadline - time.monotonic()
                if self._done or remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def position(self) -> dict[str, Any]:
        with self._cond:
            return {"row": self._row, "cursor": self._cursor, "ids": list(self._ids.values()),
                    "bound": self._bound, "bound_ids": list(self._bound_ids.values()),
                    "pass": self._at.json() if self._at is not None else None, "done": self._done}

    def committed(self, position: Mapping[str, Any]) -> None:
        with self._cond:
            self._committed = position.get("cursor")

    def positions(self, rows: pl.Expr) -> pl.Expr:
        first, items = self._batch
        return positions_of(rows, first, items)

    def exhausted(self) -> bool:
        with self._cond:
            return self._done and not self._pages and not self._held

    def status(self) -> dict[str, Any]:
        with self._cond:
            return {"url": self.client.shown_url, "requests": self.client.requests, "cursor": self._committed,
                    "pages_queued": len(self._pages), "done": self._done}

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=1)  # a request still in flight ends with the process (daemon thread)

    # --- delivery ---

    def _take(self, limit: int) -> list[Item]:
        """Up to `limit` records from the queued pages, cursor-filtered; moves the resume point past them."""
        out: list[Item] = []
        while self._pages and len(out) < limit:
            page = self._pages[0]
            if page.key.n == 0 and page.taken == 0:  # a pass begins: it is filtered against what came before
                self._bound, self._bound_ids = self._cursor, dict(self._ids)
            while page.taken < len(page.items) and len(out) < limit:
                item = page.items[page.taken]
                page.taken += 1
                if self._admit(item):
                    out.append(item)
            if page.taken >= len(page.items):
                self._pages.popleft()
                self._at = page.next
                self._done = page.next is None and self.interval is None
                self._cond.notify_all()
            else:
                self._at = PassState(**{**page.key.json(), "skip": page.taken})
        return out

    def _admit(self, item: Item) -> bool:
        """SPEC §3: records below the pass's bound are dropped, records at it only when their id was read;
        the cursor follows the largest value delivered (the next pass's bound)."""
        if self.cursor_field is None or item.record is None:
            return True
        value = item.record.get(self.cursor_field)
        order = self._order(value)
        if order is None:
            return True  # no cursor value to compare: delivered, and the cursor stays
        ident = item.record.get(self.id_field) if self.id_field else None
        if self._already_read(order, ident):
            return False
        self._note_read(value, order, ident)
        return True

    def _order(self, value: Any) -> tuple[int, Any] | None:
        """How `value` compares as a cursor: by the field's declared type when the schema gives one (an
        int field's `"10"` is 10, above `"9"`; a datetime's offsets count), else as `_order` says."""
        kind = self.schema.field(self.cursor_field) if self.schema is not None and self.cursor_field else None
        if kind in _TYPED_CURSORS and isinstance(value, str):
            try:
                value = _TYPED_CURSORS[kind](value)
            except RecordError:
                return None  # the record is a conversion error of the source: it moves no cursor
        return _order(value)

    def _already_read(self, order: tuple[int, Any], ident: Any) -> bool:
        bound = self._order(self._bound)
        if bound is None or order > bound:
            return False
        return order < bound or (self.id_field is not None and _key(ident) in self._bound_ids)

    def _note_read(self, value: Any, order: tuple[int, Any], ident: Any) -> None:
        current = self._order(self._cursor)
        if current is None or order > current:
            self._cursor, self._ids = value, {}
        if self.id_field is None:
            return
        if order == self._order(self._cursor):
            self._ids[_key(ident)] = ident
        if order == self._order(self._bound):  # an id read twice in one pass is delivered once
            self._bound_ids[_key(ident)] = ident

    def _waits_for_schema(self, items: list[Item], max_records: int) -> bool:
        """Without a declared schema one is inferred from the first batch (SPEC §3), but records that
        are errors (an element that is not an object) or empty objects tell none, and the empty schema
        frozen from them made every later record lose its fields (`{}`). They are held (and returned
        before the records after them) until a record with fields comes, a batch fills, the pass ends,
        or `HOLD_FOR_SCHEMA` has passed."""
        tells_nothing = (self.schema is None and not any(i.record for i in items) and len(items) < max_records
                         and not self._done)
        if not self._schema_hold.holds(tells_nothing):
            return False
        self._held = items
        return True

    def _frame(self, items: list[Item]) -> pl.DataFrame:
        schema = self.schema if self.schema is not None else infer_schema(items, self.infer_rows)
        if schema.fields:  # frozen once a record showed fields (a batch of errors alone tells nothing)
            self.schema = schema
        first = self._row + 1
        self._row += len(items)
        self._batch = (first, items)
        return frame_of(items, schema, first)

    # --- fetching (on the fetcher thread) ---

    def _start(self) -> None:
        if self._thread is None and not self._done:
            self._thread = threading.Thread(target=self._fetch, name=f"flowc-http-{self.name}", daemon=True)
            self._thread.start()

    def _fetch(self) -> None:
        state, started = self._at, None
        try:
            while not self._stop.is_set():
                if state is None:
                    if started is not None and self._stop.wait(max(0.0, started + self.interval - time.monotonic())):
                        return
                    with self._cond:
                        state = PassState(sent=self._committed, page=self._first_page())
                started = time.monotonic()
                self._walk(state)
                if self.interval is None:
                    return
                state = None
        except Closed:
            return
        except BaseException as error:  # handed to `poll`, which raises it on the executor's thread
            with self._cond:
                self._error = error if isinstance(error, HttpFailed | OSError | ValueError) else \
                    HttpFailed(f"source '{self.name}': {type(error).__name__}: {error}")
                self._cond.notify_all()

    def _walk(self, state: PassState) -> None:
        """One pass from `state` to its last page; `link` pages before `state.n` are walked again, unshown."""
        kind, resume = self.pagination.get("type"), state
        url = None
        current: PassState | None = PassState(sent=state.sent) if kind == "link" else state
        while current is not None and not self._stop.is_set():
            target = url if url is not None and current.n > 0 else self._url(current)
            response = self.client.get(target, f"page {current.n + 1}")
            label = f"page {current.n + 1}"
            decoded = decode(response.body, self.records_path, label, ".".join(self.records_path))
            following = next_state(kind, current, decoded, split_path(self.pagination.get("next")))
            if kind == "link" and following is not None:
                url = next_link(response.headers, response.url)
                if url is not None and origin(url) != origin(self.url):
                    raise HttpFailed(f"source '{self.name}': the next page's link leads to another origin "
                                     f"({origin(url)[1]}); refused, so the request headers stay with the spec's host")
                following = following if url is not None else None
            items = [Item(i.record, self.client.scrub(i.error), i.where) if i.error else i for i in decoded.items]
            skip = resume.skip if current.n == resume.n else 0
            self._push(Page(current, items, following, taken=min(skip, len(items)), shown=current.n >= resume.n))
            current = following

    def _push(self, page: Page) -> None:
        with self._cond:
            while len(self._pages) >= AHEAD and not self._stop.is_set():
                self._cond.wait(0.2)
            if page.shown:
                self._pages.append(page)
                self._cond.notify_all()

    def _url(self, state: PassState) -> str:
        params: dict[str, str | None] = {}
        if self.cursor_param is not None and state.sent is not None:
            params[str(self.cursor_param)] = as_text(state.sent)
        kind = self.pagination.get("type")
        if kind == "page":
            params[str(self.pagination.get("param"))] = str(state.page)
            if self.pagination.get("size_param") is not None and self.pagination.get("size") is not None:
                params[str(self.pagination["size_param"])] = str(self.pagination["size"])
        elif kind == "cursor" and state.token is not None:
            params[str(self.pagination.get("param"))] = state.token
        return with_params(self.url, params) if params else self.url

    def _first_page(self) -> int | None:
        return int(self.pagination.get("start", 1)) if self.pagination.get("type") == "page" else None


def _retry(config: Mapping[str, Any]) -> Retry:
    """`retry` as a sink's (SPEC §7): `{max_attempts: 5, backoff: 200ms, max_backoff: 30s}`."""
    default = Retry()
    backoff = parse_duration(str(config.get("backoff", ""))) if config.get("backoff") is not None else None
    ceiling = parse_duration(str(config.get("max_backoff", ""))) if config.get("max_backoff") is not None else None
    attempts = config.get("max_attempts")
    return Retry(attempts if isinstance(attempts, int) and attempts > 0 else default.max_attempts,
                 default.backoff if backoff is None else backoff, default.max_backoff if ceiling is None else ceiling)


def _query_values(url: str) -> list[str]:
    from urllib.parse import parse_qsl, urlsplit

    return [v for _, v in parse_qsl(urlsplit(url).query)]


def _epoch_micros(text: str) -> int:
    instant = FUNCTIONS["parse_timestamp"].evaluate(text)
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# A cursor field declared with one of these types compares by the value its text converts to (the
# language's own conversions: what the record's field holds); a datetime as microseconds since the epoch.
_TYPED_CURSORS = {t.INT: to_int, t.FLOAT: to_float, t.DATETIME: _epoch_micros, t.DATE: _epoch_micros}


def _order(value: Any) -> tuple[int, Any] | None:
    """How cursor values compare: numbers by value, strings as text (ISO timestamps sort so), numbers first."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return (0, value)
    return (1, value) if isinstance(value, str) else None


def _key(ident: Any) -> str:
    return json.dumps(ident, sort_keys=True)
