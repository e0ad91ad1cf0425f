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
comments, continuations), with PLY's lexer as it expects. At each position it
tries only the rules that can start with the character there, in PLY's order
(``_by_first_character``): the first that matches is the one PLY finds. A lexer
PLY built differently (several master expressions, ignored characters) is left
to pcpp.
"""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from typing import Any

from pcpp.parser import LexToken  # type: ignore[import-untyped]  # the class pcpp's lexer makes

try:  # CPython's parser of expressions (``_by_first_character``); without it, no rule is left out
    from re import _constants as re_constants
    from re import _parser as re_parser
except ImportError:  # pragma: no cover
    re_constants = re_parser = None

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
    new = LexToken.__new__
    by_first, every = _by_first_character(regex, rules), (regex.match, rules)
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
        match, kinds = by_first.get(data[position], every)
        found = match(data, position)
        token = new(LexToken)
        token.lineno, token.lexpos = lineno, position
        if found is None:  # a literal, or PLY's t_error: one character, its own type
            token.type = token.value = data[position]
            position += 1
        else:
            rule, token.type = kinds[found.lastindex]
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


# --- the master expression, by first character ----------------------------------------


def _nothing(data: str, position: int) -> None:
    """The match of no rule: what the master expression gives where no rule can start."""
    return None


#: id of a master expression -> it, and per ASCII character the expression of only
#: the rules a token can start with there (the same rules, in the same order)
_BY_FIRST: dict[int, tuple[Any, dict[str, tuple[Any, list[Any]]]]] = {}
_ASCII = [chr(code) for code in range(128)]


def _by_first_character(regex: Any, rules: list[Any]) -> dict[str, tuple[Any, list[Any]]]:
    """For each ASCII character, a ``match`` that gives what ``regex.match`` gives at
    a position holding that character, and the rule table for its groups; empty
    when the expression cannot be split (every position then takes ``regex``).

    PLY's master expression tries its 60 rules in order at each position, and that
    was 70% of lexing (1.1 us a token). A rule that cannot start with the character
    at hand cannot match there, so leaving it out changes nothing; the first rule
    that matches is the same. A non-ASCII character takes the whole expression.
    """
    known = _BY_FIRST.get(id(regex))
    if known is not None and known[0] is regex:
        return known[1]
    table: dict[str, tuple[Any, list[Any]]] = {}
    parts = _alternatives(regex.pattern)
    try:  # (a part that is not a whole rule does not compile, or miscounts the groups)
        compiled = [re.compile(part, regex.flags) for part in parts]
    except re.error:
        compiled = []
    if compiled and sum(c.groups for c in compiled) == regex.groups:
        outer, index = [], 1  # each rule's group in the master expression
        for each in compiled:
            outer.append(index)
            index += each.groups
        firsts = [_first_characters(part, regex.flags) for part in parts]
        made: dict[tuple[int, ...], tuple[Any, list[Any]]] = {}
        for char in _ASCII:
            chosen = tuple(k for k, first in enumerate(firsts) if first is None or char in first)
            if chosen not in made:
                made[chosen] = _subset(parts, compiled, outer, chosen, regex.flags, rules)
            table[char] = made[chosen]
    _BY_FIRST[id(regex)] = (regex, table)
    return table


def _subset(
    parts: list[str], compiled: list[Any], outer: list[int], chosen: tuple[int, ...], flags: int,
    rules: list[Any],
) -> tuple[Any, list[Any]]:  # fmt: skip
    """The expression of the ``chosen`` rules, in order, and its group -> rule table."""
    if not chosen:
        return _nothing, rules
    regex = re.compile("|".join(parts[k] for k in chosen), flags)
    kinds: list[Any] = [None] * (regex.groups + 1)
    index = 1
    for k in chosen:
        kinds[index] = rules[outer[k]]
        index += compiled[k].groups
    return regex.match, kinds


def _alternatives(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|``."""
    parts, depth, start, index, in_class = [], 0, 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += pattern.startswith("^", index + 1)
            index += pattern.startswith("]", index + 1)  # (a ] first is a member)
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and not depth:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return parts


def _first_characters(part: str, flags: int) -> set[str] | None:
    """The ASCII characters a match of ``part`` can start with; None where that is
    not worked out (a construct not handled, or an empty match): any character."""
    if re_parser is None or flags & re.IGNORECASE:  # (a literal's other case is no member)
        return None
    try:
        found, empty = _sequence(re_parser.parse(part, flags))
    except (LookupError, re.error, TypeError, ValueError):
        return None
    return None if empty else found


def _sequence(items: Any) -> tuple[set[str], bool]:
    """First characters of a sequence of parsed items, and whether it can match empty."""
    out: set[str] = set()
    for op, arg in items:
        found, empty = _item(op, arg)
        out |= found
        if not empty:
            return out, False
    return out, True


def _item(op: Any, arg: Any) -> tuple[set[str], bool]:
    if op is re_constants.LITERAL:
        return ({chr(arg)} if arg < 128 else set()), False
    if op is re_constants.NOT_LITERAL or op is re_constants.ANY:
        return set(_ASCII), False
    if op is re_constants.IN:
        return _class(arg), False
    if op is re_constants.AT:  # (``^``: an anchor, no character)
        return set(), True
    if op is re_constants.SUBPATTERN:
        return _sequence(arg[3])
    if op is re_constants.BRANCH:
        out: set[str] = set()
        empty = False
        for branch in arg[1]:
            found, can = _sequence(branch)
            out, empty = out | found, empty or can
        return out, empty
    if op is re_constants.MAX_REPEAT or op is re_constants.MIN_REPEAT:
        found, empty = _sequence(arg[2])
        return found, empty or arg[0] == 0
    raise LookupError(op)


def _class(items: Any) -> set[str]:
    """The ASCII members of a parsed character class, found by matching each one."""
    written = []
    for op, arg in items:
        if op is re_constants.LITERAL:
            written.append(re.escape(chr(arg)))
        elif op is re_constants.RANGE:
            written.append(f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}")
        elif op is re_constants.NEGATE:
            written.insert(0, "^")
        elif op is re_constants.CATEGORY and arg in _CATEGORIES:
            written.append(_CATEGORIES[arg])
        else:
            raise LookupError(op)
    member = re.compile("[" + "".join(written) + "]").match
    return {char for char in _ASCII if member(char)}


_CATEGORIES = {} if re_constants is None else {
    getattr(re_constants, f"CATEGORY{uni}{name}"): code
    for uni in ("_", "_UNI_")
    for name, code in (("DIGIT", r"\d"), ("NOT_DIGIT", r"\D"), ("SPACE", r"\s"),
                       ("NOT_SPACE", r"\S"), ("WORD", r"\w"), ("NOT_WORD", r"\W"))
}  # fmt: skip


def _rule(rules: list[Any], kind: str) -> Any:
    """The rule function PLY calls for tokens of ``kind`` (None if it has none)."""
    return next((rule[0] for rule in rules if rule is not None and rule[1] == kind), None)
