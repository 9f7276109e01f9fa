"""Room on the Python stack for the deepest expressions the parser accepts.

The tree walks (interpreter, type checker, lowering) recurse once per AST level with a few frames
each; the parser allows 200 levels of nesting, and a level such as `[x][0]` is two AST nodes, so
a deep expression needs a few thousand frames, more than CPython's default limit of 1000. Python
3.11+ runs Python-to-Python calls without growing the C stack, so a higher limit is safe.
"""

from __future__ import annotations

import sys

FRAMES_NEEDED = 10_000


def ensure_recursion_limit() -> None:
    """Raise the recursion limit to `FRAMES_NEEDED` (never lower it: other code may need more)."""
    if sys.getrecursionlimit() < FRAMES_NEEDED:
        sys.setrecursionlimit(FRAMES_NEEDED)
