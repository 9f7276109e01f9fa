"""One HTTP request of an `http` source, with the rate limit, retries and masking SPEC §3 asks for.

429, 5xx and network failures are retried with exponential backoff (`retry.backoff` doubling up to
`retry.max_backoff`, at most `retry.max_attempts` attempts in all); a `Retry-After` header (seconds or
an HTTP date) replaces the computed wait, capped at `max_backoff` so a server cannot park the run. Any
other 4xx fails the run at once with the status and an excerpt of the body.

Header values can be secrets (`Authorization: Bearer ${TOKEN}`), and so can the URL's query. Nothing
this module raises or returns for display holds them: messages show the URL as written in the spec,
and every header value and the substituted URL are scrubbed out of quoted response bodies.
"""

from __future__ import annotations

import email.utils
import http.client
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message

from flowc.compiler.spec import Retry
from flowc.runtime.sources.records import excerpt

MASK = "***"
_LINK = re.compile(r"<([^>]*)>([^<]*)")  # a link's target and the parameters after it


class HttpFailed(OSError):
    """The endpoint refused the request, or kept failing past the retries (the run fails, SPEC §3)."""


class Closed(Exception):
    """The feed was closed while a request was waiting to be retried."""


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    headers: Message
    body: bytes


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    """Redirects stay on the origin the spec names: headers (credentials) never go to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if origin(newurl) != origin(req.full_url):
            raise urllib.error.HTTPError(req.full_url, code, f"redirect to another origin refused ({msg})",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class Client:
    def __init__(self, *, name: str, method: str, headers: Mapping[str, str], retry: Retry,
                 rate: float | None, timeout: float, max_body: int, shown_url: str, secrets: tuple[str, ...],
                 stop: threading.Event) -> None:
        self.name, self.method, self.retry, self.timeout = name, method, retry, timeout
        self.max_body = max_body
        self.headers = {"Accept": "application/json", "User-Agent": "flowc", **{k: str(v) for k, v in headers.items()}}
        self.spacing = 1.0 / rate if rate else 0.0
        self.shown_url = shown_url
        self.secrets = tuple(sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True))
        self.stop = stop
        self.requests = 0
        self._last = float("-inf")
        self._opener = urllib.request.build_opener(_SameOrigin)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def get(self, url: str, label: str) -> Response:
        """The response to `url` (status 2xx), after retries; `label` says which page, for messages."""
        problem = ""
        for attempt in range(1, self.retry.max_attempts + 1):
            self._pace()
            status, response, wait = self._attempt(url)
            if response is not None:
                return response
            problem = status
            if attempt == self.retry.max_attempts:
                break
            backoff = min(self.retry.backoff * 2 ** (attempt - 1), self.retry.max_backoff) / 1e6
            delay = min(wait, self.retry.max_backoff / 1e6) if wait is not None else backoff
            if self.stop.wait(delay):
                raise Closed()
        raise HttpFailed(f"source '{self.name}': {self.method} {self.shown_url} ({label}) failed after "
                         f"{self.retry.max_attempts} attempts; last: {problem}")

    def _attempt(self, url: str) -> tuple[str, Response | None, float | None]:
        """(problem, None, Retry-After seconds) for a retryable failure, else the response; raises on 4xx."""
        data = b"" if self.method == "POST" else None
        request = urllib.request.Request(url, data=data, headers=self.headers, method=self.method)
        self.requests += 1
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                body = reply.read(self.max_body + 1)
                if len(body) > self.max_body:
                    raise HttpFailed(f"source '{self.name}': {self.method} {self.shown_url}: the response is larger "
                                     f"than {self.max_body} bytes; ask for smaller pages")
                return "", Response(reply.geturl(), reply.status, reply.headers, body), None
        except HttpFailed:
            raise
        except urllib.error.HTTPError as error:
            body = _read(error)
            status = f"{error.code} {error.reason}: {self.scrub(excerpt(body))}".rstrip(": ")
            if error.code == 429 or error.code >= 500:
                return status, None, retry_after(error.headers.get("Retry-After") if error.headers else None)
            raise HttpFailed(f"source '{self.name}': {self.method} {self.shown_url} returned {status}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            return self.scrub(f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__), \
                None, None

    def _pace(self) -> None:
        """Keep request starts `1/rate_limit` seconds apart (retries count as requests)."""
        wait = self._last + self.spacing - time.monotonic()
        if wait > 0 and self.stop.wait(wait):
            raise Closed()
        self._last = time.monotonic()


def _read(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(4096) or b""
    except (OSError, http.client.HTTPException):
        return b""


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: a number of seconds or an HTTP date; None when absent
    or unreadable.

    >>> retry_after("2"), retry_after(None), retry_after("soon")
    (2.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def with_params(url: str, params: Mapping[str, str | None]) -> str:
    """`url` with query parameters set (replacing ones of the same name; None removes one).

    >>> with_params("http://h/x?a=1&page=1", {"page": "2", "q": "a b"})
    'http://h/x?a=1&page=2&q=a+b'
    """
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, v) for k, v in params.items() if v is not None]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def next_link(headers: Message, base: str) -> str | None:
    """The `rel="next"` target of a `Link` header (RFC 8288), resolved against `base`.

    >>> m = Message(); m["Link"] = '<http://h/x?p=2>; rel="next", <http://h/x?p=9>; rel="last"'
    >>> next_link(m, "http://h/x")
    'http://h/x?p=2'
    >>> m = Message(); m["Link"] = '</x?ids=1,2&p=3>; rel="prev next"'
    >>> next_link(m, "http://h/x")
    'http://h/x?ids=1,2&p=3'
    """
    for value in headers.get_all("Link") or ():
        for target, trailer in _LINK.findall(value):
            params = trailer.strip().rstrip(",")
            rels = [p.split("=", 1)[1].strip().strip('"').lower().split() for p in params.split(";")
                    if p.strip().lower().startswith("rel=")]
            if any("next" in r for r in rels):
                return urllib.parse.urljoin(base, target.strip())
    return None
