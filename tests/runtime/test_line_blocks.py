"""Whole-line blocks of plain and gzip files (runtime/sources/line_blocks.py): the same lines either way."""

from __future__ import annotations

import gzip

from hypothesis import example, given
from hypothesis import strategies as st

from flowc.runtime.sources import line_blocks as lb
from flowc.runtime.sources.line_blocks import count_lines, line_blocks

_LINE = st.one_of(st.text(alphabet="ab,\r", max_size=8), st.integers(1, 3).map(lambda k: "x" * (k * 40_000)))


def _lines(text: bytes) -> list[bytes]:
    """Lines ended by b"\n" only (a CR is text), the last perhaps without one."""
    parts = text.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _skipped(text: bytes, skip: int, bom: bool) -> bytes:
    rest = b"".join(_lines(text)[skip:])
    return rest[3:] if bom and skip == 0 and rest.startswith(b"\xef\xbb\xbf") else rest


@given(lines=st.lists(_LINE, max_size=30), final_newline=st.booleans(), skip=st.integers(0, 35),
       per_block=st.floats(0.5, 20), bom=st.booleans())
@example(lines=["x" * 80_000, "a"], final_newline=False, skip=0, per_block=0.5, bom=False)  # longer than a block
def test_gzip_and_plain_files_give_the_same_whole_line_blocks(tmp_path_factory, lines, final_newline, skip,
                                                              per_block, bom):
    folder = tmp_path_factory.mktemp("blocks")
    text = ("\ufeff" if bom else "").encode() + ("\n".join(lines) + ("\n" if final_newline and lines else "")).encode()
    (folder / "plain.txt").write_bytes(text)
    (folder / "packed.txt.gz").write_bytes(gzip.compress(text[:len(text) // 2]) + gzip.compress(text[len(text) // 2:]))
    expected = _skipped(text, skip, bom)
    for name in ("plain.txt", "packed.txt.gz"):
        blocks = list(line_blocks(str(folder / name), skip, per_block, skip_bom=bom))
        assert b"".join(data for _, data in blocks) == expected, name
        assert all(data.endswith(b"\n") for _, data in blocks[:-1]) and all(data for _, data in blocks)
        assert [offset for offset, _ in blocks] == [len(text) - len(expected) + sum(len(d) for _, d in blocks[:i])
                                                    for i in range(len(blocks))]
        assert count_lines(str(folder / name)) == len(_lines(text))


def test_a_gzip_stream_is_read_a_block_at_a_time(tmp_path, monkeypatch):
    """Memory holds a block, not the file: no read of the stream asks for more than a block."""
    text = b"".join(b"%08d\n" % i for i in range(200_000))
    (tmp_path / "f.gz").write_bytes(gzip.compress(text))
    asked = []
    real = gzip.GzipFile.read

    def read(self, size=-1):
        asked.append(size)
        return real(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", read)
    blocks = list(line_blocks(str(tmp_path / "f.gz"), 10, 1000))
    assert b"".join(data for _, data in blocks) == text[90:]
    assert len(blocks) > 100 and 0 < max(asked) <= max(lb.SKIP_BLOCK, 1000 * 9 + lb.SAMPLE)
