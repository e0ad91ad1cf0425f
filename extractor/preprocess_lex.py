"""Lexing for the preprocess stage: pcpp's lines of tokens, made in one loop.

In: a text (a header's directive skeleton, mostly) and the path pcpp knows it by.
Out: what pcpp's ``group_lines`` makes of it: one list of tokens per line, each
ending in its newline token, every token with pcpp's type, value, line and
source. Each text is lexed once per process (``lexed`` keeps the lines, less
the empty ones: they only add to pcpp's output, which kstack never reads).

pcpp lexes through PLY: a method call per token, a rule function called for
each blank and each number, and ``group_lines`` looping over the tokens once
more. Real history lexes about a million tokens per hundred tags (directive
lines not seen before), and that was 8% of a cold run. ``lines_of`` runs PLY's
own master expression and rule table in one loop instead, making the tokens of
the rules without a function (names, punctuation), of blanks and of numbers
itself, and calling pcpp's rule function for the rest (strings, characters,
comments, continuations), with PLY's lexer as it expects. A lexer PLY built
differently (several master expressions, ignored characters) is left to pcpp.
"""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from typing import Any

from pcpp.parser import LexToken  # type: ignore[import-untyped]  # the class pcpp's lexer makes

#: (source, text) -> its lines of tokens, least recently used first
_LEXED: OrderedDict[tuple[str, str], list[list[Any]]] = OrderedDict()
_LEXED_TOKENS = [0]
#: tokens kept lexed across cells (about 200 bytes each)
MAX_LEXED_TOKENS = 60_000


def forget() -> None:
    _LEXED.clear()
    _LEXED_TOKENS[0] = 0


def remember_lexed(key: tuple[str, str], lines: list[list[Any]]) -> None:
    """Keep ``lines``, forgetting the texts used longest ago (not all of them: on
    45 real tags a third of the lexing redid texts a wholesale clear had dropped)."""
    count = sum(len(line) for line in lines)
    while _LEXED and _LEXED_TOKENS[0] + count > MAX_LEXED_TOKENS:
        _, dropped = _LEXED.popitem(last=False)
        _LEXED_TOKENS[0] -= sum(len(line) for line in dropped)
    _LEXED[key] = lines
    _LEXED_TOKENS[0] += count


def lexed(pp: Any, text: str, source: str) -> list[list[Any]]:
    """pcpp's ``group_lines(text, source)`` but for its empty lines, once per text in
    this process. An empty line only adds a newline to pcpp's output, which kstack
    never reads (it reads the macro table), and a directive skeleton is four fifths
    empty lines: on 123 real tags, 142,000 of 181,000 lines lexed."""
    key = (source, text)
    lines = _LEXED.get(key)
    if lines is not None:
        _LEXED.move_to_end(key)
        return lines
    lines = lines_of(pp, text, source, empty_lines=False)
    remember_lexed(key, lines)
    return lines


def lines_of(pp: Any, text: str, source: str, *, empty_lines: bool = True) -> list[list[Any]]:
    """pcpp's ``group_lines(text, source)``, in one loop (see the module docstring);
    without ``empty_lines``, the lines pcpp gives as a lone newline are left out."""
    lexer = pp.lexer
    if len(lexer.lexre) != 1 or lexer.lexignore:
        whole = list(pp.whole_group_lines(text, source))
        if empty_lines:
            return whole
        return [line for line in whole if len(line) > 1 or line[0].value != "\n"]
    regex, rules = lexer.lexre[0]
    blank, number = _rule(rules, "CPP_WS"), _rule(rules, "CPP_INTEGER")
    data = "\n".join(line.rstrip() for line in text.splitlines())
    ply = lexer.clone()  # what a rule function is handed as ``t.lexer``
    ply.input(data)
    whitespace, newline = pp.t_WS, pp.t_NEWLINE
    match, new = regex.match, LexToken.__new__
    lines: list[list[Any]] = []
    current: list[Any] = []
    lineno, position, end = 1, 0, len(data)
    empty = None if empty_lines else _EMPTY_LINES.match
    while position < end:
        if empty is not None and not current and data[position] == "\n":
            run = empty(data, position)  # empty lines: counted, not lexed
            after = run.end() if run is not None else position + 1  # (it matches here)
            lineno, position = lineno + after - position, after
            continue
        found = match(data, position)
        token = new(LexToken)
        token.lineno, token.lexpos = lineno, position
        if found is None:  # a literal, or PLY's t_error: one character, its own type
            token.type = token.value = data[position]
            position += 1
        else:
            rule, token.type = rules[found.lastindex]
            token.value = value = found.group()
            position = found.end()
            if rule is blank:
                lineno += value == "\n"  # (its expression: blanks, or one newline)
            elif rule is not None and rule is not number:
                token.lexer, ply.lineno, ply.lexpos, ply.lexmatch = ply, lineno, position, found
                token = rule(token)
                lineno, position = ply.lineno, ply.lexpos
                if not token:
                    continue
        token.source = source
        current.append(token)
        if token.value == "\n" and token.type in whitespace:
            lines.append(current)
            current = []
    if current:
        last = copy.copy(current[-1])
        last.type, last.value = newline, "\n"
        current.append(last)
        lines.append(current)
    return lines


_EMPTY_LINES = re.compile("\n+")


def _rule(rules: list[Any], kind: str) -> Any:
    """The rule function PLY calls for tokens of ``kind`` (None if it has none)."""
    return next((rule[0] for rule in rules if rule is not None and rule[1] == kind), None)
