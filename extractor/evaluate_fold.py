"""Fold a parsed C constant expression to a Value, with C's integer semantics.

In: a parse tree of grammars/c_expr.lark, a data model and the typedefs in force.
Out: a Value: a number and its C type, or unknown with a reason.

One Transformer method per grammar alias: ``_Folder`` for C constant expressions
(C11 6.3 and 6.6: integer promotions, the usual arithmetic conversions, casts,
``sizeof``, gcc's builtins), ``_DirectiveFolder`` for #if (C11 6.10.1: intmax_t
and uintmax_t only, as libcpp folds them). The rules for what is unknown, and
how strongly, are in ``evaluate``'s docstring.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lark import Token, Transformer_NonRecursive, v_args

from .evaluate_literals import _character_value, _parse_integer, _quoted, _Undefined
from .evaluate_types import (
    _RANKS,
    CType,
    DataModel,
    _basic_types,
    _declare,
    _Declared,
    _fits,
    _wrap,
)


@dataclass(frozen=True)
class Value:
    """A folded expression. ``ctype`` may be set on an unknown value whose type
    is known (``1/0`` is an int); ``reason`` says why the value is unknown."""

    value: int | None
    ctype: CType | None
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.value is not None


_CALL = "not a constant expression: function call"
#: gcc builtins folded like gcc does: name -> (what, the argument's type)
_BUILTINS: dict[str, tuple[str, str]] = {
    "__builtin_constant_p": ("constant_p", "int"),
    **{
        f"__builtin_{op}{suffix}": (op, width)
        for op in ("clz", "ctz", "popcount", "ffs")
        for suffix, width in (
            ("", "unsigned int"),
            ("l", "unsigned long"),
            ("ll", "unsigned long long"),
        )
    },
}


def _poison(*operands: Value) -> Value | None:
    """The first operand of unknown type: it makes the whole expression unknown."""
    return next((v for v in operands if v.ctype is None), None)


_POINTER = object()


@v_args(inline=True)
class _Folder(Transformer_NonRecursive):
    """C constant expressions on a data model. One method per grammar alias."""

    checks_remainder_overflow = True

    def __init__(self, model: DataModel, typedefs: Mapping[str, CType]) -> None:
        super().__init__()
        self.model = model
        self.types = _basic_types(model)
        self.typedefs = typedefs
        self.truth = self.types["int"]
        self.character_type = self.types["int"]

    # types

    def _promote(self, ctype: CType) -> CType:
        if ctype.rank >= _RANKS["int"]:
            return ctype
        int_type = self.types["int"]
        if ctype.bits < int_type.bits or ctype.signed:
            return int_type
        return self.types["unsigned int"]

    def _common(self, a: CType, b: CType) -> CType:
        """C11 6.3.1.8, the usual arithmetic conversions."""
        a, b = self._promote(a), self._promote(b)
        if a == b:
            return a
        if a.signed == b.signed:
            return a if a.rank > b.rank else b
        unsigned, signed = (b, a) if a.signed else (a, b)
        if unsigned.rank >= signed.rank:
            return unsigned
        if signed.bits > unsigned.bits:
            return signed
        return self.types["unsigned " + signed.name]

    def _literal_type(self, value: int, base: int, suffix: str, text: str) -> CType:
        """C11 6.4.4.1p5: the first type in the suffix's list that holds the value."""
        unsigned = "u" in suffix
        for rank_name in ("int", "long", "long long")[suffix.count("l") :]:
            if not unsigned and _fits(value, self.types[rank_name]):
                return self.types[rank_name]
            wider = self.types["unsigned " + rank_name]
            if (unsigned or base != 10) and _fits(value, wider):
                return wider
        raise _Undefined(f"integer constant {_quoted(text)} is too large for its type")

    # folding

    def _fold(self, ctype: CType, operands: Sequence[Value], compute: Callable[..., int]) -> Value:
        for operand in operands:
            if operand.value is None:
                return Value(None, ctype, operand.reason)
        try:
            return Value(compute(*(operand.value for operand in operands)), ctype)
        except _Undefined as err:
            return Value(None, ctype, str(err))

    def _arithmetic(self, a: Value, b: Value, op: Callable[[int, int, CType], int]) -> Value:
        if poison := _poison(a, b):
            return poison
        assert a.ctype and b.ctype
        t = self._common(a.ctype, b.ctype)
        return self._fold(t, (a, b), lambda x, y: _wrap(op(_wrap(x, t), _wrap(y, t), t), t))

    def _compare(self, a: Value, b: Value, op: Callable[[int, int], bool]) -> Value:
        if poison := _poison(a, b):
            return poison
        assert a.ctype and b.ctype
        t = self._common(a.ctype, b.ctype)
        return self._fold(self.truth, (a, b), lambda x, y: int(op(_wrap(x, t), _wrap(y, t))))

    def _unary(self, v: Value, op: Callable[[int], int]) -> Value:
        if v.ctype is None:
            return v
        t = self._promote(v.ctype)
        return self._fold(t, (v,), lambda x: _wrap(op(x), t))

    def _shift(self, a: Value, b: Value, left: bool) -> Value:
        if poison := _poison(a, b):
            return poison
        assert a.ctype
        t = self._promote(a.ctype)
        return self._fold(t, (a, b), lambda x, n: self._shifted(x, n, t, left))

    def _shifted(self, x: int, count: int, t: CType, left: bool) -> int:
        if count < 0:
            raise _Undefined(f"shift count {count} is negative")
        if count >= t.bits:
            raise _Undefined(f"shift count {count} >= width of {t.name}")
        return _wrap(x << count, t) if left else x >> count

    def _divide(self, x: int, y: int, t: CType) -> int:
        if y == 0:
            raise _Undefined("division by zero")
        quotient = abs(x) // abs(y)  # C truncates toward zero, Python floors
        quotient = -quotient if (x < 0) != (y < 0) else quotient
        if not _fits(quotient, t):
            raise _Undefined(f"overflow in division of {t.name}")
        return quotient

    def _remainder(self, x: int, y: int, t: CType) -> int:
        if y == -1 and not self.checks_remainder_overflow:
            return 0
        # C11 6.5.5p6 defines x % y only where x / y is representable.
        return x - y * self._divide(x, y, t)

    def _logical(self, a: Value, b: Value, decided_by: bool) -> Value:
        if poison := _poison(a, b):
            return poison
        if a.value is None:
            return Value(None, self.truth, a.reason)
        if bool(a.value) == decided_by:
            return Value(int(decided_by), self.truth)
        return self._fold(self.truth, (b,), lambda y: int(y != 0))

    # leaves

    def number(self, token: Token) -> Value:
        try:
            value, base, suffix = _parse_integer(token.value)
            return Value(value, self._literal_type(value, base, suffix, token.value))
        except _Undefined as err:
            return Value(None, None, str(err))

    def character(self, token: Token) -> Value:
        try:
            value = _character_value(token.value, self.model.char_signed)
        except _Undefined as err:
            return Value(None, None, str(err))
        return Value(value, self.character_type)

    def identifier(self, token: Token) -> Value:
        return Value(None, None, f"unknown identifier {token}")

    def string(self, *tokens: Token) -> Value:
        return Value(None, None, "not a constant expression: string literal")

    def call(self, name: Token, arguments: list[Value] | None) -> Value:
        builtin = _BUILTINS.get(str(name))
        if builtin is None:
            return Value(None, None, f"{_CALL} {name}()")
        kind, width_type = builtin
        args = arguments or []
        if len(args) != 1:
            return Value(None, None, f"{name}() takes one argument")
        (arg,) = args
        if kind == "constant_p":  # gcc: 1 when the argument folds to a constant
            if arg.known or (arg.reason or "").startswith(_CALL):
                return Value(1 if arg.known else 0, self.truth)
            # an identifier kstack could not resolve may be a macro it missed
            return Value(None, self.truth, f"{name}() of an unknown: {arg.reason}")
        if poison := _poison(arg):
            return poison
        if arg.value is None:
            return Value(None, self.truth, arg.reason)
        t = self.types[width_type]
        x = _wrap(arg.value, t) % (1 << t.bits)
        if x == 0 and kind in ("clz", "ctz"):
            return Value(None, self.truth, f"{name}(0) is undefined")
        result = {
            "clz": lambda: t.bits - x.bit_length(),
            "ctz": lambda: (x & -x).bit_length() - 1,
            "popcount": lambda: bin(x).count("1"),
            "ffs": lambda: (x & -x).bit_length(),
        }[kind]()
        return Value(result, self.truth)

    def arguments(self, *values: Value) -> list[Value]:
        return list(values)

    # types in casts and sizeof

    def type_name(self, *parts: Any) -> _Declared:
        pointer = parts[-1] is _POINTER
        words = [str(part) for part in parts if part is not _POINTER]
        return _declare(words, pointer, self.model, self.typedefs)

    def tag(self, keyword: Token, name: Token) -> str:
        return f"{keyword} {name}"

    def pointer(self) -> object:
        return _POINTER

    def cast(self, declared: _Declared, v: Value) -> Value:
        if declared.error:
            return Value(None, None, declared.error)
        if declared.ctype is None:
            return Value(None, None, f"not an integer constant: cast to '{declared.spelling}'")
        if v.ctype is None:
            return v
        target = declared.ctype
        return self._fold(target, (v,), lambda x: _wrap(x, target))

    def sizeof_expr(self, keyword: Token, v: Value) -> Value:
        if v.ctype is None:
            return v
        return Value(v.ctype.bits // 8, self.typedefs["size_t"])

    def sizeof_type(self, keyword: Token, declared: _Declared) -> Value:
        if declared.error:
            return Value(None, None, declared.error)
        if declared.size is None:
            return Value(None, None, f"size of '{declared.spelling}' is not known here")
        return Value(declared.size, self.typedefs["size_t"])

    # operators

    def pos(self, v: Value) -> Value:
        return self._unary(v, lambda x: x)

    def neg(self, v: Value) -> Value:
        return self._unary(v, operator.neg)

    def bnot(self, v: Value) -> Value:
        return self._unary(v, operator.invert)

    def lnot(self, v: Value) -> Value:
        if v.ctype is None:
            return v
        return self._fold(self.truth, (v,), lambda x: int(x == 0))

    def mul(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, lambda x, y, t: x * y)

    def div(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, self._divide)

    def mod(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, self._remainder)

    def add(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, lambda x, y, t: x + y)

    def sub(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, lambda x, y, t: x - y)

    def shl(self, a: Value, b: Value) -> Value:
        return self._shift(a, b, left=True)

    def shr(self, a: Value, b: Value) -> Value:
        return self._shift(a, b, left=False)

    def lt(self, a: Value, b: Value) -> Value:
        return self._compare(a, b, operator.lt)

    def gt(self, a: Value, b: Value) -> Value:
        return self._compare(a, b, operator.gt)

    def le(self, a: Value, b: Value) -> Value:
        return self._compare(a, b, operator.le)

    def ge(self, a: Value, b: Value) -> Value:
        return self._compare(a, b, operator.ge)

    def eq(self, a: Value, b: Value) -> Value:
        return self._compare(a, b, operator.eq)

    def ne(self, a: Value, b: Value) -> Value:
        return self._compare(a, b, operator.ne)

    def band(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, lambda x, y, t: x & y)

    def bxor(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, lambda x, y, t: x ^ y)

    def bor(self, a: Value, b: Value) -> Value:
        return self._arithmetic(a, b, lambda x, y, t: x | y)

    def land(self, a: Value, b: Value) -> Value:
        return self._logical(a, b, decided_by=False)

    def lor(self, a: Value, b: Value) -> Value:
        return self._logical(a, b, decided_by=True)

    def cond(self, condition: Value, a: Value, b: Value) -> Value:
        if condition.ctype is not None and condition.value is not None:
            # gcc folds `constant ? x : f()` (the kernel's ilog2 relies on it):
            # a call in the branch not taken does not make the value unknown
            chosen, other = (a, b) if condition.value else (b, a)
            if other.ctype is None and (other.reason or "").startswith(_CALL) and chosen.ctype:
                return chosen
        if poison := _poison(condition, a, b):
            return poison
        assert a.ctype and b.ctype
        t = self._common(a.ctype, b.ctype)
        if condition.value is None:
            return Value(None, t, condition.reason)
        chosen = a if condition.value else b
        return self._fold(t, (chosen,), lambda x: _wrap(x, t))

    def comma(self, a: Value, b: Value) -> Value:
        # C11 6.6p3 allows a comma only where it is not evaluated, as in
        # `1 ? 2 : (3, 4)`, so it is an evaluation error like 1/0.
        return _poison(a, b) or Value(None, b.ctype, "not a constant expression: comma operator")


@v_args(inline=True)
class _DirectiveFolder(_Folder):
    """#if expressions, as gcc's cpp folds them: intmax_t or uintmax_t only."""

    # cpp folds INTMAX_MIN % -1 to 0 without a word.
    checks_remainder_overflow = False

    def __init__(self, model: DataModel) -> None:
        super().__init__(model, {})
        self.intmax = CType("intmax_t", model.llong_bits, True, _RANKS["long long"])
        self.uintmax = CType("uintmax_t", model.llong_bits, False, _RANKS["long long"])
        self.truth = self.character_type = self.intmax

    def _promote(self, ctype: CType) -> CType:
        return ctype

    def _common(self, a: CType, b: CType) -> CType:
        return self.intmax if a.signed and b.signed else self.uintmax

    def _literal_type(self, value: int, base: int, suffix: str, text: str) -> CType:
        if not _fits(value, self.uintmax):
            raise _Undefined(f"integer constant {_quoted(text)} is too large for its type")
        if "u" in suffix or (base != 10 and not _fits(value, self.intmax)):
            return self.uintmax
        if not _fits(value, self.intmax):
            raise _Undefined(f"integer constant {_quoted(text)} is so large that it is unsigned")
        return self.intmax

    def _shifted(self, x: int, count: int, t: CType, left: bool) -> int:
        # libcpp: a negative count shifts the other way, and a count past the
        # width leaves 0 (or -1 from a negative value shifted right).
        if count < 0:
            left, count = not left, -count
        count = min(count, t.bits)
        return _wrap(x << count, t) if left else x >> count

    def div(self, a: Value, b: Value) -> Value:
        return self._by_zero(a, b) or super().div(a, b)

    def mod(self, a: Value, b: Value) -> Value:
        return self._by_zero(a, b) or super().mod(a, b)

    def _by_zero(self, a: Value, b: Value) -> Value | None:
        # libcpp gives up on x / 0 by handing back x, signedness and all, so
        # an unevaluated `0 ? 1 / 0U : 0` is signed in #if, unlike in C.
        if a.ctype is None or b.value != 0:
            return None
        return Value(None, a.ctype, "division by zero")

    def identifier(self, token: Token) -> Value:
        return Value(0, self.intmax)

    def call(self, name: Token, arguments: object) -> Value:
        return Value(None, None, f'missing binary operator before token "(" after {name}')

    def comma(self, a: Value, b: Value) -> Value:
        # cpp accepts a comma in #if (it is only a -pedantic complaint in C99).
        if poison := _poison(a, b):
            return poison
        assert b.ctype
        return self._fold(b.ctype, (a, b), lambda x, y: y)
