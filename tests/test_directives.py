"""``directives``: a header's directive lines and per-blob facts, as a table.

Each row is a small header written to catch one rule: which lines are kept and
where, what a directive defines, tests or includes, and which fragments a
``##`` pastes. The cache keys results by these facts, so a fact read wrong is a
stale result, not a crash.
"""

from __future__ import annotations

import pytest

from extractor.directives import directive_facts, directive_skeleton

SKELETONS = [
    # (why, header text, its skeleton)
    ("code lines become empty lines, directives stay in place",
     "int x;\n#define A 1\nint y;\n", "\n#define A 1\n\n"),
    ("a continued directive is one line; the lines it took follow it empty",
     "#define A \\\n  1 \\\n  2\nint z;\n#if A\n", "#define A   1   2\n\n\n\n#if A\n"),
    ("a comment over lines is one space; its lines come back after the directive",
     "#define B /* one\ntwo\nthree */ 2\n#endif\n", "#define B   2\n\n\n#endif\n"),
    ("a line comment goes, a string's slashes stay",
     '#define C "a//b" // note\n', '#define C "a//b"  \n'),
    ("a code line continued into a directive-looking line is code",
     "int a = \\\n#b;\n#undef D\n", "\n\n#undef D\n"),
    ("indented and spaced directives count",
     "  #  include <x.h>\n", "  #  include <x.h>\n"),
    ("a continuation on the last line ends the text",
     "#define E \\", "#define E \n"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "text", "expected"), SKELETONS, ids=[r[0] for r in SKELETONS])
def test_skeleton(why, text, expected):
    assert directive_skeleton(text) == expected


FACTS = [
    # (why, header text, [(line, kind, name, identifiers, pasted)])
    ("a define names its macro; its body's names are what it uses",
     "#define THREAD_SIZE (PAGE_SIZE << THREAD_ORDER)\n",
     [(1, "define", "THREAD_SIZE", ("PAGE_SIZE", "THREAD_ORDER"), ())]),
    ("a function-like define lists its parameters among the names",
     "#define F(x) ((x) + G)\n", [(1, "define", "F", ("x", "x", "G"), ())]),
    ("only a define with ## pastes, both sides",
     "#define CAT(a) PRE_##a##_POST\n#define N 1\n",
     [(1, "define", "CAT", ("a", "PRE_", "a", "_POST"), ("PRE_", "a", "a", "_POST")),
      (2, "define", "N", (), ())]),
    ("an #if's ## is not a paste",
     "#if A ## B\n#endif\n", [(1, "if", "", ("A", "B"), ()), (2, "endif", "", (), ())]),
    ("an undef names its macro",
     "#undef X\n", [(1, "undef", "X", (), ())]),
    ("an include's file name is not a name, a macro include's is",
     '#include <linux/types.h>\n#include "local.h"\n#include ASM_HEADER\n',
     [(1, "include", "", (), ()), (2, "include", "", (), ()),
      (3, "include", "", ("ASM_HEADER",), ())]),
    ("conditionals list what they test; lines count from 1 and skip code",
     "int a;\n#ifdef CONFIG_X\n#elif defined(Y) && Z > 2\n#else\n#endif\n",
     [(2, "ifdef", "", ("CONFIG_X",), ()), (3, "elif", "", ("defined", "Y", "Z"), ()),
      (4, "else", "", (), ()), (5, "endif", "", (), ())]),
    ("a bare # is a directive with no kind",
     "#\n", [(1, "", "", (), ())]),
]  # fmt: skip


@pytest.mark.parametrize(("why", "text", "expected"), FACTS, ids=[r[0] for r in FACTS])
def test_facts(why, text, expected):
    found = [(d.line, d.kind, d.name, d.identifiers, d.pasted) for d in directive_facts(text)]
    assert found == expected


def test_facts_text_is_the_directive_with_whitespace_collapsed():
    (fact,) = directive_facts("#  define   A \\\n   (1 +  2)\n")
    assert fact.text == "#define A (1 + 2)"
