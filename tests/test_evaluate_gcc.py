"""The rows of test_evaluate.py, checked against gcc itself.

A known value must be the value, type and size gcc gives the same text
(``-m64`` for LP64, ``-m32`` for ILP32; -S needs no 32-bit libc). An unknown one
must be something gcc refuses or warns about (``-Werror``). #if rows go through
``gcc -E``. Each model is one gcc run for all known rows; test_fuzz_gcc.py
reuses the helpers here on random expressions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from test_evaluate import DIRECTIVE_REGRESSIONS, DIRECTIVE_TABLE, REGRESSIONS, TABLE, expand

from extractor.evaluate import Value, data_model, evaluate

GCC = shutil.which("gcc")
pytestmark = pytest.mark.skipif(GCC is None, reason="needs gcc")

MODEL_FLAGS = {"LP64": "-m64", "ILP32": "-m32"}

# The kernel's typedefs as include/linux/types.h and asm-generic/int-ll64.h
# spell them. Written out here, not taken from extractor.evaluate, so that a
# wrong entry there shows up as a disagreement.
TYPEDEFS = """\
typedef unsigned char u8; typedef unsigned short u16; typedef unsigned int u32;
typedef unsigned long long u64; typedef signed char s8; typedef short s16;
typedef int s32; typedef long long s64; typedef unsigned char __u8;
typedef unsigned short __u16; typedef unsigned int __u32; typedef unsigned long long __u64;
typedef signed char __s8; typedef short __s16; typedef int __s32; typedef long long __s64;
typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t;
typedef unsigned long long uint64_t; typedef signed char int8_t; typedef short int16_t;
typedef int int32_t; typedef long long int64_t; typedef _Bool bool;
typedef unsigned long uintptr_t; typedef long intptr_t;
int foo(int);
"""
MODEL_TYPEDEFS = {
    "LP64": "typedef unsigned long size_t; typedef long ssize_t; typedef long ptrdiff_t;\n"
    "typedef unsigned long long phys_addr_t;\n",
    "ILP32": "typedef unsigned int size_t; typedef int ssize_t; typedef int ptrdiff_t;\n"
    "typedef unsigned int phys_addr_t;\n",
}

# _Generic tells the exact type of an expression, promotions not applied.
TYPE_NAMES = [
    "_Bool", "char", "signed char", "unsigned char", "short", "unsigned short", "int",
    "unsigned int", "long", "unsigned long", "long long", "unsigned long long",
]  # fmt: skip
GENERIC_CASES = ", ".join(f"{name}: {code}" for code, name in enumerate(TYPE_NAMES, 1))

# Rows where we say unknown and gcc quietly accepts the text: each is a
# deliberate choice, not something to fix.
STRICTER_THAN_GCC = {
    "L'a'": "wide character constants are left to the caller",
    "__builtin_clz(0)": "gcc folds it to some number; the C result is undefined",
    "(void *)0": "gcc converts the pointer back, but it is not an integer constant",
    "(unsigned long *)0": "gcc converts the pointer back, but it is not an integer constant",
    "1.5": "gcc converts the double, but it is not an integer constant",
    "1e3": "gcc converts the double, but it is not an integer constant",
    '"abc"': "gcc converts the address, but it is not an integer constant",
    "defined FOO": "the input is macro-expanded, so a `defined` means pcpp missed it",
}


@dataclass(frozen=True)
class GccValue:
    value: int  # modulo 2**64
    type_name: str
    size: int


def prelude(model: str) -> str:
    return TYPEDEFS + MODEL_TYPEDEFS[model]


def run_gcc(model: str, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert GCC is not None
    command = [GCC, MODEL_FLAGS[model], "-x", "c", *args, "-"]
    return subprocess.run(command, input=source, capture_output=True, text=True, check=False)


def data_by_label(assembly: str) -> dict[str, bytes]:
    """The initialised bytes of each data label in gcc's assembly output."""
    sizes = {"byte": 1, "value": 2, "short": 2, "long": 4, "quad": 8}
    data: dict[str, bytearray] = {}
    current = bytearray()
    for line in assembly.splitlines():
        line = line.strip()
        if label := re.fullmatch(r"([A-Za-z_][\w.$]*):", line):
            current = data.setdefault(label[1], bytearray())
        elif directive := re.fullmatch(r"\.(zero|byte|value|short|long|quad)\s+(-?\w+)", line):
            kind, argument = directive[1], int(directive[2], 0)
            if kind == "zero":
                current += bytes(argument)
            else:
                size = sizes[kind]
                current += (argument % (1 << (8 * size))).to_bytes(size, "little")
    return {label: bytes(content) for label, content in data.items()}


def error_lines(stderr: str) -> set[int]:
    return {int(line) for line in re.findall(r"^<stdin>:(\d+):\d+: error:", stderr, re.M)}


# What gcc only warns about but we call unknown: a known value must not set these
# off. Signed overflow (-Woverflow) is not among them, as we wrap like gcc.
VALUE_CHECKS = (
    "-Werror=div-by-zero",
    "-Werror=shift-count-overflow",
    "-Werror=shift-count-negative",
)


def gcc_values(
    expressions: Sequence[str], model: str, *, dead_arms: bool = False
) -> list[GccValue]:
    """gcc's value, type and size for each expression, in one compile.

    Fails, naming them, if gcc rejects any of them or finds a VALUE_CHECKS fault.
    With ``dead_arms``, a batch whose only faults are VALUE_CHECKS ones in
    expressions with a ``?:``, ``&&`` or ``||`` is compiled again without the
    checks: gcc diagnoses a constant shift count even in an arm it never
    evaluates when it does not fold the condition (a left shift of a negative
    value, say), where C and kstack do not evaluate it. The values are then
    compared as usual, so a wrong value is still caught.
    """
    head = prelude(model)
    lines = []
    for i, expression in enumerate(expressions):
        lines.append(f"unsigned long long v{i} = (unsigned long long)({expression});")
        lines.append(f"int t{i} = _Generic(({expression}), {GENERIC_CASES}, default: 0);")
        lines.append(f"unsigned int z{i} = sizeof(({expression}));")
    result = run_gcc(model, head + "\n".join(lines), "-S", "-O0", "-o", "-", *VALUE_CHECKS)
    first_line = head.count("\n") + 1
    failed = sorted({(line - first_line) // 3 for line in error_lines(result.stderr)})
    rejected = [expressions[i] for i in failed if 0 <= i < len(expressions)]
    errors = re.findall(r"^<stdin>:\d+:\d+: error: .*$", result.stderr, re.M)
    if (
        dead_arms
        and rejected
        and all(re.search(r"\?|&&|\|\|", e) for e in rejected)
        and all(any(f"[{check}]" in error for check in VALUE_CHECKS) for error in errors)
    ):
        result = run_gcc(model, head + "\n".join(lines), "-S", "-O0", "-o", "-")
    assert result.returncode == 0, f"gcc rejects {rejected}:\n{result.stderr[-3000:]}"
    data = data_by_label(result.stdout)

    def number(label: str) -> int:
        return int.from_bytes(data[label], "little")

    return [
        GccValue(number(f"v{i}"), TYPE_NAMES[number(f"t{i}") - 1], number(f"z{i}"))
        for i in range(len(expressions))
    ]


# -pedantic-errors: gcc folds `0 > (1, 0u)` to 0 and accepts it in an
# initializer unless asked to hold to C11 6.6. c2x, because -pedantic would
# otherwise reject every 0b literal.
STRICT = (
    "-std=c2x",
    "-pedantic-errors",
    "-Werror",
    "-Wdiv-by-zero",
    "-Wshift-count-overflow",
    "-Wshift-count-negative",
    "-Woverflow",
)


def gcc_rejects(expressions: Sequence[str], model: str) -> list[bool]:
    """Whether gcc -Werror has an error on the line of each expression.

    One compile for all of them; only for well-formed text, since a syntax
    error can spill diagnostics onto the next line.
    """
    head = prelude(model)
    first_line = head.count("\n") + 1
    lines = [
        f"unsigned long long u{i} = (unsigned long long)({e});" for i, e in enumerate(expressions)
    ]
    result = run_gcc(model, head + "\n".join(lines), "-S", "-o", os.devnull, *STRICT)
    failed = error_lines(result.stderr)
    return [first_line + i in failed for i in range(len(expressions))]


def directive_literal(value: Value) -> str:
    """A literal cpp reads as the same number and signedness as ``value``."""
    assert value.value is not None and value.ctype is not None
    if not value.ctype.signed:
        return f"{value.value}u"
    if value.value == -(2**63):
        return "(-9223372036854775807 - 1)"
    return f"({value.value})"


@dataclass(frozen=True)
class CppVerdict:
    agrees: bool  # a known value: cpp folds the same number and signedness
    diagnosed: bool  # cpp warned or erred on the #if line


def gcc_directive(rows: Sequence[tuple[str, Value]], model: str) -> list[CppVerdict]:
    """Run every row through gcc -E in one go: a value check, or just the #if."""
    lines: list[str] = []
    if_lines = []
    for i, (expression, ours) in enumerate(rows):
        if_lines.append(len(lines) + 1)
        if ours.known:
            assert ours.ctype is not None
            signed = int(ours.ctype.signed)
            same = f"(({expression}) == {directive_literal(ours)})"
            lines.append(f"#if {same} && ((({expression}) * 0 - 1 < 0) == {signed})")
        else:
            lines.append(f"#if {expression}")
        lines += [f"r{i}=1", "#else", f"r{i}=0", "#endif"]
    result = run_gcc(model, "\n".join(lines) + "\n", "-E", "-P")
    diagnosed = {
        int(n) for n in re.findall(r"^<stdin>:(\d+):\d+: (?:error|warning):", result.stderr, re.M)
    }
    taken = dict(re.findall(r"^r(\d+)=([01])$", result.stdout, re.M))
    return [
        CppVerdict(taken.get(str(i)) == "1", if_lines[i] in diagnosed) for i in range(len(rows))
    ]


def describe(expression: str, ours: Value, theirs: GccValue | None = None) -> str:
    gcc = f"  gcc: {theirs}" if theirs else ""
    return f"{expression!r}\n  ours: {ours}{gcc}"


def c_rows(known: bool) -> list[tuple[str, str, int | None, str]]:
    rows = expand(TABLE + REGRESSIONS)
    return [r for r in rows if (r[2] is not None) == known and r[0] not in STRICTER_THAN_GCC]


def matches(ours: Value, theirs: GccValue) -> bool:
    assert ours.value is not None and ours.ctype is not None
    mine = (ours.value % 2**64, ours.ctype.name, ours.ctype.bits // 8)
    return mine == (theirs.value, theirs.type_name, theirs.size)


@pytest.mark.parametrize("model", ["LP64", "ILP32"])
def test_known_values_are_gccs(model: str) -> None:
    expressions = [row[0] for row in c_rows(known=True) if row[1] == model]
    ours = [evaluate(e, data_model(model)) for e in expressions]
    theirs = gcc_values(expressions, model)
    wrong = [
        describe(e, o, t)
        for e, o, t in zip(expressions, ours, theirs, strict=True)
        if not matches(o, t)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("row", c_rows(known=False), ids=lambda row: f"{row[1]}:{row[0]}")
def test_gcc_rejects_what_we_call_unknown(row: tuple[str, str, int | None, str]) -> None:
    expression, model = row[0], row[1]
    # One compile per row: these include syntax errors, which spill over.
    assert gcc_rejects([expression], model) == [True], expression


@pytest.mark.parametrize("model", ["LP64", "ILP32"])
def test_directive_rows_agree_with_cpp(model: str) -> None:
    table = expand(DIRECTIVE_TABLE + DIRECTIVE_REGRESSIONS)
    rows = [r for r in table if r[1] == model and r[0] not in STRICTER_THAN_GCC]
    pairs = [(row[0], evaluate(row[0], data_model(model), directive=True)) for row in rows]
    verdicts = gcc_directive(pairs, model)
    wrong = [
        describe(expression, ours)
        for (expression, ours), verdict in zip(pairs, verdicts, strict=True)
        if not (verdict.agrees if ours.known else verdict.diagnosed)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_oracle_reads_gcc_output() -> None:
    # A wrong oracle would agree with anything; pin it to numbers we know.
    assert gcc_values(["-1", "(u8)3", "1ULL << 40"], "ILP32") == [
        GccValue(2**64 - 1, "int", 4),
        GccValue(3, "unsigned char", 1),
        GccValue(2**40, "unsigned long long", 8),
    ]
    assert gcc_rejects(["1", "1/0", "2"], "LP64") == [False, True, False]


# found by the fuzz test in CI: the second ?: takes its first arm ('\200' << 8 is
# -32768), but gcc does not fold a left shift of a negative value, so it diagnoses
# the shift by -128 in the arm that is never evaluated
DEAD_ARM = (
    "0x3LU >> 8 + (u32)'\\377' ? 0b10011011100010LL : (('\\200')) << sizeof(0xfffffffffffffffflU)"
    " ? sizeof(0b11001LLU / -1L ? sizeof(long) : (long)'\\xff') : sizeof(__s16) << + '\\200'"
)


def test_a_fault_in_an_arm_never_evaluated_is_compared_by_value() -> None:
    ours = evaluate(DEAD_ARM, data_model("LP64"))
    assert ours.known and ours.value == 8
    with pytest.raises(AssertionError, match="shift-count-negative"):
        gcc_values([DEAD_ARM], "LP64")  # the checks stand for a plain batch
    [theirs] = gcc_values([DEAD_ARM], "LP64", dead_arms=True)
    assert matches(ours, theirs)
    with pytest.raises(AssertionError):  # a shift by -1 that is evaluated is still an error
        gcc_values(["1 ? 1 << -1 : 0"], "LP64", dead_arms=True)
