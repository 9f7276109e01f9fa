"""Record errors (SPEC §6): a problem with one record, never with the batch.

The reference interpreter raises `RecordError`; the Polars lowering computes, per row, the same text
`str(error)` in an error column (see `flowc.compiler.lowered`).
"""

from __future__ import annotations

CONVERSION = "conversion"  # to_int("abc"), an unparsable timestamp
OVERFLOW = "overflow"  # 64-bit integer overflow


class RecordError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
