"""``#define`` as kstack makes it against pcpp's own ``define``, row by row.

An object-like definition is made without copying its tokens (they stay shared
with the lexed line, which ``group_lines`` keeps per header text); a
function-like one goes to pcpp. Each row is read by plain pcpp and by pcpp with
kstack's split, and the macros must agree in name, tokens, parameters, variadic
flag and line. Then the same lexed lines are defined and expanded again and
again: an expansion that edited a shared token would change the next round.
"""

from __future__ import annotations

import pytest
from pcpp import Preprocessor

from extractor.preprocess import define_object_like, object_like

# (id, one #define line, object-like)
ROWS = [
    ("no value", "#define GUARD_H", True),
    ("a number", "#define PAGE_SHIFT 12", True),
    ("a shift of names", "#define THREAD_SIZE (PAGE_SIZE << THREAD_SIZE_ORDER)", True),
    ("a call of a function-like macro", "#define PAGE_SIZE (_AC(1,UL) << PAGE_SHIFT)", True),
    ("blanks and a comment around", "#define ORDER  2   /* 16K */  ", True),
    ("a tab before the value", "#define ORDER\t2", True),
    ("a lone hash", "#define HASH # x", True),
    ("a lone paste", "#define PASTE a ## b", True),
    ("function-like", "#define _AC(X,Y) (X##Y)", False),
    ("function-like, stringized", "#define STR(x) #x", False),
    ("variadic", "#define V(fmt, ...) f(fmt, __VA_ARGS__)", False),
    ("no parameters", "#define F() 1", False),
]


class _Split(Preprocessor):  # type: ignore[misc]
    """pcpp with kstack's ``define`` split (without kstack's bookkeeping)."""

    def __init__(self):
        self.object_like = []
        super().__init__()

    def define(self, tokens):
        if isinstance(tokens, str):  # pcpp's own predefined macros
            return super().define(tokens)
        self.object_like.append(object_like(tokens, self.t_WS))
        if self.object_like[-1]:
            define_object_like(self, tokens)
        else:
            super().define(tokens)


def _read(pp, text):
    pp.object_like = []
    pp.parse(text, "/t.h")
    while pp.token() is not None:  # pcpp fills its macro table as it is drained
        pass
    return pp


def _macros(pp):
    return {
        name: ([t.value for t in m.value], m.arglist, m.variadic, m.lineno)
        for name, m in pp.macros.items()
        if name.isupper() or name.startswith("_")
    }


@pytest.mark.parametrize(("line", "objectlike"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_a_define_makes_the_macro_pcpp_makes(line, objectlike):
    text = f"int before;\n{line}\n"
    split = _read(_Split(), text)
    assert split.object_like == [objectlike]
    assert _macros(split) == _macros(_read(Preprocessor(), text))


def test_shared_tokens_survive_expansion():
    """Every row defined from one lexed copy of its line, then every name expanded
    (as ``#if`` and kstack's fold do), three times over: the same each time."""
    text = "".join(f"{line}\n" for _, line, _ in ROWS)
    lexer = _Split()
    lines = [line for line in lexer.group_lines(text, "/t.h")]
    rounds = []
    for _ in range(3):
        pp = _Split()
        for line in lines:
            tokens = [t for t in line if t.type not in pp.t_WS]
            if tokens and tokens[0].value == "#":
                start = line.index(tokens[1]) + 1
                args = pp.tokenstrip(list(line[start:]))
                pp.define(args)
        shown = {}
        for name in list(pp.macros):
            use = f"{name}(1, 2)" if pp.macros[name].arglist is not None else name
            shown[name] = "".join(str(t.value) for t in pp.expand_macros(pp.tokenize(use)))
        rounds.append((shown, [[t.value for t in line] for line in lines]))
    assert rounds[0] == rounds[1] == rounds[2]
    assert rounds[0][0]["THREAD_SIZE"] == "((_AC(1,UL) << 12) << THREAD_SIZE_ORDER)".replace(
        "_AC(1,UL)", "(1UL)"
    )
