"""A float literal's equality tells 0.0 from -0.0 (Python's == does not): the lowering cache and the
common sub-expression rule key on expressions, so equal literals must be the same value."""

from __future__ import annotations

from flowc.dsl import ast


def test_signed_zeros_are_different_literals() -> None:
    zero, minus_zero = ast.FloatLit(value=0.0), ast.FloatLit(value=-0.0)
    assert zero != minus_zero
    assert len({zero, minus_zero}) == 2
    assert ast.Binary(op="*", left=minus_zero, right=ast.Field(name="x")) != ast.Binary(
        op="*", left=zero, right=ast.Field(name="x"))


def test_equal_floats_are_equal_literals_whatever_their_positions() -> None:
    from flowc.dsl.span import TextRange

    assert ast.FloatLit(value=1.5, pos=TextRange(0, 3)) == ast.FloatLit(value=1.5)
    assert hash(ast.FloatLit(value=-0.0)) == hash(ast.FloatLit(value=-0.0))
    assert ast.FloatLit(value=1.0) != ast.IntLit(value=1)
