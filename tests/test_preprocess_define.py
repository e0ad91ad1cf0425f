"""``#define`` as kstack makes it against pcpp's own ``define``, row by row.

A definition is made without copying its tokens (they stay shared with the
lexed line, which ``group_lines`` keeps per header text), except one with a
variadic or malformed parameter list, which goes to pcpp. Each row is read by
plain pcpp and by pcpp with kstack's split, and the macros must agree in name,
tokens and their types, parameters, variadic flag, file, line and prescan
patches. Then the same lexed lines are defined and expanded again and again: an
edit of a shared token would show against the lines as they were lexed.
"""

from __future__ import annotations

import pytest
from pcpp import Preprocessor

from extractor.preprocess import define_shared

# (id, one #define line, made with shared tokens)
ROWS = [
    ("no value", "#define GUARD_H", True),
    ("a number", "#define PAGE_SHIFT 12", True),
    ("a shift of names", "#define THREAD_SIZE (PAGE_SIZE << THREAD_SIZE_ORDER)", True),
    ("a call of a function-like macro", "#define PAGE_SIZE (_AC(1,UL) << PAGE_SHIFT)", True),
    ("blanks and a comment around", "#define ORDER  2   /* 16K */  ", True),
    ("a tab before the value", "#define ORDER\t2", True),
    ("a lone hash", "#define HASH # x", True),
    ("a lone paste", "#define PASTE a ## b", True),
    ("function-like, pasted", "#define _AC(X,Y) (X##Y)", True),
    ("function-like, blanks around the paste", "#define CAT(a, b) a ## b", True),
    ("function-like, stringized", "#define STR(x) #x", True),
    ("stringized, then used plainly", "#define TWICE(x) #x x", True),
    ("blanks inside the parameter list", "#define ADD( a , b ) ((a) + (b))", True),
    ("no parameters", "#define F() 1", True),
    ("a body that is empty", "#define NOP(x)", True),
    ("variadic", "#define V(fmt, ...) f(fmt, __VA_ARGS__)", False),
    ("named variadic", "#define G(args...) f(args)", False),
    ("a comma before a variadic paste", "#define P(f, ...) g(f, ## __VA_ARGS__)", False),
]


class _Split(Preprocessor):  # type: ignore[misc]
    """pcpp with kstack's ``define`` split (without kstack's bookkeeping)."""

    def __init__(self):
        self.shared = []
        super().__init__()

    def define(self, tokens):
        if isinstance(tokens, str):  # pcpp's own predefined macros
            return super().define(tokens)
        self.shared.append(define_shared(self, tokens))
        if not self.shared[-1]:
            super().define(tokens)


def _read(pp, text):
    pp.shared = []
    pp.parse(text, "/t.h")
    while pp.token() is not None:  # pcpp fills its macro table as it is drained
        pass
    return pp


def _macros(pp):
    return {
        name: (
            [(t.type, t.value) for t in m.value],
            m.arglist,
            m.variadic,
            m.source,
            m.lineno,
            getattr(m, "patch", None),
            getattr(m, "str_patch", None),
            getattr(m, "var_comma_patch", None),
        )
        for name, m in pp.macros.items()
        if name.isupper() or name.startswith("_")
    }


@pytest.mark.parametrize(("line", "objectlike"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_a_define_makes_the_macro_pcpp_makes(line, objectlike):
    text = f"int before;\n{line}\n"
    split = _read(_Split(), text)
    assert split.shared == [objectlike]
    assert _macros(split) == _macros(_read(Preprocessor(), text))


def test_shared_tokens_survive_expansion():
    """Every row defined from one lexed copy of its line, then every name expanded
    (as ``#if`` and kstack's fold do), three times over: the lexed lines are as
    they were lexed, and the expansions the same each round."""
    text = "".join(f"{line}\n" for _, line, _ in ROWS)
    lines = list(_Split().group_lines(text, "/t.h"))

    def snapshot():
        return [[(t.type, t.value) for t in line] for line in lines]

    lexed, rounds = snapshot(), []
    for _ in range(3):
        pp = _Split()
        for line in lines:
            tokens = [t for t in line if t.type not in pp.t_WS]
            if tokens and tokens[0].value == "#":
                start = line.index(tokens[1]) + 1
                pp.define(pp.tokenstrip(list(line[start:])))
        shown = {}
        for name in list(pp.macros):
            if name in ("__DATE__", "__TIME__"):  # pcpp's clock, not the lines: a second
                continue  # can tick between two rounds
            arglist = pp.macros[name].arglist
            use = name if arglist is None else f"{name}({', '.join(['1'] * len(arglist))})"
            shown[name] = "".join(str(t.value) for t in pp.expand_macros(pp.tokenize(use)))
        assert snapshot() == lexed
        rounds.append(shown)
    assert rounds[0] == rounds[1] == rounds[2]
    assert rounds[0]["THREAD_SIZE"] == "(((1UL) << 12) << THREAD_SIZE_ORDER)"
    assert rounds[0]["STR"] == '"1"'
