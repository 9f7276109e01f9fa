"""How a run's failure reason words an exception (audit 4 F6a): what a user reads carries no Python
class name (`run failed: EnrichTableError: enrich 'left': ...`, `FileNotFoundError: source 'd': ...`).

flowc's own exceptions already say what failed and where (the step, source, file); an OS error is its
reason and the file; an error of Polars' own is marked as Polars' (it is not a record error of the
data: those are record errors, SPEC §6), with its first line. A bug (any other exception) still
shows its class: it is reported as an internal error for a bug report, not by this function.
"""

from __future__ import annotations

import polars as pl


def failure_reason(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, pl.exceptions.PolarsError):
        return f"polars: {text.splitlines()[0] if text else 'failed'}"
    if isinstance(error, OSError) and error.strerror and len(error.args) > 1:  # the OS's own wording
        return f"{error.strerror}: '{error.filename}'" if error.filename else error.strerror
    return text or type(error).__name__
