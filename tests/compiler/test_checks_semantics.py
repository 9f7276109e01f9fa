"""Windows (E305, E308), the dead-letter sink (E304), file formats (E309) and `sql` steps (E307)."""

from __future__ import annotations

import pytest
import spec_helpers
from spec_helpers import at

from flowc.compiler.checks.sql import sql_problems
from flowc.compiler.checks.windows import window_problems
from flowc.compiler.spec import Name, Window

HEAD = """\
version: 1
pipeline: p
sources:
  s: {type: inline, records: [{x: 1, ts: "2026-01-01T00:00:00Z"}], event_time: {field: ts}}
  plain: {type: inline, schema: {x: int, ts: datetime}, records: [{x: 1, ts: "2026-01-01T00:00:00Z"}]}
"""
_UNREAD = {f"'{name}' is not read by any sink" for name in ("s", "plain")}


def found(text: str, **kwargs) -> list[tuple[int, int, str, str]]:
    """What validation finds, but that the source of HEAD a test does not read is not read (W301)."""
    return [f for f in spec_helpers.found(text, **kwargs) if not (f[2] == "W301" and f[3] in _UNREAD)]


def codes_of(text: str, **kwargs) -> list[str]:
    return [code for _, _, code, _ in found(text, **kwargs)]


def _aggregate(source: str, window: str, before: str = "") -> str:
    return HEAD + f"""\
steps:{before}
  - name: agg
    from: {source}
    aggregate: {{by: [x], window: {window}, compute: {{n: count()}}}}
sinks:
  out: {{type: console, from: agg}}
"""


def test_a_window_needs_event_time() -> None:
    text = _aggregate("plain", "{type: tumbling, size: 1m}")
    assert found(text) == [(*at(text, "window: {type: tumbling"), "E305", "'agg' uses a window but its input has no event time")]


def test_window_time_gives_event_time() -> None:
    assert found(_aggregate("plain", "{type: tumbling, size: 1m, time: ts}")) == []


def test_iso_text_in_inline_records_is_text_not_a_window_time() -> None:
    """Inference does not guess dates (inline records as CSV files): the run types them so too."""
    text = _aggregate("plain", "{type: tumbling, size: 1m, time: ts}").replace("schema: {x: int, ts: datetime}, ", "")
    assert codes_of(text) == ["E312"]


def test_event_time_is_lost_when_its_field_is_dropped() -> None:
    text = _aggregate("dropped", "{type: session, gap: 5m}", "\n  - {name: dropped, from: s, drop: [ts]}")
    assert codes_of(text) == ["E305"]


@pytest.mark.parametrize(("window", "problem"), [
    ("{type: sliding, size: 10m, every: 3m}", "sliding window size 10m is not a multiple of every 3m"),
    ("{type: sliding, size: 1d, every: 1s}",
     "sliding window size 1d over every 1s puts each record in 86400 windows; the limit is 1000"),
    ("{type: tumbling, size: 0s}", "window size must be positive, got 0s"),
    ("{type: session, gap: 0ms}", "window gap must be positive, got 0s"),
])
def test_window_parameters(window: str, problem: str) -> None:
    assert [(f[2], f[3]) for f in found(_aggregate("s", window))] == [("E308", problem)]


def test_sliding_window_at_the_limit_is_fine() -> None:
    assert found(_aggregate("s", "{type: sliding, size: 1000s, every: 1s}")) == []


def test_window_time_without_a_field() -> None:
    assert window_problems(Window("tumbling", size=1, time=Name(" "))) == [("time", "window time names no field")]


DEAD = HEAD + """\
steps:
  - {name: own, from: s, filter: x > 0, on_error: dead_letter}
  - {name: agg, from: s, aggregate: {window: {type: tumbling, size: 1m}, compute: {n: count()}}}
sinks:
  a: {type: console, from: own}
  b: {type: console, from: agg}
  c: {type: console, from: agg.errors}
  d: {type: console, from: plain}
"""


def test_dead_letter_sink_required_where_records_would_be_dead_lettered() -> None:
    assert found(DEAD) == [
        (*at(DEAD, "dead_letter}"), "E304",
         "'own' has on_error dead_letter and nothing reads 'own.errors'; add settings.dead_letter"),
        (*at(DEAD, "agg", 1), "E304",
         "reading 'agg.errors' makes dead_letter its policy, and nothing reads 'agg.late'; add settings.dead_letter"),
    ]


def test_inherited_dead_letter_policy_is_reported_once_at_the_setting() -> None:
    text = DEAD.replace("sources:", "settings: {on_error: dead_letter}\nsources:")
    e304 = [f for f in found(text) if f[2] == "E304"]
    assert e304[0] == (*at(text, "dead_letter}"), "E304", "settings.on_error is dead_letter and nothing reads "
                        "'s.errors', 'plain.errors'; add settings.dead_letter")
    assert len(e304) == 3


def test_a_dead_letter_sink_satisfies_everything() -> None:
    text = DEAD.replace("sources:", "settings: {on_error: dead_letter, dead_letter: {type: console}}\nsources:")
    assert found(text) == []


def test_late_records_without_dead_letter_policy_are_dropped_not_an_error() -> None:
    # SPEC §4: unread late records go to the dead-letter sink when one exists, else are dropped and counted.
    assert found(_aggregate("s", "{type: tumbling, size: 1m}")) == []


FILES = """\
version: 1
pipeline: p
sources:
  a: {type: file, path: data/a.dat, schema: {x: int}}
  b: {type: file, path: data/b.dat, format: csv, schema: {x: int}}
  c: {type: file, path: 'data/*.jsonl.gz', schema: {x: int}}
steps:
  - {from: a, enrich: {table: {type: file, path: t.tbl}, on: x, fields: [y]}}
sinks:
  out: {type: file, path: out/x}
  b2: {type: file, from: b, path: out/b.parquet}
  c2: {type: file, from: c, path: out/c.bin}
"""


def test_formats_must_be_told() -> None:
    assert found(FILES) == [
        (*at(FILES, "data/a.dat"), "E309", "format of 'data/a.dat' cannot be told from its extension; set 'format'"),
        (*at(FILES, "t.tbl"), "E309", "format of 't.tbl' cannot be told from its extension; set 'format'"),
        (*at(FILES, "out/x"), "E309", "format of 'out/x' cannot be told from its extension; set 'format'"),
        (*at(FILES, "out/c.bin"), "E309", "format of 'out/c.bin' cannot be told from its extension; set 'format'"),
    ]


@pytest.mark.parametrize("query", [
    "SELECT x, x + 1 AS y FROM input WHERE x > 1",
    "SELECT upper(name) AS n, CASE WHEN x > 1 THEN 'a' ELSE 'b' END AS k FROM input",
    "SELECT * FROM input",
])
def test_row_wise_sql_is_fine(query: str) -> None:
    assert sql_problems(query) == []


@pytest.mark.parametrize(("query", "needle", "problem"), [
    ("SELECT count(*) FROM input", "count", "aggregate 'count' in a sql step; use an aggregate step"),
    ("SELECT x FROM input GROUP BY x", "GROUP BY", "GROUP BY in a sql step; use an aggregate step"),
    ("SELECT x FROM input ORDER BY x", "ORDER BY", "ORDER BY in a sql step; a sql step is row-wise, so its "
                                                   "result would change with the batch size"),
    ("SELECT x FROM input LIMIT 3", "LIMIT", "LIMIT in a sql step; a sql step is row-wise, so its result "
                                            "would change with the batch size"),
    ("SELECT DISTINCT x FROM input", "DISTINCT", "DISTINCT in a sql step; a sql step is row-wise, so its "
                                                 "result would change with the batch size"),
    ("SELECT row_number() OVER () FROM input", "row_number", "window function in a sql step; a sql step is "
                                                             "row-wise, so its result would change with the batch size"),
    ("SELECT * FROM input JOIN t ON input.a = t.a", "JOIN", "a join in a sql step; use an enrich step"),
    ("SELECT * FROM other", "other", "a sql step reads only 'input', not 'other'"),
    ("SELECT * FROM read_csv('x.csv')", "read_csv", "table function 'read_csv' in a sql step; read data with a "
                                                    "source"),
    ("SELECT * FROM read_parquet('x')", "read_parquet", "table function 'read_parquet' in a sql step; read "
                                                        "data with a source"),
    ("SELECT * FROM input UNION SELECT * FROM input", "SELECT", "UNION in a sql step; use a union step"),
    ("DROP TABLE input", "DROP", "a sql step is one SELECT query, got DROP"),
    ("SELECT 1", "SELECT", "a sql step reads FROM input"),
    ("SELECT x FROM input; SELECT x FROM input", "SELECT", "a sql step is one SELECT query, got 2 statements"),
    ("SELECT FROM", "FROM", "invalid SQL: expected table name"),
])
def test_sql_that_is_not_row_wise(query: str, needle: str, problem: str) -> None:
    problems = sql_problems(query)
    assert problems[0][1] == problem
    assert problems[0][0].start == query.index(needle)


def test_subqueries_are_refused() -> None:
    problems = [p for _, p in sql_problems("SELECT * FROM input WHERE x IN (SELECT x FROM input)")]
    assert problems == ["subquery in a sql step; a sql step is row-wise, so its result would change with the "
                        "batch size"]


def test_sql_diagnostic_points_inside_the_scalar() -> None:
    text = HEAD + "steps:\n  - {from: s, sql: SELECT x FROM input ORDER BY x}\nsinks:\n  o: {type: console}\n"
    assert found(text) == [(*at(text, "ORDER"), "E307", "ORDER BY in a sql step; a sql step is row-wise, so its "
                                                         "result would change with the batch size")]


def test_sql_in_a_block_scalar() -> None:
    text = HEAD + "steps:\n  - from: s\n    sql: |\n      SELECT x\n      FROM other\nsinks:\n  o: {type: console}\n"
    assert found(text) == [(*at(text, "other"), "E307", "a sql step reads only 'input', not 'other'")]


def test_messages_show_paths_as_written_never_substituted(tmp_path) -> None:
    from flowc.compiler.validate import validate_path

    spec = tmp_path / "p.flow.yaml"
    spec.write_text("version: 1\npipeline: p\nsources:\n  a: {type: file, path: 'data/${TOKEN}.dat', schema: {x: int}}\n"
                    "sinks:\n  o: {type: console}\n")
    _, diagnostics = validate_path(str(spec), env={"TOKEN": "s3cr3t"})
    assert [d.message for d in diagnostics] == [
        "format of 'data/${TOKEN}.dat' cannot be told from its extension; set 'format'"]


def test_sql_tokenizer_errors_do_not_quote_the_query() -> None:
    assert sql_problems("SELECT 'secret FROM input")[0][1] == (
        "invalid SQL: the query has an unterminated string or an unknown character")


@pytest.mark.parametrize(("query", "token", "problem"), [
    ("SELECT zz FROM input", "zz", "unknown column 'zz' in the query"),
    ("SELECT x + ts AS y FROM input", "SELECT", "+ not allowed on i64 and datetime"),
    ("SELECT x, x FROM input", "SELECT", "projections contained duplicate output name 'x'"),
])
def test_a_query_polars_refuses_on_the_known_schema_is_e307_at_validation(query: str, token: str, problem: str,
                                                                          ) -> None:
    """Validation runs the query on an empty frame of the input's schema; a refusal failed the run
    with Polars' error before (second acceptance audit). An unknown column is reported at its name."""
    text = HEAD + f"steps:\n  - {{from: s, sql: \"{query}\"}}\nsinks:\n  o: {{type: console}}\n"
    (finding,) = found(text)
    assert finding[:3] == (*at(text, token), "E307")
    assert finding[3].startswith(f"the query cannot run on its input: {problem}")
    assert "possible" not in finding[3] and "alias" not in finding[3]  # Polars' Python hint (audit 4 F8)
