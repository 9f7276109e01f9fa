"""What a `sql` step may not say (SPEC §4), found with sqlglot's parser and tokenizer.

Anything whose result would change with the batch size (aggregates, GROUP BY, ORDER BY, LIMIT
or FETCH, DISTINCT, window functions, joins, subqueries, set operations) and anything that reads outside the
pipeline (other tables, table functions such as `read_csv`) is E307, at the offending text inside the
query when sqlglot knows where it is, else at the query.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer, TokenType

from flowc.dsl.span import TextRange

INPUT_TABLE = "input"
_ROW_WISE = "a sql step is row-wise, so its result would change with the batch size"
# Clauses sqlglot leaves without a position: found by their keyword token instead.
_CLAUSES: tuple[tuple[type[exp.Expression], str, tuple[TokenType, ...], str], ...] = (
    (exp.Group, "GROUP BY", (TokenType.GROUP_BY,), "use an aggregate step"),
    (exp.Having, "HAVING", (TokenType.HAVING,), "use an aggregate step"),
    (exp.Order, "ORDER BY", (TokenType.ORDER_BY,), _ROW_WISE),
    (exp.Limit, "LIMIT", (TokenType.LIMIT,), _ROW_WISE),
    (exp.Fetch, "FETCH", (TokenType.FETCH,), _ROW_WISE),  # `FETCH FIRST n ROWS ONLY`: standard SQL's LIMIT
    (exp.Offset, "OFFSET", (TokenType.OFFSET,), _ROW_WISE),
    (exp.Distinct, "DISTINCT", (TokenType.DISTINCT,), _ROW_WISE),
    (exp.Join, "a join", (TokenType.JOIN, TokenType.COMMA), "use an enrich step"),
    (exp.With, "WITH", (TokenType.WITH,), "write one SELECT over 'input'"),
)
# Aggregates of Polars SQL that sqlglot does not know as aggregates (it parses them as plain calls):
# each collapses the batch into one row, so its result would change with the batch size.
_POLARS_AGGREGATES = frozenset({"covar", "listagg", "quantile_cont", "quantile_disc", "total", "var"})
# Window functions written without OVER: Polars numbers or ranks the rows of the batch (row_number()
# gave 1, 1 at batch_size 1 and 1, 2 at 100000), so they are as batch-dependent as with OVER.
_WINDOW_FUNCTIONS = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile, exp.Lag,
                     exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue)


def sql_problems(query: str) -> list[tuple[TextRange, str]]:
    """(where in the query, problem) for everything a `sql` step may not say."""
    whole = TextRange(0, len(query))
    try:
        statements = [s for s in sqlglot.parse(query) if s is not None]
        tokens = Tokenizer().tokenize(query)
    except (ParseError, TokenError) as err:
        return [_parse_error(query, err)]
    if len(statements) != 1:
        return [(whole, f"a sql step is one SELECT query, got {len(statements)} statements")]
    tree = statements[0]
    if isinstance(tree, exp.SetOperation):
        return [(whole, f"{tree.key.upper()} in a sql step; use a union step")]
    if not isinstance(tree, exp.Select):
        return [(whole, f"a sql step is one SELECT query, got {tree.key.upper()}")]
    problems = _clause_problems(tree, tokens) + _node_problems(tree)
    if tree.args.get("from") is None and not any(isinstance(n, exp.Table) for n in tree.walk()):
        problems.append((whole, f"a sql step reads FROM {INPUT_TABLE}"))
    return problems


def column_after(query: str, name: str) -> str | None:
    """The name the input's column `name` has in the query's output, or None when it has none: `*`
    keeps it (`* RENAME (t AS ts)` renames it, `* EXCLUDE (t)` drops it), and so does a column named
    `name` in the select list (`t`, `input.t`, `x AS t`). So an event-time field travels through a
    `sql` step as through `select` and `rename` (`t AS ts` in the list is a new field, as `select: {ts:
    t}` is; the window checks the type of what arrives). A query that does not parse keeps it (E307)."""
    try:
        tree = sqlglot.parse_one(query)
    except (ParseError, TokenError):
        return name
    if not isinstance(tree, exp.Select):
        return name
    for column in tree.expressions:
        star = column if isinstance(column, exp.Star) else column.this if isinstance(column, exp.Column) else None
        if isinstance(star, exp.Star):
            after = _through_star(star, name)
            if after is not None:
                return after
        elif column.alias_or_name == name:
            return name
    return None


def rows_query(query: str, column: str) -> str | None:
    """`query` with its select list replaced by the input's column `column`, or None when the query
    cannot be cut so: the FROM and WHERE stay as written, so the result names the input rows the query
    keeps, in order (a row-wise query keeps or drops each row alone)."""
    try:
        tokens = Tokenizer().tokenize(query)
    except TokenError:
        return None
    select = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.SELECT), None)
    if select is None:
        return None
    depth = 0
    for token in tokens[select + 1:]:
        depth += (token.token_type == TokenType.L_PAREN) - (token.token_type == TokenType.R_PAREN)
        if depth == 0 and token.token_type == TokenType.FROM:  # not `EXTRACT(YEAR FROM ts)`
            return f'{query[:tokens[select].end + 1]} "{column}" {query[token.start:]}'
    return None


def _through_star(star: exp.Star, name: str) -> str | None:
    """What `*` with its EXCLUDE / RENAME modifiers (Polars SQL has both) makes of the column `name`."""
    for renamed in star.args.get("rename") or ():
        if renamed.this.name == name:
            return renamed.alias
    excluded = star.args.get("except_") or star.args.get("except") or ()
    return None if any(column.name == name for column in excluded) else name


def _clause_problems(tree: exp.Select, tokens: list) -> list[tuple[TextRange, str]]:
    problems = []
    for kind, label, token_types, fix in _CLAUSES:
        if tree.find(kind) is not None:
            token = next((t for t in tokens if t.token_type in token_types), None)
            pos = TextRange(token.start, token.end + 1) if token is not None else TextRange(0, 0)
            problems.append((pos, f"{label} in a sql step; {fix}"))
    return problems


def _node_problems(tree: exp.Select) -> list[tuple[TextRange, str]]:
    problems = []
    for node in tree.walk():
        if isinstance(node, exp.Window):
            problems.append((_position(node), f"window function in a sql step; {_ROW_WISE}"))
        elif isinstance(node, _WINDOW_FUNCTIONS) and not isinstance(node.parent, exp.Window):
            problems.append((_position(node), f"window function '{node.sql_name().lower()}' in a sql step; {_ROW_WISE}"))
        elif isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Window):
            problems.append((_position(node), f"aggregate '{node.sql_name().lower()}' in a sql step; "
                                              "use an aggregate step"))
        elif isinstance(node, exp.Anonymous) and node.name.lower() in _POLARS_AGGREGATES:
            problems.append((_position(node), f"aggregate '{node.name.lower()}' in a sql step; use an aggregate step"))
        elif isinstance(node, exp.Subquery) or (isinstance(node, exp.Select) and node is not tree):
            if not isinstance(node.parent, exp.Subquery):
                problems.append((_position(node), f"subquery in a sql step; {_ROW_WISE}"))
        elif isinstance(node, exp.Table):
            problems.extend(_table_problems(node))
    return problems


def _table_problems(table: exp.Table) -> list[tuple[TextRange, str]]:
    if isinstance(table.this, exp.Func):
        name = table.this.sql_name().lower() if not isinstance(table.this, exp.Anonymous) else table.this.name
        return [(_position(table), f"table function '{name.lower()}' in a sql step; read data with a source")]
    if table.name.lower() != INPUT_TABLE or table.args.get("db") is not None:
        return [(_position(table), f"a sql step reads only '{INPUT_TABLE}', not '{table.sql()}'")]
    return []


def _position(node: exp.Expression) -> TextRange:
    """The first position sqlglot recorded in `node` or below it."""
    for sub in node.walk():
        meta = sub.meta if hasattr(sub, "meta") else {}
        if "start" in meta and "end" in meta:
            return TextRange(meta["start"], meta["end"] + 1)
    return TextRange(0, 0)


def _parse_error(query: str, err: ParseError | TokenError) -> tuple[TextRange, str]:
    details = err.errors[0] if isinstance(err, ParseError) and err.errors else {}
    description = _describe(str(details.get("description") or err).split("\n")[0])
    line, col = details.get("line"), details.get("col")
    if not isinstance(line, int) or not isinstance(col, int):
        return TextRange(0, len(query)), f"invalid SQL: {description}"
    lines = query.split("\n")
    end = sum(len(text) + 1 for text in lines[: line - 1]) + col
    start = max(end - len(details.get("highlight") or " "), 0)
    start, end = min(start, len(query)), min(max(end, start), len(query))
    return TextRange(start, end), f"invalid SQL: {description}"


def _describe(text: str) -> str:
    """sqlglot's error text without its internals (token and class reprs), in lower case."""
    text = re.sub(r"\s*but got <Token[^>]*>", "", text)
    if "<class" in text:
        return "the query is incomplete"
    if text.startswith("Error tokenizing"):
        return "the query has an unterminated string or an unknown character"  # sqlglot quotes the query
    return text[:1].lower() + text[1:]
