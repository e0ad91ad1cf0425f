"""kstack's one-loop lexer against pcpp's own ``group_lines``, token for token.

``preprocess_lex.lines_of`` must give what pcpp gives (each line's tokens with
their type, value, line and source) for every text, and the same less the lines
that are a lone newline when asked to leave them out: the rows below, every
fixture header as written (comments, strings and continued lines included) and
as its directive skeleton, and texts hypothesis makes from C's pieces.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcpp import Preprocessor

from extractor import directives, preprocess_lex
from extractor.directives import decode_text, directive_skeleton

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# (id, text)
ROWS = [
    ("empty", ""),
    ("one line, no newline", "#define A 1"),
    ("a newline at the end", "#define A 1\n"),
    ("a blank last line", "#define A 1\n\n"),
    ("blank lines only", "\n\n\n"),
    ("blanks at line ends", "#define A 1   \n#define B\t\n"),
    ("numbers of every kind", "#if 0x1fUL + 077 + 1.5e3 + 12lu + 1e9\n#endif\n"),
    ("a string and a char", "#define S \"a b\" 'c' L'd'\n"),
    ("a string with escapes", '#define S "a\\"b\\\\" "x"\n'),
    ("an unterminated quote", "#error don't do this\n#define A 1\n"),
    ("a continued line", "#define A 1 + \\\n 2\n#define B 3\n"),
    ("a continued string", '#define S "a\\\nb"\n'),
    ("a block comment over lines", "/* one\n two */ #define A 1\n#define B 2\n"),
    ("a line comment", "#define A 1 // one\n"),
    ("characters no rule takes", "#define A @ $ ` \x01\n"),
    ("a form feed splits lines", "#define A 1\x0c#define B 2\n"),
    ("carriage returns", "#define A 1\r\n#define B 2\r\n"),
    ("every punctuator", "<<= >>= -> ++ -- << >> <= >= == != && || += -= *= /= %= &= |= ^= ##\n"),
]


def _shape(lines) -> list[list[tuple]]:
    return [[(t.type, t.value, t.lineno, t.source) for t in line] for line in lines]


def _pcpp(text: str) -> list[list[tuple]]:
    return _shape(Preprocessor().group_lines(text, "/t.h"))


def _ours(text: str) -> list[list[tuple]]:
    return _shape(preprocess_lex.lines_of(Preprocessor(), text, "/t.h"))


def _agree(text: str) -> bool:
    """Ours equals pcpp's, and so does ours without empty lines (what ``lexed``
    keeps) with pcpp's lines that are a lone newline left out."""
    pcpp = _pcpp(text)
    unempty = [line for line in pcpp if len(line) > 1 or line[0][1] != "\n"]
    lines = preprocess_lex.lines_of(Preprocessor(), text, "/t.h", empty_lines=False)
    return _ours(text) == pcpp and _shape(lines) == unempty


@pytest.mark.parametrize("text", [r[1] for r in ROWS], ids=[r[0] for r in ROWS])
def test_a_text_lexes_as_pcpp_lexes_it(text):
    assert _agree(text)


def test_every_fixture_header_lexes_as_pcpp_lexes_it():
    headers = sorted(FIXTURES.rglob("*.h"))
    assert len(headers) > 50
    for header in headers:
        text = decode_text(header.read_bytes())
        assert _agree(text), header
        assert _agree(directive_skeleton(text)), header


def test_skeletons_kept_are_bounded_and_the_same_as_computed(monkeypatch):
    """The preprocessor's memo and the cache's facts both ask for a new header's
    skeleton: the second is answered from a memo that holds a bounded amount of text."""
    monkeypatch.setattr(directives, "MAX_SKELETON_CHARS", 1000)
    texts = [f"#define A{n} 1 /* {n} */\nint x; // {n}\n" * 20 for n in range(50)]
    for text in texts + texts[::-1]:
        assert directive_skeleton(text) == directives._skeleton(text)
    assert directives._HELD[0] <= 1000 + max(len(t) for t in texts)


PIECES = st.sampled_from(
    ["#", "define", " ", "\t", "\n", "\\\n", "A", "x1", "0x2UL", "07", "1.5", "(", ")", "<<",
     '"', "'", "/*", "*/", "//", "@", "\\", "-", ">", "="]
)  # fmt: skip


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=40).map("".join))
def test_any_text_lexes_as_pcpp_lexes_it(text):
    assert _agree(text)


SUFFIXES = ["", "x", "1", "=", "==", "=x", "#", "##", "*/", "/", "\n", "\\\n", " ", "'", '"',
            "a'", 'a"', "xUL", ".5", "e5", "<", ">", "&", "|", "+", "-", "\t"]  # fmt: skip


def test_the_split_expression_matches_as_the_whole_one_at_every_character():
    """``_by_first_character``: at a position holding each ASCII character, the
    expression of the rules that can start with it gives the rule and the text the
    master expression gives (the first rule that matches, in PLY's order)."""
    pp = Preprocessor()
    regex, rules = pp.lexer.lexre[0]
    table = preprocess_lex._by_first_character(regex, rules)
    assert set(table) == {chr(code) for code in range(128)}
    for code in range(128):
        match, kinds = table[chr(code)]
        for suffix in SUFFIXES:
            for text, at in ((chr(code) + suffix, 0), ("q" + chr(code) + suffix, 1)):
                whole, part = regex.match(text, at), match(text, at)
                assert (whole is None) == (part is None), (text, at)
                if whole is not None:
                    assert rules[whole.lastindex] == kinds[part.lastindex], (text, at)
                    assert whole.group() == part.group(), (text, at)


def test_the_expression_is_split():
    """Most characters leave most rules out (else lexing is back to 1 us a token)."""
    pp = Preprocessor()
    regex, rules = pp.lexer.lexre[0]
    table = preprocess_lex._by_first_character(regex, rules)
    rules_at = {char: table[char][0].__self__.pattern.count("(?P<") for char in "aL#<=0 "}
    assert rules_at == {"a": 1, "L": 2, "#": 2, "<": 4, "=": 3, "0": 2, " ": 1}
    assert table["@"][0]("@", 0) is None  # no rule starts with @: a literal, as PLY has it


def test_an_expression_that_does_not_split_into_rules_is_used_whole():
    """A master expression whose top-level ``|`` the split misreads (here one inside
    a verbose-mode comment) gives parts that are not whole rules: it is not split,
    and every character takes the whole expression (an empty table)."""
    regex = re.compile("(?P<t_A>a # )|( \n)|(?P<t_B>b)", re.VERBOSE)
    assert preprocess_lex._by_first_character(regex, [None, (None, "A"), (None, "B")]) == {}
