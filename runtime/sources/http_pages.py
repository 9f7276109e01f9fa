"""Pages of an `http` source: where a pass is, how a response body becomes records, which page is next.

A *pass* is one walk over the endpoint's pages (one request without `pagination`). `PassState` names a
request inside a pass so a checkpoint can resume there: the cursor value sent (`cursor_param`), the
request's index, the page number or cursor token, and how many of its records were already delivered.
`link` pagination resumes by walking the links again from the first page (so no server-made URL,
which may embed credentials, is ever written to the event log).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flowc.runtime.sources.records import Item, bad


@dataclass(frozen=True, slots=True)
class PassState:
    sent: Any = None  # the cursor value sent as `cursor_param` on every request of this pass
    n: int = 0  # the request's index in the pass
    page: int | None = None  # page pagination: the page number
    token: str | None = None  # cursor pagination: the token sent as `param`
    skip: int = 0  # records of this page already delivered

    def json(self) -> dict[str, Any]:
        return {"sent": self.sent, "n": self.n, "page": self.page, "token": self.token, "skip": self.skip}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> PassState:
        return PassState(data.get("sent"), int(data.get("n", 0)), data.get("page"), data.get("token"),
                         int(data.get("skip", 0)))


@dataclass
class Page:
    key: PassState
    items: list[Item]
    next: PassState | None  # None: the pass ends after this page
    taken: int = 0
    shown: bool = field(default=True)  # False while `link` pagination re-walks pages already delivered


@dataclass(frozen=True, slots=True)
class Decoded:
    items: list[Item]
    doc: Any  # the parsed body (None when it was not JSON)
    ok: bool  # False: the body could not be read as records, the pass ends here


def decode(body: bytes, records_path: tuple[str, ...], label: str, path_text: str) -> Decoded:
    """The records of a response body: the array at `records_path` (the body itself when empty).

    A body that is not JSON, or holds something other than an array there, is one record error (the
    source's policy decides: `fail` stops the run naming the page); a missing or null path is an empty
    page; an element that is not an object is a record error of its own."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        return Decoded([bad(f"malformed JSON body ({_reason(error)})", body, label)], None, False)
    found = dig(doc, records_path)
    if found is None:
        return Decoded([], doc, True)
    if not isinstance(found, list):
        where = f"at '{path_text}'" if records_path else "as the body"
        return Decoded([bad(f"expected an array of records {where}, found {_kind(found)}", body, label)], doc, False)
    items = [Item(r, None, f"{label}[{i}]") if isinstance(r, dict)
             else bad(f"record is not a JSON object but {_kind(r)}", json.dumps(r), f"{label}[{i}]")
             for i, r in enumerate(found)]
    return Decoded(items, doc, True)


def dig(doc: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path (`data.items`); None when any step is missing.

    >>> dig({"data": {"items": [1]}}, ("data", "items")), dig({"a": 1}, ("b",)), dig([1], ())
    ([1], None, [1])
    """
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def split_path(text: object) -> tuple[str, ...]:
    return tuple(p for p in str(text).split(".") if p) if isinstance(text, str) else ()


def next_state(kind: str | None, state: PassState, decoded: Decoded, next_path: tuple[str, ...]) -> PassState | None:
    """The request after `state` for page and cursor pagination (link is followed by the caller)."""
    if not decoded.ok or kind is None:
        return None
    step = replace(state, n=state.n + 1, skip=0)
    if kind == "page":
        return replace(step, page=(state.page or 0) + 1) if decoded.items else None
    if kind == "cursor":
        token = dig(decoded.doc, next_path)
        if token is None or token == "" or isinstance(token, dict | list) or str(token) == state.token:
            return None  # no next cursor (or the same one again: a loop) ends the pass
        return replace(step, token=str(token) if not isinstance(token, bool) else json.dumps(token))
    return step


def _reason(error: Exception) -> str:
    return "not UTF-8" if isinstance(error, UnicodeDecodeError) else str(error).split(":")[0]


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number") \
        if value is not None else "null"
