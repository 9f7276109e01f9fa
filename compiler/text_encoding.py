"""The text encoding a CSV source declares (`options.encoding`, SPEC §3), as the codec that reads it."""

from __future__ import annotations

import codecs

UTF8 = "utf8"  # what Polars' readers take: text in any other encoding is decoded to UTF-8 first
_PROBE = "\n\r,;\t|\"'ab09 "  # the bytes lines and fields are split on must be ASCII's


def codec_of(name: str) -> str:
    """`UTF8` for UTF-8 (with or without a byte order mark), else Python's name for the codec. Raises
    ValueError with the reason for an unknown encoding, or one that does not write ASCII text as ASCII
    (UTF-16, UTF-32: flowc splits lines and fields on their bytes).

    >>> codec_of("UTF-8"), codec_of("latin-1"), codec_of("cp1252")
    ('utf8', 'iso8859-1', 'cp1252')
    """
    try:
        found = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown text encoding '{name}'") from None
    if found in ("utf-8", "utf-8-sig"):
        return UTF8
    try:
        compatible = _PROBE.encode(found) == _PROBE.encode("ascii")
    except (UnicodeError, LookupError):
        compatible = False
    if not compatible:
        raise ValueError(f"text encoding '{name}' does not write ASCII text as ASCII bytes; "
                         "flowc reads encodings that do (utf8, latin-1, cp1252, ...)")
    return found
