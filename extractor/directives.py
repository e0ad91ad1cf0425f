"""Directives: a header's preprocessor lines, found without running the preprocessor.

In: a header's bytes or text.
Out: the text with only its directive lines kept (comments blanked, every line
in place), and per-blob facts about each directive (what it defines, tests or
includes), which the cache keys results by.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

_COMMENT_OR_LITERAL = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S
)
_NEWLINE_MARK = "\x01"

#: text -> its skeleton, for the last texts asked: a new header version is asked
#: twice, by the preprocessor's memo and by the cache's facts (548 times on 123
#: real tags x 2 arches, 0.2 s)
_SKELETONS: OrderedDict[str, str] = OrderedDict()
#: the characters of text ``_SKELETONS`` holds at most
MAX_SKELETON_CHARS = 8_000_000
_HELD = [0]


def directive_skeleton(text: str) -> str:
    """Only the directive lines of ``text``, comments blanked, lines kept in place.

    A comment becomes one space (as C says) even when it spans lines; the lines
    it swallowed come back as empty lines after the logical line, so every
    directive keeps its line number.
    """
    found = _SKELETONS.get(text)
    if found is None:
        found = _SKELETONS[text] = _skeleton(text)
        _HELD[0] += len(text)
        while _HELD[0] > MAX_SKELETON_CHARS and len(_SKELETONS) > 1:
            _HELD[0] -= len(_SKELETONS.popitem(last=False)[0])
    return found


def _blank(match: re.Match[str]) -> str:
    """A comment as one space, with a mark for each newline it swallowed; a literal
    as it is."""
    found = match.group(0)
    if found.startswith("/*"):
        return " " + _NEWLINE_MARK * found.count("\n")
    if found.startswith("//"):
        return " "
    return found


def _skeleton(text: str) -> str:
    # (once per header version, on every line of it: a line that neither continues
    # nor held part of a comment takes the short way)
    stripped = _COMMENT_OR_LITERAL.sub(_blank, text)
    out: list[str] = []
    append = out.append
    pending: list[str] = []
    swallowed = 0
    marked = _NEWLINE_MARK in stripped
    for line in stripped.split("\n"):
        if marked and _NEWLINE_MARK in line:
            swallowed += line.count(_NEWLINE_MARK)
            line = line.replace(_NEWLINE_MARK, "")
        if line.endswith("\\"):
            pending.append(line[:-1])
            swallowed += 1
            continue
        if pending:
            line = "".join(pending) + line
            pending = []
        append(line if line.lstrip().startswith("#") else "")
        if swallowed:
            out.extend([""] * swallowed)
            swallowed = 0
    if pending:
        logical = "".join(pending)
        append(logical if logical.lstrip().startswith("#") else "")
        out.extend([""] * swallowed)
    return "\n".join(out)


_DIRECTIVE = re.compile(r"^\s*#\s*([A-Za-z_]\w*)?(.*)$")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_PASTED_LEFT = re.compile(r"([A-Za-z_]\w*)\s*##")
_PASTED_RIGHT = re.compile(r"##\s*([A-Za-z_]\w*)")
_INCLUDED = re.compile(r'"(?:\\.|[^"\\])*"|<[^>]*>')
CONDITIONALS = frozenset({"if", "ifdef", "ifndef", "elif"})


@dataclass(frozen=True)
class Directive:
    """One directive of a header, as the cache's per-blob facts see it."""

    line: int
    kind: str
    #: the macro a #define/#undef names, else ""
    name: str
    #: the directive with whitespace collapsed
    text: str
    #: identifiers after the directive name (a define's body, an #if's expression)
    identifiers: tuple[str, ...]
    #: identifiers pasted with ## in a define's body (names built from them matter)
    pasted: tuple[str, ...] = ()


def directive_facts(text: str) -> list[Directive]:
    """Every directive of a header's text with its line: what can change macros."""
    facts: list[Directive] = []
    append, match_line, identifiers = facts.append, _DIRECTIVE.match, _IDENT.findall
    for number, line in enumerate(directive_skeleton(text).split("\n"), 1):
        if not line:
            continue
        match = match_line(line)
        if not match:
            continue
        kind, rest = match.group(1) or "", match.group(2)
        # (an include's file name is not a name)
        words = identifiers(_INCLUDED.sub("", rest) if kind == "include" else rest)
        name = words[0] if kind in ("define", "undef") and words else ""
        body = words[1:] if name else words
        pasted: tuple[str, ...] = ()
        if kind == "define" and "##" in rest:
            pasted = tuple(_PASTED_LEFT.findall(rest) + _PASTED_RIGHT.findall(rest))
        normalized = " ".join(f"#{kind}{rest}".split())
        append(Directive(number, kind, name, normalized, tuple(body), pasted))
    return facts


def decode_text(data: bytes) -> str:
    """Header bytes as text, the way the preprocessor reads them."""
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")
