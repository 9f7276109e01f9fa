"""The registry of diagnostic codes: one entry per code, its wording next to it.

Ranges: E0xx loading (files, YAML, environment), E1xx names and fields, E2xx expression syntax
(E200-E219) and types (E220-E259), E3xx graph shape and semantics, E4xx structure (the JSON Schema),
Wxxx warnings, Nxxx notes (never failing `--strict`). Codes are stable: never reuse a retired one.
`docs/diagnostics.md` is generated from this table (`python -m flowc.dsl.codes`), with each code's
example taken from `tests/diagnostics/<code>*.flow.yaml`; tests check that every code has such an
example and that the doc is current.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowc.dsl.diagnostics import Diagnostic, Severity
from flowc.dsl.span import Span


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    template: str  # str.format template of the message: lower-case start, no final period
    why: str  # one or two sentences for the docs: why this is a problem and how to fix it


def _e(code: str, template: str, why: str) -> Code:
    return Code(code, Severity.ERROR, template, why)


def _w(code: str, template: str, why: str) -> Code:
    return Code(code, Severity.WARNING, template, why)


def _n(code: str, template: str, why: str) -> Code:
    return Code(code, Severity.NOTE, template, why)


_ALL = (
    # --- E0xx: reading the file ---
    _e("E001", "cannot read '{path}': {reason}", "The spec file does not exist, is a folder, or cannot be opened."),
    _e("E002", "invalid YAML: {problem}", "The file is not well-formed YAML 1.2."),
    _e("E003", "file is not valid UTF-8: byte {byte} at offset {offset}",
       "Specs are UTF-8 text (a UTF-8 byte order mark is allowed); re-save the file as UTF-8."),
    _e("E004", "file contains {what} ({codepoint})",
       "NUL, control characters, invisible line separators and bidirectional-text controls are refused: "
       "they make the file read differently from how it looks."),
    _e("E005", "file is {size} bytes; the limit is {limit}",
       "Specs are small; a larger file is refused before it is read."),
    _e("E006", "{problem}",
       "YAML anchors and aliases are limited so that a small file cannot expand into a huge document, "
       "and an alias cannot contain itself."),
    _e("E007", "nesting deeper than {limit} levels", "Deeply nested YAML is refused to keep validation bounded."),
    _e("E008", "scalar of {size} characters; the limit is {limit}", "A single value this long is refused."),
    _e("E009", "more than {limit} YAML nodes", "A document this large is refused to keep validation bounded."),
    _e("E010", "environment variable '{name}' is not set and has no default",
       "Set the variable, or give a default with `${{NAME:-default}}`."),
    _e("E011", "malformed variable reference: {problem}",
       "Variable references are `${{NAME}}` or `${{NAME:-default}}`, NAME a letter or `_` then letters, digits "
       "or `_`; write `$${{` for a literal `${{`."),
    _e("E012", "duplicate key '{key}' (first defined on line {first_line})",
       "A mapping may define each key once; YAML would silently keep only one of them."),
    _e("E013", "{problem}",
       "A spec file holds exactly one YAML document whose top level is a mapping, and mapping keys are strings."),
    _e("E014", "merge keys ('<<') are not supported; write the keys out, or share values with '&anchor' and '*alias'",
       "YAML 1.2 has no merge keys; flowc refuses `<<` rather than read it as an ordinary key."),
    _e("E015", "{problem}", "Explicit tags are limited to the YAML 1.2 core schema's, and the value must fit the tag."),
    _e("E016", "integer of {size} characters is too long (the limit is {limit} decimal digits)",
       "An integer this long cannot be read or printed; quote it if it is meant as text."),
    _e("E017", "escape '{escape}' writes {what} ({codepoint}) into the value",
       "Control characters, line separators and bidirectional-text controls are refused in values too, so that "
       "nothing flowc prints can be made to look different from what it is."),
    # --- E1xx: names and fields ---
    _e("E101", "unknown {what} '{name}'{suggestion}",
       "`from:` and `union:` name a source, an earlier step, or a side output such as `step.errors`; a test's "
       "`inputs` name sources and its `expect` names sinks or side outputs."),
    _e("E102", "duplicate name '{name}' (also used on line {other_line})",
       "Sources, steps and sinks share one namespace; every name must be unique. With `settings.dead_letter` "
       "set, no sink may be named `dead_letter`: that is the dead-letter sink's name in the run's counts, "
       "the checkpoint and a test's `expect`. The tests of `tests:` have a namespace of their own (a test may "
       "share a name with a sink), and each test's name must be unique in it: `flowc test` reports tests, and "
       "`-k` selects them, by name."),
    _e("E103", "unknown side output '{name}'; side outputs are '.errors' and '.late'",
       "A step has the side outputs `<step>.errors` and `<step>.late`; a source has `<source>.errors`."),
    _e("E104", "unknown field '{name}' in {where}{suggestion}",
       "The field is not in the schema of the step's input. Check the spelling or the upstream steps."),
    _e("E105", "unknown function '{name}'{suggestion}", "The function is not in flowc's function library."),
    _e("E107", "'{name}' is a path into the field '{parent}', but {where} names top-level fields; copy it out first "
               "with `map: {{{leaf}: {name}}}`",
       "Field lists (`select: [..]`, `drop`, `rename`, `explode`, aggregate `by`, `dedupe` keys, enrich `on`, "
       "event time fields) take the names of top-level fields; a nested path like `user.tier` is an expression. "
       "Copy the value into a top-level field with `map` first (or use `select: {tier: user.tier}`)."),
    _e("E106", "{problem}",
       "Aggregate functions (`count`, `sum`, ...) are only allowed at the top of an `aggregate` compute entry."),
    # --- E2xx: expressions ---
    _e("E201", "unexpected end of expression; expected {expected}",
       "The expression stops before it is complete, for example after an operator."),
    _e("E202", "unexpected {token} in expression; expected {expected}",
       "The expression has a token where it cannot be, for example two operands without an operator between them."),
    _e("E203", "unterminated string", "A string literal is missing its closing quote."),
    _e("E204", "unknown escape sequence '{escape}' in string; the escapes are \\n \\t \\\\ \\\" and \\'",
       "Strings support the escapes \\n \\t \\\\ \\\" and \\'; write a backslash as \\\\."),
    _e("E205", "unclosed '{bracket}'; expected a matching '{closer}'",
       "An opening bracket (or `case`) has no matching closing bracket (or `end`)."),
    _e("E206", "comparison operators cannot be chained; use 'and'",
       "`a < b < c` is ambiguous; write `a < b and b < c`."),
    _e("E207", "expression is too deeply nested (more than {limit} levels)",
       "Deeply nested expressions are refused so that checking them stays bounded."),
    _e("E208", "expression is too long ({size} characters; the limit is {limit})",
       "Very long expressions are refused so that checking them stays bounded."),
    _e("E209", "{what} '{text}' is out of range",
       "Integers and durations (in microseconds) are 64-bit; floats must be finite."),
    _e("E210", "unexpected character '{char}' in expression{hint}", "The character cannot start any token."),
    _e("E211", "empty expression", "An expression is required here."),
    _e("E212", "'if' takes 3 arguments (condition, then, else), got {got}",
       "`if(cond, then, else)` picks `then` where `cond` is true, else `else`; for more branches use `case`."),
    _e("E213", "unterminated back-quoted name",
       "A field name written in back-quotes is missing its closing back-quote; a back-quote inside is doubled."),
    _e("E220", "operator '{op}' cannot apply to {left} and {right}",
       "The operand types do not fit the operator, for example comparing a string with a number."),
    _e("E221", "'{name}' takes {expected} argument{plural}, got {got}", "A function was called with the wrong number of arguments."),
    _e("E222", "bad argument to '{name}': {problem}",
       "A function argument has a type the function does not accept."),
    _e("E223", "invalid regular expression: {problem}",
       "Regexes use the syntax common to RE2 and Rust's regex: no look-around, no back-references."),
    _e("E224", "{where} must be a bool expression, got {got}", "Filters, `validate` rules and conditions need a bool."),
    _e("E225", "invalid argument to '{name}': {problem}", "An argument that must be a constant has an invalid value."),
    _e("E226", "{problem}", "The branches of an `if` or `case`, or the elements of a list, must share a type."),
    _e("E227", "argument {index} of '{name}' must be a constant {what}",
       "Some arguments (a regex, a format, a unit) are read when the pipeline is compiled, so they must be "
       "literals."),
    _e("E228", "operator '{op}' cannot apply to {operand}",
       "Unary minus applies to numbers and durations; `not` is covered by E224."),
    _e("E229", "cannot read field '{name}' of {got}; only structs have fields",
       "`a.b` reads field `b` of the struct `a`; `a` here is not a struct."),
    _e("E230", "cannot index {got} with {index}; only a list takes an index, and it must be an int",
       "`items[i]` reads element `i` (from 0, negative from the end) of the list `items`."),
    # --- E3xx: graph shape and semantics ---
    _e("E301", "cycle in the pipeline graph: {cycle}", "Steps and sinks must form a directed acyclic graph."),
    _e("E302", "cannot tell which input '{name}' reads; add 'from:'",
       "With several sources, the first step (or a sink after no steps) must say `from:`."),
    _e("E303", "'{name}' aggregates without a window over the unbounded source '{source}'",
       "A global aggregate over an unbounded input never ends; add a `window:`."),
    _e("E304", "{problem}; add settings.dead_letter",
       "When records can be dead-lettered and nothing reads the side output, a `dead_letter` sink is required."),
    _e("E305", "'{name}' uses a window but its input has no event time",
       "Windows need event time: declare `event_time` on the source or `window.time`."),
    _e("E306", "{problem}", "Every input of a `union` must have compatible field types."),
    _e("E307", "{problem}",
       "A `sql` step is a row-wise query over `input`; aggregates, ordering, joins and table functions would "
       "change meaning with the batch size or reach outside the pipeline."),
    _e("E308", "{problem}", "The window parameters are inconsistent."),
    _e("E309", "format of '{path}' cannot be told from its extension; set 'format'",
       "The file format defaults from the extension (.csv, .jsonl, .json, .parquet, .txt, optionally .gz)."),
    _e("E310", "{problem}",
       "Each step's keys must fit its operator, and no two outputs of a step may share a name: a field "
       "listed twice in `select`, an explode `as` or `index` naming a field the input already has (or the "
       "list field, for `index`), a `map` target that replaces an earlier one's value, a `select` target "
       "with another target inside it, an aggregate computing a field its output already has (a `by` "
       "field, `window_start`, `window_end`), or a windowed aggregate grouping by a field named "
       "`window_start` or `window_end` would fail the run or silently lose a value."),
    _e("E311", "'{name}.late' does not exist: only a windowed aggregate has a '.late' output, and '{name}' is not one",
       "Late records exist only where a window decides lateness; read `<step>.errors` for record errors."),
    _e("E312", "{where} '{name}' is {got}; event time must be a datetime",
       "Windows and watermarks are computed on a datetime field; convert it with `parse_timestamp` first."),
    _e("E313", "'{name}' is {got}; explode needs a list field",
       "`explode` makes one record per element of a list field."),
    _e("E314", "enrich key '{left}' is {left_type} but '{right}' in table '{path}' is {right_type}; "
               "convert one of them so that they can match",
       "An `enrich` key must have comparable types on both sides (int and float compare by value); a string "
       "never equals an int. Convert the input's key with a `map` before the `enrich`, or declare the table's "
       "`schema`. The table's types are known from its `schema`, or with `flowc validate --with-data`."),
    _e("E315", "compression '{compression}'{origin} is not available for {format} in sink '{name}'; {fix}",
       "A file sink's compression must fit its format: jsonl, json and csv files take `gzip`; parquet files "
       "take `zstd` or `snappy` (Parquet compresses inside the file). A path ending in `.gz` implies "
       "`compression: gzip`; an explicit `compression` wins over it."),
    _e("E316", "sink '{name}' cannot write format '{format}' (from the extension of '{path}'); "
               "set 'format' to one of 'jsonl', 'json', 'csv', 'parquet'",
       "File sinks write jsonl, json, csv or parquet; an extension such as `.txt` names a format flowc reads "
       "but does not write."),
    _e("E317", "{reason} in source '{name}'",
       "A CSV source's `options.encoding` names the text encoding its files are in (default `utf8`); flowc "
       "decodes other encodings to UTF-8 as it reads. The name is one Python's codecs know (`latin-1`, "
       "`cp1252`, `shift_jis`, ...), and the encoding must write ASCII text as ASCII bytes, since lines and "
       "fields are split on them (UTF-16 and UTF-32 do not)."),
    _e("E318", "watched source '{name}' {problem}",
       "A source with `watch: true` reads its files as they grow, up to their last complete line, so its "
       "files must be lines: csv, jsonl or text, uncompressed. A JSON array or a Parquet file is whole only "
       "once written; read such files without `watch`."),
    _e("E319", "sink '{name}' writes {what}, a file of sink '{other}' (line {other_line}); give each file sink "
               "its own path",
       "Each file sink writes its files exactly once and, on resume, cuts them back to what it checkpointed: "
       "two sinks (the `dead_letter` sink too) writing one file would interleave their records, and a resume "
       "of one would cut off the other's. Paths that name one file (`out/a.jsonl`, `./out/a.jsonl`) and a "
       "rotated sink's numbered files (`out/a.000001.jsonl`) count."),
    _e("E320", "source '{name}' names Kafka group_id '{group}', as source '{other}' (line {other_line}) does; "
               "give each Kafka source its own group_id",
       "One process cannot be two members of one consumer group: kafka-python rejoins a group only while "
       "its consumer is polled, and the feeds are polled in turn, so one source's join would wait for the "
       "other's until the broker's rebalance timeout. Sources without `group_id` each get their own "
       "(`flowc-<pipeline>-<source>` when there are several); several `flowc run` processes may share one."),
    _e("E321", "step '{name}' reads '{input}', a step written after it; a step reads a source or an earlier step",
       "SPEC §2: `from:` (and each input a `union` lists) names a source or an earlier step, so a pipeline reads "
       "top to bottom as it runs. Move the step that is read above its reader. A cycle is E301 instead."),
    # --- E4xx: structure (the JSON Schema) ---
    _e("E401", "unknown key '{key}' in {where}{suggestion}",
       "The key is not part of the language here; a misspelled key would otherwise be silently ignored."),
    _e("E402", "missing required key '{key}' in {where}", "This key is required."),
    _e("E403", "{where} must be {expected}, got {got}", "The value has the wrong type."),
    _e("E404", "invalid value {value} for {where}; {expected}{suggestion}", "The value is not one of those allowed."),
    _e("E405", "invalid duration {value} for {where}; write e.g. 250ms, 30s, 5m, 1h, 1d",
       "Durations are an integer and one unit: ms, s, m, h or d."),
    _e("E406", "invalid size {value} for {where}; write e.g. 512KB, 100MB, 1GB",
       "Sizes are an integer and one unit: B, KB, MB or GB (powers of 1000), or a plain number of bytes."),
    _e("E407", "{where} needs exactly one operator, got {got}",
       "A step is a mapping with one operator key plus optional `name`, `from`, `on_error`."),
    _e("E408", "unsupported version {value}; this flowc reads version 1", "Only `version: 1` exists."),
    _e("E409", "unknown type {value} for {where}; types are int, float, bool, string, datetime, date, "
               "duration, list<T> and nested mappings", "Schema types name one of the language's types."),
    _e("E410", "invalid {what} '{name}'; names match {pattern}",
       "Pipeline, source, step and sink names are lower-case letters, digits, `_` and `-`, starting with a "
       "letter, so that `from:` and side outputs such as `step.errors` can name them."),
    _e("E411", "{where} needs one of {keys}", "One of these keys is required; they are alternatives."),
    _e("E412", "{where} gives {keys}; keep only one", "These keys are alternatives; keep one of them."),
    _e("E413", "{where} must not be empty", "An empty value here would mean nothing; give at least one entry."),
    _e("E414", "{where} needs at least {limit} {unit}", "The value has fewer entries than it needs."),
    # --- warnings ---
    _w("W201", "'{op}' with null is null for every record, never true{instead}",
       "Null propagates through comparisons (SPEC §5): `x == null` and `x != null` are null whatever `x` is, "
       "so a filter drops every record and a validate rule rejects every one. Test for null with `is null` "
       "and `is not null`."),
    _w("W301", "'{name}' is not read by any sink",
       "A step whose output no sink reads does nothing; remove it or read it. A source that no step or sink "
       "reads (its records or its `.errors`) is reported the same way, unless an unknown input (E101), a cycle "
       "(E301) or an input that cannot be inferred (E302) may be where it was meant to be read. `--strict` "
       "makes this an error."),
    _w("W302", "stateful step '{name}' reads a Kafka source: state is kept per process and a partition "
               "moved by a rebalance starts with empty state",
       "With several processes in one consumer group, keyed state is only right while partitions stay put."),
    _w("W303", "sink '{name}' writes one {format} file from '{source}', which never ends: the file appears "
               "only when the run completes; add `rotate`",
       "A json or parquet file is written under a temporary name and renamed when it is complete (SPEC §7): "
       "without `rotate`, a sink fed by an unbounded source (kafka, http, `watch: true`, an endless "
       "`generate`) completes its file only at the end of a run that never ends. With `rotate`, each full "
       "file appears as it completes; jsonl and csv files grow batch by batch."),
    _w("W304", "{what} reads {format} files: its options ({keys}) apply to csv only and are ignored",
       "A file's `options` (`delimiter`, `header`, `quote`, `null_values`, `encoding`) say how CSV text is "
       "read (SPEC §3); JSON lines, JSON, Parquet and text files are read the same whatever they say. They "
       "were ignored without a word, which hid a wrong `format:` or a path whose extension tells another "
       "format than the one meant."),
    _n("N301", "fields of source '{name}' are not checked: {reason}",
       "Without a schema, field names and types are only known once data is read; `flowc validate "
       "--with-data` samples local files, and a declared `schema:` makes every check possible. An `inline` "
       "source with no records (`records: []`, a placeholder that the spec's `tests` fill, SPEC §8) and no "
       "`schema` tells no field either: its fields are unknown, not absent, so they are not checked (they "
       "were E104 before, and `flowc test` refused to run the spec); `flowc run` checks them against the "
       "run's empty schema."),
)

CODES: dict[str, Code] = {c.code: c for c in _ALL}
assert len(CODES) == len(_ALL), "duplicate diagnostic code"


def diagnostic(
    code: str,
    span: Span | None,
    *,
    help: str | None = None,
    notes: tuple[str, ...] = (),
    **args: object,
) -> Diagnostic:
    """Build the diagnostic `code` at `span`, its message filled from the code's template."""
    entry = CODES[code]
    return Diagnostic(code, entry.severity, entry.template.format(**args), span, help, notes)


def did_you_mean(name: str, candidates: object) -> str:
    """`"; did you mean 'x'?"` for the closest candidate, or `""` when nothing is close."""
    meant = closest(name, candidates)
    return f"; did you mean '{meant}'?" if meant is not None else ""


def closest(name: str, candidates: object) -> str | None:
    """The candidate `name` is most likely a misspelling of, or None when nothing is close."""
    import difflib

    names = [str(c) for c in candidates]
    matches = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    # difflib's ratio misses one typo in a short name (`_m` for `_n`, `ix` for `id`)
    matches = matches or [c for c in names if len(name) >= 2 and len(c) == len(name)
                          and sum(a != b for a, b in zip(c, name, strict=True)) == 1]
    return matches[0] if matches else None
