"""The C integer types of a target, for the evaluator: data models and type names.

In: a data model's name ("LP64", "ILP32") or a type's spelling ("long unsigned
int", "u64", "size_t").
Out: a DataModel (the widths gcc -m64 / -m32 gives the integer types) and CType
(a type's width, signedness and conversion rank), and the conversion of a
number to a type, modulo its width as gcc does it.

The type names are those C11 6.7.2 allows, plus the kernel's typedefs (u64,
size_t, ...) on that data model. ``_declare`` says what the words of a cast or a
``sizeof`` stand for, or why they are not a type.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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
