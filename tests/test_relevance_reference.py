"""``relevance.relevant_names`` against a plain reading of its definition.

``relevant_names`` works its fixpoint incrementally: a round expands only the
names new since the last one, and looks again only at the headers that define
one of them. The reference below does none of that: it applies the rules to
every header in every round until nothing changes. Both must give the same
names, for each row of small headers written to catch one rule each, and for
every fixture era's headers taken as one closure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from extractor.relevance import facts_of, relevant_names

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eras"
OPENING = {"if", "ifdef", "ifndef"}
BRANCHES = OPENING | {"elif", "else", "endif"}


def reference(headers: list[list], seeds: set[str]) -> set[str]:
    """The seeds; every name an include uses; the body names of a relevant name's
    definitions (and names a pasted fragment can build); every name a conditional
    tests whose group encloses an include, #error, #warning, pragma or relevant
    definition (every conditional of a header that does not balance)."""
    names = set(seeds)
    defined = {d.name for h in headers for d in h if d.kind in ("define", "undef")}
    while True:
        before = set(names)
        for header in headers:
            for d in header:
                if d.kind == "include":
                    names.update(d.identifiers)
                if d.kind in ("define", "undef") and d.name in names:
                    names.update(d.identifiers)
                    match = re.match(r"#define\s+\w+\(([^)]*)\)", d.text)
                    params = {p.strip() for p in match.group(1).split(",")} if match else set()
                    for fragment in set(d.pasted) - params:
                        names.update(n for n in defined if fragment in n)
            names.update(_live_tests(header, names))
        if names == before:
            return names


def _live_tests(header: list, names: set[str]) -> set[str]:
    stack: list[int] = []
    group_of: dict[int, int] = {}
    live: set[int] = set()
    for index, d in enumerate(header):
        if d.kind in OPENING:
            stack.append(index)
            group_of[index] = index
        elif d.kind in ("elif", "else", "endif"):
            if not stack:
                return {n for d in header if d.kind in OPENING | {"elif"} for n in d.identifiers}
            group_of[index] = stack[-1]
            if d.kind == "endif":
                stack.pop()
        elif d.kind not in ("define", "undef") or d.name in names:
            live.update(stack)
    if stack:  # unbalanced: every conditional counts
        return {n for d in header if d.kind in OPENING | {"elif"} for n in d.identifiers}
    return {
        n
        for index, d in enumerate(header)
        if d.kind in OPENING | {"elif"} and group_of[index] in live
        for n in d.identifiers
    }


# (id, headers, seeds)
ROWS = [
    ("a chain through two headers",
     ["#define TS (PS << ORDER)\n#define ORDER 2\n", "#define PS (1 << SHIFT)\n#define SHIFT 12\n"],
     {"TS"}),
    ("a conditional around a relevant definition counts, around another does not",
     ["#ifdef CONFIG_A\n#define TS 1\n#endif\n#ifdef CONFIG_B\n#define OTHER 1\n#endif\n"],
     {"TS"}),
    ("a definition becomes relevant in a later round, through another header's conditional",
     ["#if X_LEVEL > 1\n#define TS 2\n#endif\n",
      "#ifdef CONFIG_DEEP\n#define X_LEVEL 3\n#endif\n#define X_LEVEL_UNUSED 1\n"],
     {"TS"}),
    ("the same, the defining header first: only a second round finds CONFIG_DEEP",
     ["#ifdef CONFIG_DEEP\n#define X_LEVEL 3\n#endif\n#define X_LEVEL_UNUSED 1\n",
      "#if X_LEVEL > 1\n#define TS 2\n#endif\n"],
     {"TS"}),
    ("an include, an #error and a #warning make their groups live",
     ['#ifdef CONFIG_I\n#include <linux/a.h>\n#endif\n#if CONFIG_E\n#error "e"\n#endif\n'
      '#ifdef CONFIG_W\n#warning "w"\n#endif\n#ifdef CONFIG_Q\n#define Q 1\n#endif\n'],
     set()),
    ("elif and else branches of a live group",
     ["#if defined(CONFIG_P)\n#define TS 1\n#elif CONFIG_R > 2\n#define TS 2\n#else\n"
      "#define TS 3\n#endif\n"],
     {"TS"}),
    ("a pasted fragment reaches every name that holds it, but not a parameter",
     ["#define SIZE(kind) kind##_STACK_SIZE\n#define IRQ_STACK_SIZE 4\n"
      "#define EXC_STACK_SIZE (IRQ_STACK_SIZE + PAD)\n#define PAD 1\n#define TS SIZE(IRQ)\n"
      "#define GLUE(a) a##_SUFFIX_X\n#define ONE_SUFFIX_X 1\n"],
     {"TS", "GLUE"}),
    ("an unbalanced header: all its conditionals count",
     ["#ifdef CONFIG_OPEN\n#define NOTHING 1\n#if CONFIG_NESTED\n#endif\n"],
     set()),
    ("an #undef of a relevant name is one of its definitions",
     ["#ifdef CONFIG_U\n#undef TS\n#endif\n#define TS 4\n"],
     {"TS"}),
]  # fmt: skip


@pytest.mark.parametrize(("texts", "seeds"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_relevant_names_equal_the_plain_fixpoint(texts, seeds):
    headers = [facts_of(text.encode()) for text in texts]
    expected = reference(headers, seeds)
    assert relevant_names(headers, set(seeds)) == expected
    assert expected != set(seeds) or not any(headers)


SEEDS = {"THREAD_SIZE", "THREAD_SIZE_ORDER", "THREAD_ORDER", "IRQ_STACK_SIZE", "PAGE_SIZE"}


@pytest.mark.parametrize("era", sorted(p.name for p in FIXTURES.iterdir()))
def test_relevant_names_equal_the_plain_fixpoint_on_each_era(era):
    paths = sorted((FIXTURES / era).rglob("*.h"))
    headers = [facts_of(path.read_bytes()) for path in paths]
    assert headers
    expected = reference(headers, set(SEEDS))
    assert relevant_names(headers, set(SEEDS)) == expected
    assert any(n.startswith("CONFIG_") for n in expected)
