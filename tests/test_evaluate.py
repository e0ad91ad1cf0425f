"""The evaluate stage, as tables: expression -> value and C type, or unknown and why.

Every row whose value is known is also compiled by gcc in test_evaluate_gcc.py,
so a wrong expectation here fails there. "*" in the model column means the row
holds on LP64 and ILP32 alike.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractor.evaluate import (
    ILP32,
    LP64,
    CType,
    DataModel,
    Value,
    c_type,
    data_model,
    evaluate,
    is_type_name,
)

U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1

# (expression, model, value, type name) or (expression, model, None, reason substring)
TABLE: list[tuple[str, str, int | None, str]] = [
    # the usual arithmetic conversions
    ("-1 < 0U", "*", 0, "int"),
    ("-1 < 0UL", "LP64", 0, "int"),
    ("-1 < 0UL", "ILP32", 0, "int"),
    ("-1L < 1U", "LP64", 1, "int"),
    ("-1L < 1U", "ILP32", 0, "int"),
    ("1L + 1U", "LP64", 2, "long"),
    ("1L + 1U", "ILP32", 2, "unsigned long"),
    ("1LL + 1UL", "LP64", 2, "unsigned long long"),
    ("1LL + 1UL", "ILP32", 2, "long long"),
    ("1U + -2", "*", U32_MAX, "unsigned int"),
    ("1UL + -2", "LP64", U64_MAX, "unsigned long"),
    ("-1 + 0ULL", "*", U64_MAX, "unsigned long long"),
    ("(u8)200 + (u8)100", "*", 300, "int"),
    ("(unsigned short)65535 * (unsigned short)65535", "*", -131071, "int"),
    ("(_Bool)1 + (_Bool)1", "*", 2, "int"),
    ("~(u8)0", "*", -1, "int"),
    ("-(unsigned)1", "*", U32_MAX, "unsigned int"),
    ("~0U >> 1", "*", 2**31 - 1, "unsigned int"),
    ("~0UL", "LP64", U64_MAX, "unsigned long"),
    ("~0UL", "ILP32", U32_MAX, "unsigned long"),
    # wrap-around, as gcc folds it
    ("1ULL << 63", "*", 2**63, "unsigned long long"),
    ("1 << 31", "*", -(2**31), "int"),
    ("2147483647 + 1", "*", -(2**31), "int"),
    ("65535 * 65537", "*", -1, "int"),
    ("0xffffffff + 1", "*", 0, "unsigned int"),
    ("0U - 1", "*", U32_MAX, "unsigned int"),
    ("-0x80000000", "*", 2**31, "unsigned int"),
    ("-2147483648", "LP64", -(2**31), "long"),
    ("-2147483648", "ILP32", -(2**31), "long long"),
    ("-1 << 1", "*", -2, "int"),
    ("(s64)1 << 63", "*", -(2**63), "long long"),
    # right shift of a negative number is arithmetic
    ("-1 >> 1", "*", -1, "int"),
    ("-16 >> 2", "*", -4, "int"),
    ("-1L >> 63", "LP64", -1, "long"),
    # literal typing, C11 6.4.4.1
    ("2147483647", "*", 2**31 - 1, "int"),
    ("0x7fffffff", "*", 2**31 - 1, "int"),
    ("0x80000000", "*", 2**31, "unsigned int"),
    ("037777777777", "*", U32_MAX, "unsigned int"),
    ("2147483648", "LP64", 2**31, "long"),
    ("2147483648", "ILP32", 2**31, "long long"),
    ("4294967295U", "*", U32_MAX, "unsigned int"),
    ("4294967296", "LP64", 2**32, "long"),
    ("4294967296", "ILP32", 2**32, "long long"),
    ("4294967296U", "LP64", 2**32, "unsigned long"),
    ("4294967296U", "ILP32", 2**32, "unsigned long long"),
    ("0x100000000", "ILP32", 2**32, "long long"),
    ("9223372036854775807", "LP64", 2**63 - 1, "long"),
    ("0x8000000000000000", "LP64", 2**63, "unsigned long"),
    ("0x8000000000000000", "ILP32", 2**63, "unsigned long long"),
    ("0xFFFFFFFFFFFFFFFF", "LP64", U64_MAX, "unsigned long"),
    ("18446744073709551615U", "ILP32", U64_MAX, "unsigned long long"),
    ("010", "*", 8, "int"),
    ("0", "*", 0, "int"),
    ("0b101", "*", 5, "int"),
    ("0B11111111111111111111111111111111", "*", U32_MAX, "unsigned int"),
    ("0XaBc", "*", 0xABC, "int"),
    # every suffix spelling C allows
    ("1u", "*", 1, "unsigned int"),
    ("1U", "*", 1, "unsigned int"),
    ("1l", "*", 1, "long"),
    ("1L", "*", 1, "long"),
    ("1ul", "*", 1, "unsigned long"),
    ("1uL", "*", 1, "unsigned long"),
    ("1Ul", "*", 1, "unsigned long"),
    ("1UL", "*", 1, "unsigned long"),
    ("1lu", "*", 1, "unsigned long"),
    ("1lU", "*", 1, "unsigned long"),
    ("1Lu", "*", 1, "unsigned long"),
    ("1LU", "*", 1, "unsigned long"),
    ("1ll", "*", 1, "long long"),
    ("1LL", "*", 1, "long long"),
    ("1ull", "*", 1, "unsigned long long"),
    ("1uLL", "*", 1, "unsigned long long"),
    ("1Ull", "*", 1, "unsigned long long"),
    ("1ULL", "*", 1, "unsigned long long"),
    ("1llu", "*", 1, "unsigned long long"),
    ("1llU", "*", 1, "unsigned long long"),
    ("1LLu", "*", 1, "unsigned long long"),
    ("1LLU", "*", 1, "unsigned long long"),
    ("0x1ull", "*", 1, "unsigned long long"),
    ("010LL", "*", 8, "long long"),
    ("1lL", "*", None, "invalid integer constant"),
    ("1Ll", "*", None, "invalid integer constant"),
    ("1uu", "*", None, "invalid integer constant"),
    ("1lul", "*", None, "invalid integer constant"),
    ("18446744073709551615", "*", None, "too large"),
    ("18446744073709551616U", "*", None, "too large"),
    # casts
    ("(u8)0x1ff", "*", 255, "unsigned char"),
    ("(s8)200", "*", -56, "signed char"),
    ("(char)200", "*", -56, "char"),
    ("(signed char)0x80", "*", -128, "signed char"),
    ("(unsigned char)-1", "*", 255, "unsigned char"),
    ("(short)65535", "*", -1, "short"),
    ("(__s16)0x8000", "*", -32768, "short"),
    ("(unsigned short)-1", "*", 65535, "unsigned short"),
    ("(unsigned long)-1", "LP64", U64_MAX, "unsigned long"),
    ("(unsigned long)-1", "ILP32", U32_MAX, "unsigned long"),
    ("(long unsigned int)-1", "LP64", U64_MAX, "unsigned long"),
    ("(int long unsigned)-1", "ILP32", U32_MAX, "unsigned long"),
    ("(unsigned long long int)-1", "*", U64_MAX, "unsigned long long"),
    ("(long long)-1", "*", -1, "long long"),
    ("(const unsigned)-1", "*", U32_MAX, "unsigned int"),
    ("(signed)-1", "*", -1, "int"),
    ("(int)4294967295U", "*", -1, "int"),
    ("(_Bool)5", "*", 1, "_Bool"),
    ("(_Bool)256", "*", 1, "_Bool"),
    ("(_Bool)0", "*", 0, "_Bool"),
    ("(bool)-1", "*", 1, "_Bool"),
    ("(u64)-1", "*", U64_MAX, "unsigned long long"),
    ("(__u32)-1", "*", U32_MAX, "unsigned int"),
    ("(size_t)-1", "LP64", U64_MAX, "unsigned long"),
    ("(size_t)-1", "ILP32", U32_MAX, "unsigned int"),
    ("(ssize_t)-1", "ILP32", -1, "int"),
    ("(uintptr_t)-1", "ILP32", U32_MAX, "unsigned long"),
    ("(phys_addr_t)-1", "LP64", U64_MAX, "unsigned long long"),
    ("(phys_addr_t)-1", "ILP32", U32_MAX, "unsigned int"),
    ("(void *)0", "*", None, "not an integer constant"),
    ("(unsigned long *)0", "*", None, "not an integer constant"),
    ("(foo)1", "*", None, "unknown type name foo"),
    ("(unsigned foo)1", "*", None, "unknown type name foo"),
    ("(foo)(1)", "*", None, "unknown type name foo"),
    ("sizeof(int) 1", "*", None, 'missing binary operator before token "1"'),
    ("(long char)1", "*", None, "invalid type name"),
    ("(struct page)1", "*", None, "not an integer constant"),
    # sizeof
    ("sizeof(long)", "LP64", 8, "unsigned long"),
    ("sizeof(long)", "ILP32", 4, "unsigned int"),
    ("sizeof(int)", "*", 4, "*size_t"),
    ("sizeof(char)", "*", 1, "*size_t"),
    ("sizeof(_Bool)", "*", 1, "*size_t"),
    ("sizeof(long long)", "*", 8, "*size_t"),
    ("sizeof(u16)", "*", 2, "*size_t"),
    ("sizeof(void *)", "LP64", 8, "unsigned long"),
    ("sizeof(void *)", "ILP32", 4, "unsigned int"),
    ("sizeof 1ULL", "*", 8, "*size_t"),
    ("sizeof 'a'", "*", 4, "*size_t"),
    ("sizeof((u8)1)", "*", 1, "*size_t"),
    ("sizeof(1/0)", "*", 4, "*size_t"),
    ("sizeof(sizeof(int))", "LP64", 8, "unsigned long"),
    ("sizeof(sizeof(int))", "ILP32", 4, "unsigned int"),
    ("sizeof(1 ? (char)1 : (char)2)", "*", 4, "*size_t"),
    ("sizeof(struct page)", "*", None, "size of 'struct page' is not known"),
    # ?: converts the branches, and only the chosen one is evaluated
    ("(1 ? -1 : 0U)", "*", U32_MAX, "unsigned int"),
    ("(0 ? 1 : -1L)", "*", -1, "long"),
    ("(1 ? -1 : 0UL) > 0", "*", 1, "int"),
    ("1 ? 2 : 1/0", "*", 2, "int"),
    ("0 ? 1/0 : 3", "*", 3, "int"),
    ("1 ? 2 : 1 << 40", "*", 2, "int"),
    ("1 ? 2 : (3, 4)", "*", 2, "int"),
    ("0 ? 2 : 3 ? 4 : 5", "*", 4, "int"),
    # gcc (GNU C, as the kernel is built) folds a call away in the branch not taken;
    # the kernel's ilog2() relies on it
    ("1 ? 2 : foo(1)", "*", 2, "int"),
    ("0 ? 2 : foo(1)", "*", None, "function call foo()"),
    ("__builtin_constant_p(3) ? 63 - __builtin_clzll(3) : foo(3)", "*", 1, "int"),
    ("__builtin_clzll(16384)", "*", 49, "int"),
    ("__builtin_clz(1)", "*", 31, "int"),
    ("__builtin_ctzl(4096)", "*", 12, "int"),
    ("__builtin_popcount(255)", "*", 8, "int"),
    ("__builtin_ffsll(0)", "*", 0, "int"),
    ("__builtin_clz(0)", "*", None, "is undefined"),
    ("__builtin_constant_p(foo(1))", "*", 0, "int"),
    ("__builtin_constant_p(FOO)", "*", None, "unknown identifier FOO"),
    # && and || short-circuit and yield int
    ("0 && 1/0", "*", 0, "int"),
    ("1 || 1/0", "*", 1, "int"),
    ("1 && 1/0", "*", None, "division by zero"),
    ("2 && 3UL", "*", 1, "int"),
    ("0 || 0", "*", 0, "int"),
    ("!5", "*", 0, "int"),
    ("!0UL", "*", 1, "int"),
    ("0 && FOO", "*", None, "unknown identifier FOO"),
    # the shapes kernel headers use
    ("(1UL << 12) << (2 + 0)", "LP64", 16384, "unsigned long"),
    ("((1UL) << 12)", "*", 4096, "unsigned long"),
    ("(4096 << 2)", "*", 16384, "int"),
    ("2*4096", "*", 8192, "int"),
    ("(((1UL) << (12)) << (2))", "ILP32", 16384, "unsigned long"),
    ("~((1UL << 12) - 1)", "LP64", U64_MAX - 4095, "unsigned long"),
    ("~((1UL << 12) - 1)", "ILP32", U32_MAX - 4095, "unsigned long"),
    ("(1UL << 12) / sizeof(long)", "ILP32", 1024, "unsigned long"),
    ("((1 << 14) - 1) & ~(sizeof(long) - 1)", "LP64", 16376, "unsigned long"),
    ("(PAGE_SIZE << 2)", "*", None, "unknown identifier PAGE_SIZE"),
    # character constants
    ("'a'", "*", 97, "int"),
    ("'\\n'", "*", 10, "int"),
    ("'\\x41'", "*", 65, "int"),
    ("'\\0'", "*", 0, "int"),
    ("'\\377'", "*", -1, "int"),
    ("'\\xff'", "*", -1, "int"),
    ("'\\''", "*", 39, "int"),
    ("'\\\\'", "*", 92, "int"),
    ("'\"'", "*", 34, "int"),
    ("'\\e'", "*", 27, "int"),
    ("'ab'", "*", None, "multi-character character constant"),
    ("''", "*", None, "empty character constant"),
    ("'\\x100'", "*", None, "out of range"),
    ("'\\q'", "*", None, "unknown escape sequence"),
    ("L'a'", "*", None, "wide character constant"),
    # what gcc warns about or rejects
    ("1/0", "*", None, "division by zero"),
    ("1 % 0", "*", None, "division by zero"),
    ("1UL << 64", "LP64", None, "shift count 64 >= width of unsigned long"),
    ("1L << 32", "ILP32", None, "shift count 32 >= width of long"),
    ("1 << 32", "*", None, "shift count 32 >= width of int"),
    ("(u8)1 << 31", "*", -(2**31), "int"),
    ("1 << -1", "*", None, "shift count -1 is negative"),
    ("8 >> -1", "*", None, "shift count -1 is negative"),
    ("(-2147483647-1)/-1", "*", None, "overflow in division"),
    ("(-2147483647-1)%-1", "*", None, "overflow in division"),
    ("0 * (1/0)", "*", None, "division by zero"),
    ("FOO", "*", None, "unknown identifier FOO"),
    ("FOO + 1", "*", None, "unknown identifier FOO"),
    ("foo(1)", "*", None, "not a constant expression: function call foo()"),
    ("foo()", "*", None, "function call foo()"),
    ('"abc"', "*", None, "string literal"),
    ("", "*", None, "empty expression"),
    ("   ", "*", None, "empty expression"),
    ("1 +", "*", None, "unexpected end of expression"),
    ("1 2", "*", None, "missing binary operator"),
    ("(1 + 2", "*", None, "missing ')'"),
    ("1 + 2)", "*", None, "unbalanced ')'"),
    ("((1)", "*", None, "missing ')'"),
    ("()", "*", None, "unexpected ')'"),
    ("a = 1", "*", None, "assignment '='"),
    ("1 ++ 2", "*", None, "increment '++'"),
    ("{1}", "*", None, "brace"),
    ("1, 2", "*", None, "comma operator"),
    ("(1, 2)", "*", None, "comma operator"),
    ("1 @ 2", "*", None, "unexpected character '@'"),
    ("1.5", "*", None, "floating constant"),
    ("1e3", "*", None, "floating constant"),
    ("08", "*", None, "invalid integer constant 08"),
    ("0x", "*", None, "invalid integer constant"),
    ("0xe+1", "*", None, "invalid integer constant"),
    ("1 ? 2", "*", None, "unexpected end of expression"),
    ("int", "*", None, "syntax error"),
]

# #if expressions (C11 6.10.1): intmax_t / uintmax_t, identifiers are 0
DIRECTIVE_TABLE: list[tuple[str, str, int | None, str]] = [
    ("FOO + 1", "*", 1, "intmax_t"),
    ("CONFIG_X && CONFIG_Y", "*", 0, "intmax_t"),
    ("true", "*", 0, "intmax_t"),
    ("!false", "*", 1, "intmax_t"),
    ("1ULL << 63 > 0", "*", 1, "intmax_t"),
    ("1ULL << 63", "*", 2**63, "uintmax_t"),
    ("-1 > 0u", "*", 1, "intmax_t"),
    ("-1 == 18446744073709551615U", "*", 1, "intmax_t"),
    ("0x7fffffffffffffff + 1 < 0", "*", 1, "intmax_t"),
    ("2147483647 + 1", "*", 2**31, "intmax_t"),
    ("1 << 31", "*", 2**31, "intmax_t"),
    ("4294967295 + 1", "*", 2**32, "intmax_t"),
    ("1L == 1LL", "*", 1, "intmax_t"),
    ("0xffffffffffffffff", "*", U64_MAX, "uintmax_t"),
    ("0x8000000000000000 > 0", "*", 1, "intmax_t"),
    ("1 ? -1 : 0u", "*", U64_MAX, "uintmax_t"),
    ("'a'", "*", 97, "intmax_t"),
    ("'\\xff' < 0", "*", 1, "intmax_t"),
    ("-1 >> 1", "*", -1, "intmax_t"),
    ("-8 >> 1", "*", -4, "intmax_t"),
    # libcpp defines what C leaves undefined: the count changes direction or
    # empties the value, without a diagnostic
    ("4 >> -1", "*", 8, "intmax_t"),
    ("1U << 64", "*", 0, "uintmax_t"),
    ("-1 >> 70", "*", -1, "intmax_t"),
    ("(1, 2)", "*", 2, "intmax_t"),
    ("0 && 1/0", "*", 0, "intmax_t"),
    ("0 ? 1/0 : 2", "*", 2, "intmax_t"),
    ("(-9223372036854775807-1) % -1", "*", 0, "intmax_t"),
    ("1 / 0", "*", None, "division by zero"),
    ("(-9223372036854775807-1) / -1", "*", None, "overflow in division"),
    ("9223372036854775808", "*", None, "so large that it is unsigned"),
    ("18446744073709551616", "*", None, "too large"),
    ("(unsigned long)1", "*", None, "missing binary operator"),
    ("(int)1", "*", None, 'missing binary operator before token "1"'),
    ("sizeof(int)", "*", None, "missing binary operator"),
    ("foo(1)", "*", None, "missing binary operator"),
    ("'ab'", "*", None, "multi-character"),
    ("1.0", "*", None, "floating constant"),
    ("1 +", "*", None, "unexpected end of expression"),
    ("", "*", None, "empty expression"),
    ("defined FOO", "*", None, "'defined' left after macro expansion"),
]

# Disagreements with gcc that test_fuzz_gcc.py found once, kept for good.
REGRESSIONS: list[tuple[str, str, int | None, str]] = []

DIRECTIVE_REGRESSIONS: list[tuple[str, str, int | None, str]] = [
    # libcpp hands back the left operand of an unevaluated x / 0, signed or not
    ("+ FOO ? ' ' / 0U : true", "*", 0, "intmax_t"),
    ("(0 ? 1 / 0U : 0) * 0 - 1 < 0", "*", 1, "intmax_t"),
    ("(0 ? -1 % 0U : -1) < 0", "*", 1, "intmax_t"),
]


def expand(table: list[tuple[str, str, int | None, str]]) -> list[tuple[str, str, int | None, str]]:
    """One row per model; "*size_t" in the type column is the model's size_t."""
    rows = []
    for expression, models, value, detail in table:
        for model in ("LP64", "ILP32") if models == "*" else (models,):
            size_t = "unsigned long" if model == "LP64" else "unsigned int"
            rows.append((expression, model, value, size_t if detail == "*size_t" else detail))
    return rows


def row_id(row: tuple[str, str, int | None, str]) -> str:
    return f"{row[1]}:{row[0]}"


def check(result: Value, value: int | None, detail: str) -> None:
    if value is None:
        assert not result.known, result
        assert result.reason is not None and detail in result.reason, result
    else:
        assert result.reason is None, result
        assert result.ctype is not None, result
        assert (result.value, result.ctype.name) == (value, detail)


@pytest.mark.parametrize("row", expand(TABLE + REGRESSIONS), ids=row_id)
def test_c_expression(row: tuple[str, str, int | None, str]) -> None:
    expression, model, value, detail = row
    check(evaluate(expression, data_model(model)), value, detail)


@pytest.mark.parametrize("row", expand(DIRECTIVE_TABLE + DIRECTIVE_REGRESSIONS), ids=row_id)
def test_directive_expression(row: tuple[str, str, int | None, str]) -> None:
    expression, model, value, detail = row
    check(evaluate(expression, data_model(model), directive=True), value, detail)


def test_tables_are_big_enough_to_mean_something() -> None:
    assert len(TABLE) >= 80


def test_unknown_value_keeps_the_type_it_would_have() -> None:
    result = evaluate("1UL << 64", LP64)
    assert result.ctype == c_type("unsigned long", LP64)
    assert evaluate("FOO", LP64).ctype is None


@pytest.mark.parametrize(
    ("name", "model", "expected"),
    [
        ("int", LP64, CType("int", 32, True, 4)),
        ("long unsigned int", ILP32, CType("unsigned long", 32, False, 5)),
        ("unsigned long long", ILP32, CType("unsigned long long", 64, False, 6)),
        ("u64", LP64, CType("unsigned long long", 64, False, 6)),
        ("size_t", ILP32, CType("unsigned int", 32, False, 4)),
        ("char", LP64, CType("char", 8, True, 2)),
        ("_Bool", LP64, CType("_Bool", 8, False, 1)),
    ],
)
def test_c_type(name: str, model: DataModel, expected: CType) -> None:
    assert c_type(name, model) == expected


@pytest.mark.parametrize("name", ["void", "long char", "foo", "unsigned unsigned", ""])
def test_c_type_rejects_what_is_not_an_integer_type(name: str) -> None:
    with pytest.raises(ValueError):
        c_type(name, LP64)


def test_data_model() -> None:
    assert data_model("LP64") is LP64
    assert data_model("ilp32") is ILP32
    with pytest.raises(ValueError, match="LP64"):
        data_model("LLP64")


def test_is_type_name() -> None:
    assert is_type_name("unsigned", LP64)
    assert is_type_name("phys_addr_t", ILP32)
    assert not is_type_name("pgoff_t", LP64)
    assert is_type_name("pgoff_t", LP64, {"pgoff_t": c_type("unsigned long", LP64)})


def test_typedefs_argument_adds_cast_targets() -> None:
    typedefs = {"pgoff_t": c_type("unsigned long", ILP32)}
    result = evaluate("(pgoff_t)-1 >> 1", ILP32, typedefs=typedefs)
    assert (result.value, result.ctype) == (2**31 - 1, c_type("unsigned long", ILP32))
    # without it, the same text is a subtraction from an unknown identifier
    assert evaluate("(pgoff_t)-1 >> 1", ILP32).reason == "unknown identifier pgoff_t"


def test_typedefs_do_not_leak_into_the_next_call() -> None:
    evaluate("(pgoff_t)1", LP64, typedefs={"pgoff_t": c_type("unsigned long", LP64)})
    assert evaluate("(pgoff_t)1", LP64).reason == "unknown type name pgoff_t"


def test_deep_nesting_is_folded_not_a_recursion_error() -> None:
    assert evaluate("(-" * 3000 + "1" + ")" * 3000, LP64).value == 1
    assert evaluate("(" * 5000 + "7" + ")" * 5000, LP64).value == 7


def test_unsigned_char_model() -> None:
    arm_like = DataModel("unsigned-char", long_bits=32, ptr_bits=32, char_signed=False)
    assert evaluate("'\\xff'", arm_like).value == 255
    assert evaluate("(char)-1", arm_like).value == 255


# The evaluator is fed whatever pcpp leaves in a header; no input may raise.
C_ALPHABET = st.sampled_from(
    list("0123456789xXuUlLbB()+-*/%<>=!&|^~?:,'\"\\ .;{}[]#@$_abcfFpe\n\t")
    + ["sizeof", "int", "unsigned", "long", "u8", "(char)", "struct", "defined", "1ULL"]
)


@settings(
    max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.one_of(st.text(), st.lists(C_ALPHABET, max_size=30).map("".join)), st.booleans())
def test_never_raises(text: str, directive: bool) -> None:
    result = evaluate(text, LP64, directive=directive)
    assert result.known or result.reason
