"""Hostile spec files: each is refused with its diagnostic within 2 s and 200 MB, never a traceback or
a hang (docs/security.md). Each case is loaded in a child process with its memory capped and its
`load_document` timed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.dsl.codes import CODES
from flowc.dsl.loader import load_text

# docs/security.md promises 2 s of wall time on an idle machine; the probe measures its CPU time, which
# other processes on a loaded machine do not inflate (the loader runs on one thread).
TIME_LIMIT_S = 2.0
GROWTH_LIMIT_MB = 200
HEAD = "version: 1\npipeline: hostile\n"
MIB = 1024 * 1024

# Runs in a child per case: the address space is capped at 200 MB above what the child holds after its
# imports (so going past the bound is a MemoryError, reported as a failure, not a measurement to trust),
# and the load is timed.
PROBE = """
import json, os, resource, sys, time, traceback
from flowc.dsl.loader import load_document

size = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (size + %d * 1024 * 1024, resource.RLIM_INFINITY))
started = time.process_time()
try:
    document, problems = load_document(sys.argv[1])
    report = {"codes": [p.code for p in problems], "loaded": document is not None, "error": None}
except BaseException:
    report = {"codes": [], "loaded": False, "error": traceback.format_exc()}
report["elapsed"] = time.process_time() - started
print(json.dumps(report))
"""


def billion_laughs(path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path.write_text(HEAD + "\n".join(lines) + "\n")


def many_aliases(path: Path) -> None:
    path.write_text(HEAD + "a: &a x\nb: [" + ", ".join(["*a"] * 20_000) + "]\n")


def recursive_alias(path: Path) -> None:
    path.write_text(HEAD + "a: &a [1, *a]\n")


def deep_alias_chain(path: Path) -> None:
    lines = ["a0: &a0 [x]", *(f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 100))]
    path.write_text(HEAD + "\n".join(lines) + "\n")


def huge_file_sparse(path: Path) -> None:
    with path.open("wb") as f:  # 50 MB without writing them: must be refused before it is read
        f.write(HEAD.encode())
        f.truncate(50 * MIB)


def ten_mb_scalar(path: Path) -> None:
    path.write_text(HEAD + "description: " + "x" * (10 * MIB) + "\n")


def two_mib_scalar(path: Path) -> None:
    path.write_text(HEAD + "description: " + "x" * (2 * MIB) + "\n")


def deep_flow_sequences(path: Path) -> None:
    path.write_text(HEAD + "d: " + "[" * 10_000 + "]" * 10_000 + "\n")


def deep_flow_mappings(path: Path) -> None:
    path.write_text(HEAD + "d: " + "{a: " * 10_000 + "x" + "}" * 10_000 + "\n")


def deep_block_sequences(path: Path) -> None:
    path.write_text(HEAD + "d:\n" + "- " * 10_000 + "x\n")


def deep_block_mappings(path: Path) -> None:  # 2,000 levels of indentation is as deep as 4 MiB allows
    path.write_text(HEAD + "".join(" " * i + "a:\n" for i in range(2_000)) + " " * 2_000 + "x\n")


def many_keys(path: Path) -> None:
    path.write_text(HEAD + "settings:\n" + "".join(f"  k{i}: {i}\n" for i in range(100_000)))


def many_flow_keys(path: Path) -> None:
    path.write_text(HEAD + "s: {" + ", ".join(f"k{i}: {i}" for i in range(100_000)) + "}\n")


def many_items(path: Path) -> None:
    path.write_text(HEAD + "l: [" + ",".join(["1"] * 150_000) + "]\n")


def many_documents(path: Path) -> None:
    path.write_text(HEAD + "---\n" * 1_000_000)


def invalid_utf8(path: Path) -> None:
    path.write_bytes(HEAD.encode() + b"description: caf\xe9\xff\n")


def nul_byte(path: Path) -> None:
    path.write_bytes(HEAD.encode() + b"description: a\x00b\n")


def control_characters_everywhere(path: Path) -> None:
    path.write_bytes(HEAD.encode() + b"\x01" * (4 * MIB - 100))


# Files that are large but legitimate: read to the end, within the same bounds.
def four_mib_of_comments(path: Path) -> None:
    path.write_text(HEAD + ("# " + "x" * 77 + "\n") * (4 * MIB // 80 - 1))


def four_mib_of_blank_lines(path: Path) -> None:
    path.write_text(HEAD + "\n" * (4 * MIB - 100) + "end: here\n")


def escape_heavy_scalar(path: Path) -> None:
    path.write_text(HEAD + 'description: "' + "\\t" * 500_000 + '"\n')


def long_multi_line_scalar(path: Path) -> None:
    path.write_text(HEAD + "description: a\n" + "  b c\n" * 250_000)


def big_scalar_aliased_often(path: Path) -> None:
    path.write_text(HEAD + "a: &a '" + "y" * (MIB - 10) + "'\nb: [" + ", ".join(["*a"] * 9_000) + "]\n")


CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "billion-laughs": (billion_laughs, ["E006"]),
    "20k-aliases": (many_aliases, ["E006"]),
    "recursive-alias": (recursive_alias, ["E006"]),
    "100-deep-alias-chain": (deep_alias_chain, ["E007"]),
    "50MB-file": (huge_file_sparse, ["E005"]),
    "10MB-scalar": (ten_mb_scalar, ["E005"]),
    "2MiB-scalar": (two_mib_scalar, ["E008"]),
    "10k-deep-flow-sequences": (deep_flow_sequences, ["E007"]),
    "10k-deep-flow-mappings": (deep_flow_mappings, ["E007"]),
    "10k-deep-block-sequences": (deep_block_sequences, ["E007"]),
    "2k-deep-block-mappings": (deep_block_mappings, ["E007"]),
    "100k-keys": (many_keys, ["E009"]),
    "100k-flow-keys": (many_flow_keys, ["E009"]),
    "150k-items": (many_items, ["E009"]),
    "1M-documents": (many_documents, ["E013"]),
    "invalid-utf8": (invalid_utf8, ["E003"]),
    "nul-byte": (nul_byte, ["E004"]),
    "4MiB-of-control-characters": (control_characters_everywhere, ["E004"]),
    "4MiB-of-comments": (four_mib_of_comments, []),
    "4MiB-of-blank-lines": (four_mib_of_blank_lines, []),
    "500k-escapes": (escape_heavy_scalar, []),
    "250k-line-scalar": (long_multi_line_scalar, []),
    "1MiB-scalar-aliased-9k-times": (big_scalar_aliased_often, []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_refused_quickly_with_its_diagnostic(case: str, tmp_path: Path) -> None:
    make, expected = CASES[case]
    spec = tmp_path / "hostile.flow.yaml"
    make(spec)
    probe = PROBE % GROWTH_LIMIT_MB
    result = subprocess.run([sys.executable, "-c", probe, str(spec)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["error"] is None, report["error"]
    assert report["codes"] == expected
    assert report["loaded"] == (not expected or case == "1M-documents")
    assert report["elapsed"] < TIME_LIMIT_S, f"took {report['elapsed']:.2f} s of CPU"


def test_the_memory_cap_of_the_probe_bites() -> None:
    probe = (PROBE % GROWTH_LIMIT_MB).replace("load_document(sys.argv[1])", "[bytearray(300 << 20)], []")
    result = subprocess.run([sys.executable, "-c", probe, "-"], capture_output=True, text=True, timeout=60)
    assert "MemoryError" in json.loads(result.stdout)["error"]


_TOKENS = [*"ab1 :-[]{},&*!|>'\"#%@`?~\\\t\r\n$", "${", "<<", "---", "é", "\x00", "\n  ", "\\x41", "!!int"]
_YAML_ISH = st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)


@given(st.one_of(_YAML_ISH, st.binary()))
def test_no_input_raises_and_every_problem_is_positioned_in_the_file(given_input: str | bytes) -> None:
    document, problems = load_text(given_input, "fuzz.flow.yaml", env={"A": "1"})
    assert document is not None or problems
    for problem in problems:
        assert problem.code in CODES and problem.span is not None and problem.span.file == "fuzz.flow.yaml"
        if document is not None:
            assert problem.span.line <= len(document.text.splitlines()) + 1
