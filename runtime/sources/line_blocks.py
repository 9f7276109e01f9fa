"""Whole-line blocks of a file of lines (CSV, JSON lines, text), read without holding the file.

A plain file is read with `pread` (`PositionalFile`, not a mapping: mapped pages count in the RSS),
cut just past the last newline of each block (`rfind` in its last bytes: lines are not counted in
Python). A gzip or zlib file is decompressed as a stream (Python's `gzip`, `zlib`, which release the
GIL) and cut the same way, so its records are the lines of the decompressed text, as Polars reads
them. A zstd file (no codec in Python's library) is decompressed whole by Polars.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import BinaryIO

SKIP_BLOCK = 1 << 22  # bytes examined at a time while skipping lines (a resume deep into a file)
SAMPLE = 1 << 16  # bytes read to estimate the line length before the first block
_NL = b"\n"
_BOM = b"\xef\xbb\xbf"
_FIND_BELOW = 32  # newlines left between the bounds: find them one by one
GZIP = b"\x1f\x8b"


# Compressed files, which Polars' readers decompress (gzip, zlib, zstd); `line_blocks` reads them all.
ZSTD = b"\x28\xb5\x2f\xfd"
_COMPRESSED = (GZIP, b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", ZSTD)


def compressed(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4).startswith(_COMPRESSED)


def gzipped(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP


def line_blocks(path: str, skip: int, lines_per_block: float, *, skip_bom: bool = False) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of whole-line blocks of the file after its first `skip` lines, each of about
    `lines_per_block` lines (their length guessed from a sample), in order; the last may lack its
    newline. A gzip file's offsets are in its decompressed text. The file is opened when the first
    block is asked for; a plain file's size then bounds the read (lines appended later are not read).
    `skip_bom`: a byte order mark at the start of the file is not part of its first line."""
    decompressing = _decompressing(path)
    if decompressing is not None:
        with closing(decompressing) as stream:
            yield from _stream_blocks(stream, skip, lines_per_block, skip_bom)
        return
    with open(path, "rb", buffering=0) as handle:
        view = PositionalFile(handle.fileno(), os.fstat(handle.fileno()).st_size)
        pos = skip_lines(view, 0, skip)
        if skip_bom and pos == 0 and view[0:3] == _BOM:
            pos = 3
        size = max(int(lines_per_block * _line_length(view[pos:pos + SAMPLE])), 1)
        for start, end in block_ranges(view, pos, size):
            yield start, view[start:end]


def _stream_blocks(stream: BinaryIO, skip: int, lines_per_block: float, skip_bom: bool) -> Iterator[tuple[int, bytes]]:
    """`line_blocks` of a stream read once, front to back."""
    pos, held = 0, b""
    while skip > 0:  # whole pieces of skipped lines are dropped as they are read
        piece = stream.read(SKIP_BLOCK)
        if not piece:
            return
        found = piece.count(_NL)
        if found >= skip:
            cut = nth_newline(piece, skip, found) + 1
            pos, held, skip = pos + cut, piece[cut:], 0
        else:
            pos, skip = pos + len(piece), skip - found
    held += stream.read(max(SAMPLE - len(held), 0))
    if skip_bom and pos == 0 and held.startswith(_BOM):
        pos, held = 3, held[3:]
    size = max(int(lines_per_block * _line_length(held)), 1)
    while True:
        want, at_end = size, False
        while True:
            if len(held) < want:
                held += stream.read(want - len(held))
                at_end = len(held) < want  # the stream ended: its last line may lack a newline
            # just past the block's last newline; a line longer than the block ends it
            end = len(held) if at_end else (held.rfind(_NL, 0, want) + 1 or held.find(_NL) + 1)
            if end or at_end:
                break
            want = len(held) + SAMPLE  # no newline yet: read on
        if not held:
            return
        yield pos, held[:end]
        pos, held = pos + end, held[end:]


def zstd(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == ZSTD


def _zstd_text(path: str) -> bytes:
    """A zstd file's text, decompressed by Polars (which reads its lines as UTF-8, as its readers do)."""
    import polars as pl

    lines = pl.scan_lines(path, name="line", glob=False)
    text = lines.select(pl.len(), pl.col("line").str.join("\n")).collect()
    return (text.item(0, "line") + "\n").encode() if text.item(0, "len") else b""


class _ZlibStream(io.RawIOBase):
    """A zlib file's text as a stream of `read(n)`, decompressed as it is read."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 (closed with the stream)
        self._inflate = zlib.decompressobj()
        self._held = b""

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._held) < size) and not self._inflate.eof:
            packed = self._file.read(SKIP_BLOCK)
            self._held += self._inflate.decompress(packed) if packed else self._inflate.flush()
            if not packed:
                break
        taken, self._held = (self._held, b"") if size < 0 else (self._held[:size], self._held[size:])
        return taken

    def close(self) -> None:
        self._file.close()
        super().close()


def byte_blocks(path: str, size: int) -> Iterator[bytes]:
    """A file's bytes in blocks of `size` (the last may be shorter), decompressed as `line_blocks` reads
    them: gzip and zlib files as a stream, a zstd file whole (by Polars) and then cut. For the formats
    that are not lines (a JSON array), read without holding the file."""
    stream = _decompressing(path) or open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
    with closing(stream):
        while piece := stream.read(size):
            yield piece


def whole_file(path: str) -> bytes:
    """A file's bytes, decompressed when it is gzip, zlib or zstd (as `line_blocks` reads it): for a
    compressed Parquet file's decompressed copy (SPEC §7 names `.parquet.gz` as it does `.csv.gz`)."""
    with closing(_decompressing(path) or open(path, "rb")) as stream:
        return stream.read()


def _decompressing(path: str) -> BinaryIO | None:
    """A compressed file's text as a stream (gzip and zlib decompressed as it is read, zstd whole by
    Polars first); None for a file that is not compressed."""
    if gzipped(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compressed(path):
        return _ZlibStream(path) if not zstd(path) else io.BytesIO(_zstd_text(path))  # type: ignore[return-value]
    return None


def count_lines(path: str) -> int:
    """The file's lines as `scan_lines` counts them (a last line without a newline is one; a gzip
    file's decompressed lines), counted 4 MiB at a time at C speed: counting with Polars maps the
    whole file into the process's RSS."""
    lines, last = 0, b""
    for _, block in line_blocks(path, 0, SKIP_BLOCK // 64):
        lines, last = lines + block.count(_NL), block[-1:]
    return lines + (1 if last not in (b"", _NL) else 0)


def _line_length(sample: bytes) -> float:
    """Bytes per line in a sample: the first block's size is guessed from it."""
    return len(sample) / max(sample.count(_NL), 1)


@dataclass(frozen=True, slots=True)
class PositionalFile:
    """A file whose slices are read with `pread`. Not an mmap: the pages of a mapping that were
    read count in the process's RSS until unmapped, and copying out of one costs page faults."""
    fd: int
    size: int

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, part: slice) -> bytes:
        want = max(min(part.stop, self.size) - part.start, 0)
        data = os.pread(self.fd, want, part.start)
        while 0 < len(data) < want:  # a read may stop short (Linux: 2 GiB at most)
            more = os.pread(self.fd, want - len(data), part.start + len(data))
            if not more:
                break
            data += more
        return data


def skip_lines(view: PositionalFile | bytes, pos: int, lines: int, block: int = SKIP_BLOCK) -> int:
    """The offset `lines` lines after `pos` (or the end), counted in pieces that start small (a
    header is one line) and double up to `block` bytes."""
    size = SAMPLE
    while lines > 0 and pos < len(view):
        piece = view[pos:pos + min(size, block)]
        found = piece.count(_NL)
        if found >= lines:
            return pos + nth_newline(piece, lines, found) + 1
        pos, lines, size = pos + len(piece), lines - found, size * 2
    return min(pos, len(view))


def block_ranges(view: PositionalFile | bytes, pos: int, size: int) -> Iterator[tuple[int, int]]:
    """Byte ranges [start, end) from `pos` to the end of `view`, of about `size` bytes each, every one
    ending just past a newline (the last at the end of `view`): whole lines."""
    while pos < len(view):
        end = len(view) if pos + size >= len(view) else _cut(view, pos, pos + size)
        yield pos, end
        pos = end


def _cut(view: PositionalFile | bytes, pos: int, end: int) -> int:
    """The offset just past the last newline in [pos, end); when there is none (one line longer than
    the block), just past the first newline after it, else the end of `view`."""
    high = end
    while high > pos:
        low = max(high - SAMPLE, pos)
        found = view[low:high].rfind(_NL)
        if found >= 0:
            return low + found + 1
        high = low
    while end < len(view):
        piece = view[end:end + SAMPLE]
        found = piece.find(_NL)
        if found >= 0:
            return end + found + 1
        end += len(piece)
    return len(view)


def nth_newline(buf: bytes, k: int, total: int) -> int:
    """The offset of the k-th newline (1-based) of `buf`, which holds `total` >= k of them.

    Interpolation search with `bytes.count` on the shorter side of each probe: lines of similar
    lengths put the first probe within a few lines of it, and the last few newlines are walked with
    `find`/`rfind` from the nearer bound. A probe that does not halve the walk left is followed by a
    bisection step, so lines of any lengths take O(log n) steps."""
    lo, before, hi, upto = 0, 0, len(buf), total  # invariant: before < k <= upto newlines in buf[:lo], buf[:hi]
    interpolate = True
    while (left := min(k - before, upto - k + 1)) > _FIND_BELOW:
        mid = lo + (hi - lo) * (k - before) // (upto - before) if interpolate else (lo + hi) // 2
        mid = min(max(mid, lo + 1), hi - 1)
        at = before + buf.count(_NL, lo, mid) if mid - lo <= hi - mid else upto - buf.count(_NL, mid, hi)
        if at >= k:
            hi, upto = mid, at
        else:
            lo, before = mid, at
        interpolate = min(k - before, upto - k + 1) <= left // 2
    if k - before <= upto - k + 1:  # forward from lo: the k-th is the (k - before)-th newline after lo
        found = lo - 1
        for _ in range(k - before):
            found = buf.find(_NL, found + 1)
        return found
    found = hi  # backward from hi: the last newline before hi is the upto-th
    for _ in range(upto - k + 1):
        found = buf.rfind(_NL, lo, found)
    return found
