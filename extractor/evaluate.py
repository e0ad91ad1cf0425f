"""Fold a C integer constant expression to a number, the way gcc does.

In: a C expression as text (already macro-expanded) and a data model.
Out: a Value (number and C type) or unknown with a reason.

Two dialects. A C constant expression (the body of a #define that code uses)
follows C11 6.3 and 6.6 for the target's data model: literal typing, integer
promotions, the usual arithmetic conversions, casts, ``sizeof``. An #if
expression (``directive=True``, C11 6.10.1) has no types but intmax_t and
uintmax_t, and every identifier that survived macro expansion is 0.

Where C leaves a result undefined and gcc refuses to fold it or warns about it
(division by zero, a shift count out of range, ``INT_MIN / -1``), the value is
unknown. Where gcc quietly wraps (signed overflow in ``+ - * <<``), so do we:
the goal is gcc's number, not a lint.

Unknown comes in two strengths. An operation whose *type* is known but whose
value is undefined (``1/0`` is an int) only matters if it is evaluated, so
``1 ? 2 : 1/0`` is 2 and ``sizeof(1/0)`` is 4, as in C. Anything whose type is
not known (an unknown identifier, a call, a string) makes the whole expression
unknown even where C would not evaluate it, because we cannot tell whether gcc
would even accept it.
"""

from __future__ import annotations

import functools
import importlib.util
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

__all__ = [
    "ILP32",
    "LP64",
    "CType",
    "DataModel",
    "Value",
    "c_type",
    "data_model",
    "evaluate",
    "is_type_name",
]


@dataclass(frozen=True)
class DataModel:
    """Widths of the C integer types on a target, as gcc -m64 / -m32 see them."""

    name: str
    int_bits: int = 32
    long_bits: int = 64
    llong_bits: int = 64
    ptr_bits: int = 64
    char_signed: bool = True


LP64 = DataModel("LP64")
ILP32 = DataModel("ILP32", long_bits=32, ptr_bits=32)
_MODELS = {model.name: model for model in (LP64, ILP32)}


def data_model(name: str) -> DataModel:
    """The data model called ``name`` ("LP64" or "ILP32")."""
    try:
        return _MODELS[name.upper()]
    except KeyError:
        known = ", ".join(_MODELS)
        raise ValueError(f"unknown data model {name!r}: expected one of {known}") from None


@dataclass(frozen=True)
class CType:
    """An integer type: its canonical C spelling, width and conversion rank."""

    name: str
    bits: int
    signed: bool
    rank: int


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


# --- types -------------------------------------------------------------------

# C11 6.3.1.1: only the order matters.
_RANKS = {"_Bool": 1, "char": 2, "short": 3, "int": 4, "long": 5, "long long": 6}

_SIGN_WORDS = {"signed": "signed", "__signed": "signed", "__signed__": "signed"}
_QUALIFIERS = frozenset(
    {"const", "__const", "__const__", "volatile", "__volatile", "__volatile__"}
    | {"restrict", "__restrict", "__restrict__"}
)
TYPE_KEYWORDS = frozenset(
    {"void", "_Bool", "char", "short", "int", "long", "unsigned"} | _SIGN_WORDS.keys() | _QUALIFIERS
)


def _spellings() -> dict[tuple[str, ...], str]:
    """Every specifier multiset C11 6.7.2p2 allows, sorted, to its canonical name."""
    table = {
        ("void",): "void",
        ("_Bool",): "_Bool",
        ("char",): "char",
        ("char", "signed"): "signed char",
        ("char", "unsigned"): "unsigned char",
        ("signed",): "int",
        ("unsigned",): "unsigned int",
    }
    for base in ("short", "int", "long", "long long"):
        for sign in ("", "signed", "unsigned"):
            for extra_int in ((), ("int",)) if base != "int" else ((),):
                words = (*base.split(), *([sign] if sign else []), *extra_int)
                table[tuple(sorted(words))] = f"unsigned {base}" if sign == "unsigned" else base
    return table


_SPELLINGS = _spellings()


# include/linux/types.h and include/uapi/asm-generic/int-ll64.h: the kernel
# itself is built with int-ll64 on every arch, so u64 is unsigned long long
# even where long has 64 bits.
def _fixed_typedefs() -> dict[str, str]:
    names = {"bool": "_Bool", "uintptr_t": "unsigned long", "intptr_t": "long"}
    for bits, base in ((8, "char"), (16, "short"), (32, "int"), (64, "long long")):
        for name in (f"u{bits}", f"__u{bits}", f"uint{bits}_t", f"u_int{bits}_t"):
            names[name] = f"unsigned {base}"
        for name in (f"s{bits}", f"__s{bits}", f"int{bits}_t"):
            names[name] = "signed char" if base == "char" else base
    return names


_FIXED_TYPEDEFS = _fixed_typedefs()


@functools.cache
def _basic_types(model: DataModel) -> dict[str, CType]:
    bits = {"char": 8, "short": 16, "int": model.int_bits, "long": model.long_bits}
    bits["long long"] = model.llong_bits
    types = {
        "_Bool": CType("_Bool", 8, False, _RANKS["_Bool"]),
        "char": CType("char", 8, model.char_signed, _RANKS["char"]),
    }
    for base, width in bits.items():
        signed = "signed char" if base == "char" else base
        types[signed] = CType(signed, width, True, _RANKS[base])
        types[f"unsigned {base}"] = CType(f"unsigned {base}", width, False, _RANKS[base])
    return types


@functools.cache
def _kernel_typedefs(model: DataModel) -> dict[str, CType]:
    # 32-bit arches (i386, arm) spell size_t unsigned int, 64-bit ones unsigned long.
    wide = model.long_bits > model.int_bits
    words = {
        "size_t": "unsigned long" if wide else "unsigned int",
        "ssize_t": "long" if wide else "int",
        "ptrdiff_t": "long" if wide else "int",
        "phys_addr_t": "unsigned long long" if model.ptr_bits == 64 else "unsigned int",
    }
    types = _basic_types(model)
    return {name: types[c] for name, c in {**_FIXED_TYPEDEFS, **words}.items()}


def c_type(name: str, model: DataModel) -> CType:
    """The integer type spelled ``name`` ("long unsigned int", "u64", ...) on ``model``."""
    declared = _declare(name.split(), False, model, _kernel_typedefs(model))
    if declared.ctype is None:
        raise ValueError(f"not an integer type: {name!r}")
    return declared.ctype


def is_type_name(name: str, model: DataModel, typedefs: Mapping[str, CType] | None = None) -> bool:
    """Whether ``name`` starts a type name in a cast: a keyword or a known typedef."""
    return name in TYPE_KEYWORDS or name in _kernel_typedefs(model) or name in (typedefs or {})


@dataclass(frozen=True)
class _Declared:
    """What a type name in a cast or ``sizeof`` stands for."""

    spelling: str
    ctype: CType | None  # None unless it is an integer type
    size: int | None  # bytes; None where we cannot know it (struct)
    error: str | None = None  # the words do not form a type at all


def _declare(
    words: Sequence[str], pointer: bool, model: DataModel, typedefs: Mapping[str, CType]
) -> _Declared:
    spelling = " ".join(words) + (" *" if pointer else "")
    specifiers = [_SIGN_WORDS.get(word, word) for word in words if word not in _QUALIFIERS]
    if len(specifiers) == 1 and specifiers[0] in typedefs:
        ctype: CType | None = typedefs[specifiers[0]]
        name = specifiers[0]
    elif len(specifiers) == 1 and specifiers[0].startswith(("struct ", "union ", "enum ")):
        ctype, name = None, specifiers[0]
    else:
        name = _SPELLINGS.get(tuple(sorted(specifiers)), "")
        ctype = _basic_types(model).get(name)
    if not name:
        return _Declared(spelling, None, None, f"invalid type name '{spelling}'")
    if pointer:
        return _Declared(spelling, None, model.ptr_bits // 8)
    if ctype is not None:
        return _Declared(spelling, ctype, ctype.bits // 8)
    # gcc's extension: sizeof(void) is 1.
    return _Declared(spelling, None, 1 if name == "void" else None)


def _quoted(text: str) -> str:
    """A literal as a reason quotes it: whole, unless it is absurdly long."""
    return text if len(text) <= 40 else text[:37] + "..."


def _fits(value: int, ctype: CType) -> bool:
    low = -(1 << (ctype.bits - 1)) if ctype.signed else 0
    return low <= value < (1 << (ctype.bits - ctype.signed))


def _wrap(value: int, ctype: CType) -> int:
    """Convert to ``ctype`` as gcc does: modulo 2**bits, two's complement."""
    if ctype.name == "_Bool":
        return int(value != 0)
    value &= (1 << ctype.bits) - 1
    if ctype.signed and value >> (ctype.bits - 1):
        value -= 1 << ctype.bits
    return value


# --- literals ----------------------------------------------------------------


class _Undefined(Exception):
    """An operand or operation has no value that gcc would agree to fold."""


_INTEGER = re.compile(
    r"""(?: 0[xX](?P<hex>[0-9a-fA-F]+) | 0[bB](?P<bin>[01]+)
          | (?P<oct>0[0-7]*) | (?P<dec>[1-9][0-9]*) )
        (?P<suffix> [uU](?:ll|LL|[lL])? | (?:ll|LL|[lL])[uU]? )?""",
    re.VERBOSE,
)
_FLOATING = re.compile(
    r"""(?: [0-9]*\.[0-9]*(?:[eE][+-]?[0-9]+)? | [0-9]+[eE][+-]?[0-9]+
          | 0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+ )[fFlL]?""",
    re.VERBOSE,
)
# No 64-bit value needs more digits; the cap keeps int() away from Python's
# limit on decimal string conversion.
_MAX_DECIMAL_DIGITS = 40


def _parse_integer(text: str) -> tuple[int, int, str]:
    """Value, base and lower-cased suffix of an integer constant."""
    match = _INTEGER.fullmatch(text)
    if match is None:
        kind = "floating constant" if _FLOATING.fullmatch(text) else "invalid integer constant"
        raise _Undefined(f"not an integer constant: {kind} {_quoted(text)}")
    suffix = (match["suffix"] or "").lower()
    for group, base in (("hex", 16), ("bin", 2), ("oct", 8), ("dec", 10)):
        digits = match[group]
        if digits is not None:
            if base == 10 and len(digits) > _MAX_DECIMAL_DIGITS:
                raise _Undefined(f"integer constant {_quoted(text)} is too large for its type")
            return int(digits, base), base, suffix
    raise AssertionError(text)  # the pattern has no other alternative


_SIMPLE_ESCAPES = {
    "n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11,
    "\\": 92, "'": 39, '"': 34, "?": 63, "e": 27, "E": 27,  # \e is GNU
}  # fmt: skip
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]+)|(.))|(.)", re.DOTALL)


def _escape_codes(match: re.Match[str]) -> list[int]:
    octal, hexadecimal, simple, plain = match.groups()
    if plain is not None:
        # gcc's execution character set is UTF-8, so 'é' is two chars.
        return list(plain.encode("utf-8", "surrogatepass"))
    if simple is not None:
        if simple not in _SIMPLE_ESCAPES:
            raise _Undefined(f"unknown escape sequence '\\{simple}'")
        return [_SIMPLE_ESCAPES[simple]]
    code = int(octal, 8) if octal else int(hexadecimal, 16)
    if code > 0xFF:
        raise _Undefined("escape sequence out of range")
    return [code]


def _character_value(text: str, char_signed: bool) -> int:
    """The int value of a plain character constant such as '\\n'."""
    if not text.startswith("'"):
        raise _Undefined(f"wide character constant {_quoted(text)} is not supported")
    codes = [code for m in _ESCAPE.finditer(text[1:-1]) for code in _escape_codes(m)]
    if len(codes) != 1:
        kind = "empty" if not codes else "multi-character"
        raise _Undefined(f"{kind} character constant {_quoted(text)}")
    code = codes[0]
    return code - 0x100 if char_signed and code >= 0x80 else code


# --- parsing -----------------------------------------------------------------

# The lexer hack (see grammars/c_expr.lark): which identifiers the post-lexer
# retypes, for the evaluation in progress. A ContextVar rather than a parser
# per call, because the parser is built once and threads may share it.
_lexicon: ContextVar[Mapping[str, str]] = ContextVar("_lexicon")


class _TypeNamePostLexer(PostLex):
    # Terminals no rule uses; lark would drop them and lex "=" as nothing.
    always_accept = ("PUNCT1", "PUNCT2", "PUNCT3")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        lexicon = _lexicon.get({})
        for token in stream:
            if token.type == "IDENTIFIER" and token.value in lexicon:
                token = Token.new_borrow_pos(lexicon[token.value], token.value, token)
            yield token


_GRAMMAR_PACKAGE = "extractor.grammars"
_GRAMMAR_FILE = "c_expr.lark"
# In a source checkout grammars/ sits beside extractor/ and is not a package.
_SOURCE_GRAMMAR = Path(__file__).resolve().parent.parent / "grammars" / _GRAMMAR_FILE


def _grammar_is_packaged() -> bool:
    try:
        return importlib.util.find_spec(_GRAMMAR_PACKAGE) is not None
    except ModuleNotFoundError:
        return False


@functools.cache
def _parser() -> Lark:
    options: dict[str, Any] = {
        "parser": "lalr",
        "lexer": "basic",
        "postlex": _TypeNamePostLexer(),
        "maybe_placeholders": True,
    }
    if _grammar_is_packaged():
        return Lark.open_from_package(_GRAMMAR_PACKAGE, _GRAMMAR_FILE, **options)
    return Lark.open(str(_SOURCE_GRAMMAR), **options)


@functools.cache
def _c_lexicon(model: DataModel) -> dict[str, str]:
    lexicon = dict.fromkeys(TYPE_KEYWORDS | _kernel_typedefs(model).keys(), "TYPE_WORD")
    lexicon.update(sizeof="SIZEOF", struct="TAG", union="TAG", enum="TAG")
    return lexicon


_PUNCTUATOR_KINDS = {
    **dict.fromkeys(("=", "<<=", ">>=", "+=", "-=", "*=", "/=", "%="), "assignment"),
    **dict.fromkeys(("&=", "|=", "^="), "assignment"),
    "++": "increment", "--": "decrement", "{": "brace", "}": "brace",
    "[": "subscript", "]": "subscript", ".": "member access", "->": "member access",
}  # fmt: skip
# `(name)` where an operand may start (not `f(name)`, not `x)(name)`).
_CAST_OF_UNKNOWN = re.compile(r"(?:\A|[^\w$)\]\s])\s*\(\s*([A-Za-z_$][\w$]*)\s*\)\s*\Z")


def _syntax_reason(text: str, err: UnexpectedInput, lexicon: Mapping[str, str]) -> str:
    if isinstance(err, UnexpectedCharacters):
        return f"not a constant expression: unexpected character {err.char!r}"
    if not isinstance(err, UnexpectedToken):
        return f"syntax error: {err}"
    token, expected = err.token, err.expected
    if token.type == "$END":
        return "missing ')'" if "RPAR" in expected else "unexpected end of expression"
    if token.type == "RPAR" and token.start_pos is not None:
        before = text[: token.start_pos]
        return "unbalanced ')'" if before.count("(") <= before.count(")") else "unexpected ')'"
    if token.type.startswith("PUNCT"):
        kind = _PUNCTUATOR_KINDS.get(token.value, "unexpected")
        return f"not a constant expression: {kind} '{token}'"
    if token.type == "IDENTIFIER" and "TYPE_WORD" in expected:
        return f"unknown type name {token}"
    if "PERCENT" in expected and token.start_pos is not None:
        # An operand is complete and another one starts: `(foo)1` is a cast
        # to a type we do not know, anything else is gcc's cpp complaint.
        cast = _CAST_OF_UNKNOWN.search(text, 0, token.start_pos)
        if cast and lexicon and cast[1] not in lexicon:
            return f"unknown type name {cast[1]}"
        return f'missing binary operator before token "{token}"'
    return f"syntax error: unexpected '{token}'"


# --- folding -----------------------------------------------------------------


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


_DEFINED = re.compile(r"\bdefined\b")


def evaluate(
    expression: str,
    model: DataModel,
    *,
    directive: bool = False,
    typedefs: Mapping[str, CType] | None = None,
) -> Value:
    """Fold ``expression``; never raises for any string, unknown carries a reason.

    ``directive`` reads it as an #if expression. ``typedefs`` adds type names
    usable in casts and ``sizeof`` to the kernel's usual ones (u64, size_t...).
    """
    if typedefs and not directive:
        return _evaluate(expression, model, directive, typedefs)
    return _evaluate_common(expression, model, directive)


# Headers repeat the same #if lines and #define bodies across arches, configs
# and revisions, and a parse costs a millisecond or two; Values are immutable.
@functools.lru_cache(maxsize=16384)
def _evaluate_common(expression: str, model: DataModel, directive: bool) -> Value:
    return _evaluate(expression, model, directive, {})


def _evaluate(
    expression: str, model: DataModel, directive: bool, typedefs: Mapping[str, CType]
) -> Value:
    if not expression.strip():
        return Value(None, None, "empty expression")
    if directive and _DEFINED.search(expression):
        return Value(None, None, "'defined' left after macro expansion")
    lexicon = {} if directive else _c_lexicon(model)
    if typedefs and not directive:
        lexicon = {**lexicon, **dict.fromkeys(typedefs, "TYPE_WORD")}
    reset = _lexicon.set(lexicon)
    try:
        tree = _parser().parse(expression)
    except UnexpectedInput as err:
        return Value(None, None, _syntax_reason(expression, err, lexicon))
    finally:
        _lexicon.reset(reset)
    if directive:
        folder: _Folder = _DirectiveFolder(model)
    else:
        folder = _Folder(model, {**_kernel_typedefs(model), **typedefs})
    result = folder.transform(tree)
    assert isinstance(result, Value), result
    return result
