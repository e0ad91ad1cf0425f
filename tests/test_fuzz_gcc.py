"""Random constant expressions, folded by us and by gcc, must agree.

Each hypothesis example is a batch of BATCH expressions compiled in one gcc
run per data model. A known value must be gcc's value, type and size; an
unknown one must be text that gcc -Werror rejects (division by zero, a shift
count out of range, a literal too large...). #if expressions go through gcc -E.

KSTACK_FUZZ_EXAMPLES sets the number of expressions per test (default 1500,
30 batches). Run
with ``--hypothesis-show-statistics`` to see why expressions were unknown.
Every disagreement found belongs in REGRESSIONS in test_evaluate.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from test_evaluate_gcc import GCC, describe, gcc_directive, gcc_rejects, gcc_values, matches

from extractor.evaluate import Value, data_model, evaluate

pytestmark = pytest.mark.skipif(GCC is None, reason="needs gcc")

BATCH = 50
# KSTACK_FUZZ_EXAMPLES counts expressions (`make fuzz` asks for 5000).
EXAMPLES = max(1, int(os.environ.get("KSTACK_FUZZ_EXAMPLES", "1500")) // BATCH)
MODELS = ("LP64", "ILP32")

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # keep the work tree clean; a failure prints its own seed
    # No shrinking: the message already names each expression that disagrees,
    # and shrinking a batch costs minutes of gcc runs.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SUFFIXES = [
    "", "u", "U", "l", "L", "ul", "uL", "Ul", "UL", "lu", "lU", "Lu", "LU",
    "ll", "LL", "ull", "uLL", "Ull", "ULL", "llu", "llU", "LLu", "LLU",
]  # fmt: skip
# Values where the type of a literal or the result of an operation changes.
EDGES = [
    0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 4096,
    2**15 - 1, 2**15, 2**16 - 1, 2**16, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
    2**63 - 1, 2**63, 2**64 - 1,
]  # fmt: skip
CHARACTERS = ["'a'", "' '", "'\\n'", "'\\0'", "'\\x41'", "'\\xff'", "'\\377'", "'\\200'", "'\\''"]
CAST_TYPES = [
    "_Bool", "char", "signed char", "unsigned char", "short", "unsigned short int",
    "int", "unsigned", "long", "long unsigned int", "unsigned long", "long long",
    "unsigned long long", "u8", "s8", "u16", "__s16", "u32", "__s32", "u64", "s64",
    "size_t", "ssize_t", "phys_addr_t", "uintptr_t", "bool",
]  # fmt: skip
COUNTS = [
    "0",
    "1",
    "7",
    "8",
    "15",
    "16",
    "31",
    "32",
    "33",
    "63",
    "64",
    "-1",
    "32U",
    "64ULL",
    "(-1)",
]
DIVISORS = ["0", "1", "-1", "(-1)", "2", "3", "0U", "-1L", "(-1LL)", "7", "0x10"]
UNARY = ["-", "+", "~", "!"]
BINARY = [
    "*", "/", "%", "+", "-", "<<", ">>", "<", ">", "<=", ">=", "==", "!=", "&", "^", "|",
    "&&", "||",
]  # fmt: skip


@st.composite
def integer_literals(draw: st.DrawFn) -> str:
    value = draw(st.one_of(st.sampled_from(EDGES), st.integers(0, 40), st.integers(0, 2**64 - 1)))
    spelled = draw(
        st.sampled_from([str(value), f"0x{value:x}", f"0X{value:X}", f"0{value:o}", f"0b{value:b}"])
    )
    return spelled + draw(st.sampled_from(SUFFIXES))


def expressions(directive: bool) -> st.SearchStrategy[str]:
    """Well-formed expressions, so that any gcc complaint is about the value."""
    leaves = [integer_literals(), integer_literals(), st.sampled_from(CHARACTERS)]
    if directive:
        leaves.append(st.sampled_from(["FOO", "true", "CONFIG_X"]))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.builds("{} {} {}".format, inner, st.sampled_from(BINARY), inner)
        # Right operands near the edges, or shifts and divisions would almost
        # never hit a count of 32 or a divisor of 0 or -1.
        count = st.one_of(st.sampled_from(COUNTS), st.integers(0, 70).map(str), inner)
        shift = st.builds("{} {} {}".format, inner, st.sampled_from(["<<", ">>"]), count)
        divisor = st.one_of(st.sampled_from(DIVISORS), inner)
        divide = st.builds("{} {} {}".format, inner, st.sampled_from(["/", "%"]), divisor)
        shapes = [
            binary,
            binary,
            shift,
            shift,
            divide,
            st.builds("{} {}".format, st.sampled_from(UNARY), inner),
            st.builds("{} ? {} : {}".format, inner, inner, inner),
            st.builds("({})".format, inner),
        ]
        if not directive:
            cast = st.builds("({}){}".format, st.sampled_from(CAST_TYPES), inner)
            shapes += [cast, cast, st.builds("sizeof({})".format, inner)]
            shapes += [st.builds("sizeof({})".format, st.sampled_from(CAST_TYPES))]
        # Once among all the shapes: in C an evaluated comma makes the whole
        # expression unknown, so more would leave few values to compare.
        return st.one_of(*shapes, st.builds("({}, {})".format, inner, inner))

    return st.recursive(st.one_of(leaves), extend, max_leaves=20)


def count_unknown(ours: Value) -> None:
    assert ours.reason is not None
    event(f"unknown: {ours.reason.split(' ')[0]}")


@FUZZ_SETTINGS
@given(st.lists(expressions(directive=False), min_size=BATCH, max_size=BATCH))
def test_c_expressions_agree_with_gcc(batch: list[str]) -> None:
    wrong = []
    for model in MODELS:
        ours = [evaluate(expression, data_model(model)) for expression in batch]
        known = [(e, o) for e, o in zip(batch, ours, strict=True) if o.known]
        unknown = [(e, o) for e, o in zip(batch, ours, strict=True) if not o.known]
        theirs = gcc_values([e for e, _ in known], model, dead_arms=True)
        wrong += [
            f"{model} {describe(e, o, t)}"
            for (e, o), t in zip(known, theirs, strict=True)
            if not matches(o, t)
        ]
        rejected = gcc_rejects([e for e, _ in unknown], model)
        for (expression, value), gcc_said_no in zip(unknown, rejected, strict=True):
            count_unknown(value)
            if not gcc_said_no:
                wrong.append(f"{model} {describe(expression, value)}  gcc: accepts it")
    assert not wrong, "\n".join(wrong)


@FUZZ_SETTINGS
@given(st.lists(expressions(directive=True), min_size=BATCH, max_size=BATCH))
def test_if_expressions_agree_with_cpp(batch: list[str]) -> None:
    wrong = []
    for model in MODELS:
        pairs = [(e, evaluate(e, data_model(model), directive=True)) for e in batch]
        for (expression, ours), verdict in zip(pairs, gcc_directive(pairs, model), strict=True):
            if not ours.known:
                count_unknown(ours)
            if not (verdict.agrees if ours.known else verdict.diagnosed):
                wrong.append(f"{model} {describe(expression, ours)}  cpp: {verdict}")
    assert not wrong, "\n".join(wrong)
