"""Kconfig entries: what the files say, and the parser of an entry's lines.

In: the lines of one ``config``/``menuconfig`` entry as the reader kept them,
and the text of ``if``, ``depends on``, ``default``, ``select ... if`` and
``range`` (the reader, ``kconfig_read``, calls in here for those).
Out: the entry's conditions, prompts, defaults and ranges as expressions
(``Expr`` tuples) that ``kconfig_eval`` decides; and ``KconfigValues``, the
answer a read fills in with its warnings and files.

An entry's lines are compiled (``_compile``) only when a symbol asked for
depends on it: most of a tree's thousands of entries are never parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

#: nested parentheses and ``!`` in one expression
MAX_EXPR_DEPTH = 64
#: warnings kept on a result; the rest are counted
MAX_WARNINGS = 200

#: ("sym", name) | ("const", text) | ("not", e) | ("and"|"or", (e, ...)) | ("cmp", op, a, b)
Expr = tuple

_TOKEN = re.compile(
    r"""\s*(?:("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(&&|\|\||!=|<=|>=|[!=<>()])"""
    r"""|([^\s"'!=<>()&|#]+)|(\S))"""
)
_NAME = re.compile(r"[A-Za-z0-9_]+")
_NUMBER = re.compile(r"-?[0-9]+|0[xX][0-9a-fA-F]+")
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_TYPES = {"bool": "bool", "boolean": "bool", "tristate": "bool"}
_TYPES |= {"int": "int", "hex": "hex", "string": "string"}


@dataclass(frozen=True)
class KconfigValue:
    """One symbol's value and the Kconfig line that decided it."""

    symbol: str  # "CONFIG_THREAD_SHIFT"
    value: str  # "14" / "0x..." / "y" / "n"
    path: str  # Kconfig file where the deciding default/prompt is ("" if none)
    line: int
    reason: str  # e.g. "default 14 if PPC64 (PPC64=y)"


class KconfigValues(dict[str, KconfigValue]):
    """``kconfig_values``'s answer: ``CONFIG_X`` -> value, with the reader's warnings.

    A symbol asked for but missing has no value under this config (defined in
    no file read, or an int whose dependencies fail); a warning says which.
    """

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        #: the Kconfig files read, in the order Kconfig reads them
        self.files: list[str] = []
        #: files a ``source`` names that the tree lacks: one that appears is read
        self.missing: list[str] = []
        #: every symbol some Kconfig file defines (names without ``CONFIG_``)
        self.defined: frozenset[str] = frozenset()
        #: symbols whose entries a build's ``$(shell,...)`` or make's environment
        #: would have answered (a compiler probe): name -> what was not run
        self.probed: dict[str, str] = {}
        #: what a cell's result can see of this answer, per kind of question and
        #: names shown (``kconfig_source._digest``): an answer is not changed once made
        self.digests: dict[tuple[str, bytes], str] = {}

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("further warnings not shown")


# --- what the files say ------------------------------------------------------------


@dataclass(frozen=True)
class _Cond:
    expr: Expr
    text: str


@dataclass(eq=False)
class _Block:
    """An ``if``, ``menu`` or ``choice``: its conditions hold for all it encloses."""

    kind: str
    deps: list[_Cond] = field(default_factory=list)


@dataclass(frozen=True)
class _Default:
    keyword: str  # "default", "def_bool", "option"
    value: Expr
    cond: _Cond | None
    text: str
    path: str
    line: int


@dataclass(eq=False)
class _Choice(_Block):
    path: str = ""
    line: int = 0
    #: the if/menu blocks around the choice
    outer: tuple[_Block, ...] = ()
    defaults: list[_Default] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    optional: bool = False
    #: its prompts' conditions (None: always shown): with none shown (or none at all),
    #: the choice is hidden and picks nothing (arm's "Kernel command line type" is
    #: shown only if CMDLINE != "")
    prompts: list[_Cond | None] = field(default_factory=list)


@dataclass(eq=False)
class _Node:
    """One ``config``/``menuconfig`` entry; a symbol may have several."""

    name: str
    path: str
    line: int
    blocks: tuple[_Block, ...]
    #: (keyword, rest of the line, line number), parsed by ``_compile`` when needed
    lines: list[tuple[str, str, int]] = field(default_factory=list)
    compiled: bool = False
    kind: str | None = None
    depends: list[_Cond] = field(default_factory=list)
    prompts: list[_Cond | None] = field(default_factory=list)
    defaults: list[_Default] = field(default_factory=list)
    ranges: list[tuple[Expr, Expr, _Cond | None]] = field(default_factory=list)
    #: the file's own entry this one was made from for one tree (``kconfig_files``):
    #: compiled once, for every tree whose file is the same blob
    own: _Node | None = field(default=None, repr=False)
    #: what compiling it warned (set on a file's own entry when compiled)
    warned: list[str] | None = field(default=None, repr=False)
    #: the innermost choice the entry is in (``blocks`` is never reassigned). Set on
    #: creation: a cached_property takes a lock on every first read in Python 3.11,
    #: 1.9% of a real-history run, where every entry read is asked once
    choice: _Choice | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        for block in reversed(self.blocks):
            if isinstance(block, _Choice):
                self.choice = block
                break

    def all_deps(self) -> Iterator[_Cond]:
        for block in self.blocks:
            yield from block.deps
        yield from self.depends


@dataclass(eq=False)
class _Reverse:
    """A ``select`` or ``imply`` of some symbol by ``by``, its condition parsed when needed."""

    by: str
    text: str | None  # the condition after ``if``
    path: str
    line: int
    parsed: bool = False
    cond: _Cond | None = None
    #: the entry that selects: its ``depends on`` bound the select (a symbol defined
    #: twice, one entry per endianness, selects only through the entry that holds)
    node: _Node | None = None

    def condition(self, out: KconfigValues) -> _Cond | None:
        if not self.parsed:
            self.parsed = True
            try:
                self.cond = None if self.text is None else _cond(_tokens(self.text))
            except _BadLine as err:
                out.warn(f"{self.path}:{self.line}: {err} in {self.text!r}; taken as n")
                self.cond = _Cond(("const", "n"), "n")
        return self.cond


class _BadLine(Exception):
    pass


def _compile(node: _Node, env: Mapping[str, str], out: KconfigValues) -> _Node:
    """Parse the entry's attribute lines (once, and only for entries that matter)."""
    if node.compiled:
        return node
    node.compiled = True
    own = node.own
    if own is not None:  # made for a tree from a file's entry: its lines parsed once per blob
        if own.warned is None:
            warned = KconfigValues()
            _compile(own, env, warned)
            own.warned = warned.warnings
        node.kind, node.depends, node.prompts = own.kind, own.depends, own.prompts
        node.defaults, node.ranges = own.defaults, own.ranges
        for text in own.warned:
            out.warn(text)
        return node
    for keyword, rest, line in node.lines:
        try:
            _compile_line(node, keyword, rest, line, env)
        except _BadLine as err:
            out.warn(f"{node.path}:{line}: {err} in {keyword} {rest!r}; ignored")
    return node


def _compile_line(node: _Node, keyword: str, rest: str, line: int, env: Mapping[str, str]) -> None:
    tokens = _tokens(rest) if keyword != "option" else []
    if keyword in ("depends", "requires"):
        node.depends.append(_cond(_depends(tokens)))
    elif keyword in _TYPES or keyword == "prompt":
        if keyword in _TYPES:
            node.kind = node.kind or _TYPES[keyword]
        if tokens:
            node.prompts.append(_split_if(tokens)[1])
    elif keyword in ("def_bool", "def_tristate", "default"):
        if keyword != "default":
            node.kind = node.kind or "bool"
        value, cond = _split_if(tokens)
        node.defaults.append(_default(keyword, value, cond, node.path, line))
    elif keyword == "range":
        bounds, cond = _split_if(tokens)
        if len(bounds) != 2:
            raise _BadLine("range needs two bounds")
        low, high = (_ExprParser([b]).parse() for b in bounds)
        node.ranges.append((low, high, cond))
    elif keyword == "option":
        name = re.fullmatch(r'env\s*=\s*"?([A-Za-z0-9_]+)"?', rest)
        if name:
            from_env = ("env", name.group(1))  # the make ARCH differs per call
            text = f'env="{name.group(1)}"'
            node.defaults.append(_Default("option", from_env, None, text, node.path, line))


# --- text helpers --------------------------------------------------------------------------


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _tokenize(text: str) -> list[str] | None:
    if _NAME.fullmatch(text):  # most conditions are one symbol
        return [text]
    tokens = []
    for match in _TOKEN.finditer(text):
        if match.group(4) is not None:
            return None
        tokens.append(match.group(match.lastindex or 0))
    return tokens


def _tokens(text: str) -> list[str]:
    tokens = _tokenize(text)
    if tokens is None:
        raise _BadLine("unreadable characters")
    return tokens


def _depends(tokens: list[str]) -> list[str]:
    return tokens[1:] if tokens[:1] == ["on"] else tokens  # 2.6-era `depends X`


def _split_if(tokens: list[str]) -> tuple[list[str], _Cond | None]:
    """``X if COND`` -> X and COND; an empty COND (a vanished macro) is n, not absent."""
    if "if" in tokens:
        index = tokens.index("if")
        return tokens[:index], _cond(tokens[index + 1 :])
    return tokens, None


def _text(tokens: list[str]) -> str:
    """Tokens as Kconfig text: ``!A && (B || C)``."""
    if not tokens:
        return "<nothing, after macro expansion>"
    return re.sub(r"(?<=[!(]) | (?=\))", "", " ".join(tokens))


def _cond(tokens: list[str]) -> _Cond:
    return _Cond(_ExprParser(tokens).parse(), _text(tokens))


def _default(keyword: str, value: list[str], cond: _Cond | None, path: str, line: int) -> _Default:
    text = _text(value) + (f" if {cond.text}" if cond else "")
    return _Default(keyword, _ExprParser(value).parse(), cond, text, path, line)


class _ExprParser:
    """``||`` over ``&&`` over ``!``, ``( )`` and comparisons of two operands."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.index = 0

    def parse(self) -> Expr:
        if not self.tokens:
            return ("const", "")  # what a vanished $(cc-option,...) leaves: n
        if len(self.tokens) == 1:
            return self.operand(self.tokens[0])
        expr = self.either(0)
        if self.index != len(self.tokens):
            raise _BadLine(f"unexpected {self.tokens[self.index]!r}")
        return expr

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _BadLine("the expression ends early")
        self.index += 1
        return token

    def either(self, depth: int) -> Expr:
        items = [self.both(depth)]
        while self.peek() == "||":
            self.index += 1
            items.append(self.both(depth))
        return items[0] if len(items) == 1 else ("or", tuple(items))

    def both(self, depth: int) -> Expr:
        items = [self.factor(depth)]
        while self.peek() == "&&":
            self.index += 1
            items.append(self.factor(depth))
        return items[0] if len(items) == 1 else ("and", tuple(items))

    def factor(self, depth: int) -> Expr:
        if depth > MAX_EXPR_DEPTH:
            raise _BadLine(f"the expression nests deeper than {MAX_EXPR_DEPTH}")
        token = self.take()
        if token == "!":
            return ("not", self.factor(depth + 1))
        if token == "(":
            expr = self.either(depth + 1)
            if self.take() != ")":
                raise _BadLine("a ) is missing")
            return expr
        left = self.operand(token)
        if self.peek() in _COMPARISONS:
            operator = self.take()
            return ("cmp", operator, left, self.operand(self.take()))
        return left

    @staticmethod
    def operand(token: str) -> Expr:
        if token[0] in "\"'":
            return ("const", _unquote(token))
        if token in ("&&", "||", "(", ")", "!", *_COMPARISONS):
            raise _BadLine(f"unexpected {token!r}")
        if token in ("y", "n", "m") or _NUMBER.fullmatch(token):
            return ("const", token)
        return ("sym", token)
