"""What a step's expressions and field lists are checked against: its input schema, when known.

`Scope` turns the type checker's problems (`flowc.compiler.typecheck`) into diagnostics at the exact
place inside the expression scalar. Where the schema is unknown (a source without one), only what
needs no schema is checked: unknown functions (E105) and aggregates outside `compute` (E106).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flowc.compiler.spec import Expression, Name
from flowc.compiler.typecheck import AGGREGATES, SPECIAL_FORMS, Problem, check_expression, check_predicate
from flowc.dsl import codes
from flowc.dsl.ast import Binary, Call, Field, NullLit, walk
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.functions import FUNCTIONS
from flowc.dsl.span import Span
from flowc.dsl.types import ListOf, Struct, Type

_HELP_LIMIT = 20  # fields listed in a "fields available here" help
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_PATH = re.compile(r"^(?P<parent>[^.\[]+)[.\[]")  # `user.tier`, `items[0]`: a path into a field


@dataclass
class Scope:
    schema: Struct | None
    found: list[Diagnostic] = field(default_factory=list)

    def report(self, code: str, span: Span | None, help: str | None = None, **args: object) -> None:
        self.found.append(codes.diagnostic(code, span, help=help, **args))

    def value(self, expression: Expression, where: str) -> Type | None:
        """The type of `expression`; None when unknown (no schema, or a problem reported)."""
        if expression.expr is None:
            return None
        self._null_comparisons(expression)
        if self.schema is None:
            self._check_without_schema(expression)
            return None
        typed = check_expression(expression.expr, self.schema, where=where)
        self._report_problems(expression, typed.problems)
        return typed.type

    def predicate(self, expression: Expression, where: str) -> None:
        if expression.expr is None:
            return
        self._null_comparisons(expression)
        if self.schema is None:
            self._check_without_schema(expression)
            return
        typed = check_predicate(expression.expr, self.schema, where=where)
        self._report_problems(expression, typed.problems)

    def field(self, name: Name, where: str) -> Type | None:
        """The type of the top-level field `name`; E104 when the schema is known and lacks it."""
        if self.schema is None:
            return None
        found = self.schema.field(name.name)
        if found is None and self._nested(name, where):
            return None
        if found is None:
            names = [n for n, _ in self.schema.fields]
            self.report("E104", name.span, help=self.available(), name=name.name, where=where,
                        suggestion=codes.did_you_mean(name.name, names))
        return found

    def _nested(self, name: Name, where: str) -> bool:
        """E107 when `name` is a path into a struct field (`user.tier`): a field list names top-level
        fields only, and "unknown field 'user.tier'; did you mean 'user'?" misled (audit 4 F6e)."""
        path = _PATH.match(name.name)
        if path is None or not isinstance(self.schema.field(path["parent"]), Struct | ListOf):  # type: ignore[union-attr]
            return False
        leaf = re.split(r"[.\[\]]", name.name.rstrip("]"))[-1] or path["parent"]
        self.report("E107", name.span, name=name.name, parent=path["parent"], where=where,
                    leaf=leaf if leaf.isidentifier() else "value")
        return True

    def fields(self, names: tuple[Name, ...], where: str) -> None:
        for name in names:
            self.field(name, where)

    def available(self) -> str | None:
        if self.schema is None:
            return None
        names = [n for n, _ in self.schema.fields]
        shown = ", ".join(names[:_HELP_LIMIT]) + (", ..." if len(names) > _HELP_LIMIT else "")
        return f"fields available here: {shown}" if names else "no fields are available here"

    def _report_problems(self, expression: Expression, problems: tuple[Problem, ...]) -> None:
        for problem in problems:
            help = self.available() if problem.code == "E104" and self._top_level_miss(problem) else problem.help
            if problem.code == "E104" and _bare_word(expression, problem):
                # `map: {channel: web}` reads the field `web` (SPEC §5): the likely intent is the text
                quoting = f"""to write the text instead, quote it inside the YAML: '"{problem.args['name']}"'"""
                help = f"{help}; {quoting}" if help else quoting
            self.found.append(codes.diagnostic(problem.code, expression.locate(problem.pos), help=help,
                                               **problem.args))

    def _top_level_miss(self, problem: Problem) -> bool:
        return self.schema is not None and self.schema.field(str(problem.args.get("name"))) is None

    def _null_comparisons(self, expression: Expression) -> None:
        """W201 for `x == null` (SQL's habit): a comparison with the literal null is null for every
        record, which a filter reads as false."""
        assert expression.expr is not None
        for node in walk(expression.expr):
            if isinstance(node, Binary) and node.op in _COMPARISONS and NullLit() in (node.left, node.right):
                instead = {"==": "; use 'is null'", "!=": "; use 'is not null'"}.get(node.op, "")
                self.report("W201", expression.locate(node.pos), op=node.op, instead=instead)

    def _check_without_schema(self, expression: Expression) -> None:
        assert expression.expr is not None
        for node in walk(expression.expr):
            if not isinstance(node, Call):
                continue
            if node.name in AGGREGATES:
                self.report("E106", expression.locate(node.pos),
                            problem=f"aggregate '{node.name}' is only allowed in an aggregate's 'compute'")
            elif node.name not in FUNCTIONS and node.name not in SPECIAL_FORMS:
                self.report("E105", expression.locate(node.pos), name=node.name,
                            suggestion=codes.did_you_mean(node.name, sorted({*FUNCTIONS, *SPECIAL_FORMS})))


def _bare_word(expression: Expression, problem: Problem) -> bool:
    """The whole expression is one unknown plain name that resembles no field (`channel: web`)."""
    where = str(problem.args.get("where", ""))
    return (isinstance(expression.expr, Field) and not problem.args.get("suggestion")
            and expression.text.strip() == problem.args.get("name")
            and not where.startswith(("filter", "validate")))  # a predicate is no text
