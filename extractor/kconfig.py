"""Kconfig stage: the defaults Kconfig gives the few symbols a header needs.

In: a Tree, an arch's SRCARCH, the selected config symbols.
Out: the values Kconfig would give the int/hex/bool symbols asked for.

Some stack constants come from Kconfig symbols (``CONFIG_ARM64_PAGE_SHIFT``,
``CONFIG_THREAD_SHIFT``, ``CONFIG_PAGE_SHIFT``). A real build writes them into
``autoconf.h``; a source tree only says how Kconfig would pick them. This
module reads the Kconfig files from the root ``Kconfig`` (before 2.6.24, when
there was none, from ``arch/<srcarch>/Kconfig``), following ``source`` and its
variants, and answers with each value and the line that decided it. A tree
with neither file (a headers package) gives ``None``, so the caller can fall
back to per-arch defaults.

This is a reader of our own, not kconfiglib. kconfiglib opens, globs and
``exists()``-checks files on disk itself, so a git revision would need a
checkout or patched module globals; its constructor runs ``$(shell,...)``
while parsing and imports a ``kconfigfunctions`` module that the environment
names; and one construct it rejects anywhere in 1,500 files fails the whole
parse. We need a few defaults, so a reader that tolerates what it does not
know (a warning, not an error) and touches only the entries it needs is the
safer and faster tool.

How it reads, and the bounds it keeps:

- The macro language (4.18+: ``X := ...``, ``X = ...``, ``+=``, ``$(X)``,
  ``$(fn,args)`` with ``$(1)``) is expanded, but ``$(shell,...)`` never runs:
  it expands to nothing, so compiler probes (``cc-option`` and friends) are
  ``n``. No code here can start a process.
- The environment is never read. ``$(SRCARCH)``, ``$SRCARCH``, ``$(ARCH)`` and
  ``option env="ARCH"`` are the ``srcarch`` given, ``$(srctree)`` is the root.
- ``source`` stays inside the tree: a path that leaves it (``..``, absolute,
  a link outward) is ignored with a warning, and so is a ``source`` of a file
  that is being read already (a cycle). Files, nesting, macro expansion and
  time are bounded; a bound that trips raises ``LimitError``.
- Lines are split into entries as they are read; an entry's expressions are
  parsed only if a symbol asked for depends on it.
- Values follow Kconfig: the first ``default`` whose condition holds wins
  (ANDed with the entry's ``depends on`` and its enclosing ``if``/``menu``/
  ``choice``), ``select`` and ``imply`` raise bools, ``range`` clamps ints, a
  ``choice`` picks the member the config sets to y, else its first ``default``
  that holds and is visible, else its first visible member. Tristate ``m``
  counts as ``y``. Symbols are decided dependencies first; symbols that
  depend on each other in a loop are repeated until their values settle.
"""

from __future__ import annotations

import operator
import posixpath
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import EscapeError, LimitError, Location
from .source import Tree, normalize

#: nested ``source`` levels (real trees use fewer than 10)
MAX_SOURCE_DEPTH = 32
#: nested macro calls, and the longest text one expansion may produce
MAX_EXPANSION_DEPTH = 32
MAX_EXPANSION_CHARS = 64 * 1024
#: nested parentheses and ``!`` in one expression
MAX_EXPR_DEPTH = 64
#: symbols decided inside one another (only loops nest: the rest is decided in order)
MAX_SYMBOL_DEPTH = 48
MAX_ROUNDS = 16
#: warnings kept on a result; the rest are counted
MAX_WARNINGS = 200

#: ("sym", name) | ("const", text) | ("not", e) | ("and"|"or", (e, ...)) | ("cmp", op, a, b)
Expr = tuple

_TOKEN = re.compile(
    r"""\s*(?:("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(&&|\|\||!=|<=|>=|[!=<>()])"""
    r"""|([^\s"'!=<>()&|#]+)|(\S))"""
)
_NAME = re.compile(r"[A-Za-z0-9_]+")
_HELP = re.compile(r"-*\s*help\s*-*")
_NUMBER = re.compile(r"-?[0-9]+|0[xX][0-9a-fA-F]+")
_ASSIGNMENT = re.compile(r"([A-Za-z0-9_-]+)\s*(:=|\+=|=)\s*(.*)")
_OLD_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_CALL_PUNCTUATION = re.compile(r"[(),]")
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_TYPES = {"bool": "bool", "boolean": "bool", "tristate": "bool"}
_TYPES |= {"int": "int", "hex": "hex", "string": "string"}
_ENTRY_ATTRIBUTES = {*_TYPES, "prompt", "default", "def_bool", "def_tristate", "range", "option"}
_IGNORED = {"modules", "transitional", "visible", "mainmenu", "allnoconfig_y", "optional"}
_SOURCES = ("source", "rsource", "osource", "orsource")
_KEYWORDS = {
    *_ENTRY_ATTRIBUTES, *_IGNORED, *_SOURCES, "config", "menuconfig", "choice", "endchoice",
    "menu", "endmenu", "if", "endif", "comment", "depends", "requires", "select", "imply",
    "enable", "help", "---help---",
}  # fmt: skip
_IN_PROGRESS = "the choice is being decided"


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
        #: every symbol some Kconfig file defines (names without ``CONFIG_``)
        self.defined: frozenset[str] = frozenset()
        #: symbols whose entries a build's ``$(shell,...)`` or make's environment
        #: would have answered (a compiler probe): name -> what was not run
        self.probed: dict[str, str] = {}

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

    @property
    def choice(self) -> _Choice | None:
        return next((b for b in reversed(self.blocks) if isinstance(b, _Choice)), None)

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


class _Env(dict[str, str]):
    """Make's variables as the reader sees them, noting which were read: a read
    that never used ``ARCH`` serves every ``make ARCH=`` of its srcarch."""

    def __init__(self, **values: str) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __contains__(self, name: object) -> bool:
        self.read.add(str(name))
        return dict.__contains__(self, name)

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return dict.get(self, name, default)


# --- reading files ---------------------------------------------------------------------


#: file contents -> their logical lines, (line number, text) (see ``parse_blob``)
_LOGICAL: dict[bytes, list[tuple[int, str]]] = {}
#: files whose logical lines are kept: a tree has about 600, and neighbours share
#: most (each entry holds the bytes and the lines, tens of kilobytes)
MAX_LOGICAL_FILES = 1500


class _Reader:
    """Files, macros and lines: the entries of every file a ``source`` reaches."""

    def __init__(
        self, tree: Tree, srcarch: str, out: KconfigValues, max_files: int, max_seconds: float
    ) -> None:
        self.tree = tree
        self.out = out
        self.max_files = max_files
        self.max_seconds = max_seconds
        self.deadline = time.monotonic() + max_seconds
        self.env = _Env(SRCARCH=srcarch, ARCH=srcarch, SUBARCH=srcarch, srctree=".")
        self.variables: dict[str, tuple[str, bool]] = {}  # name -> (value, recursive)
        self.nodes: dict[str, list[_Node]] = {}
        self.selects: dict[str, list[_Reverse]] = {}
        self.implies: dict[str, list[_Reverse]] = {}
        self.blocks: list[_Block] = []
        self.entry: _Node | _Block | None = None
        self.stack: list[str] = []
        self.where = ("", 0)
        self.shell_calls: list[tuple[str, int]] = []
        self.probed: dict[str, str] = {}
        #: variables whose ``:=`` value came from a ``$(shell,...)``
        self.probed_variables: set[str] = set()
        self.calls = 0
        #: the logical lines of the file being parsed, kept for ``parse_blob``
        self.logical: list[tuple[int, str]] | None = None
        #: every entry, in reading order
        self.sequence: list[_Node] = []

    def warn(self, message: str, where: tuple[str, int] | None = None) -> None:
        path, line = where or self.where
        self.out.warn(f"{path}:{line}: {message}" if path else message)

    def check_time(self, path: str | None = None) -> None:
        if time.monotonic() >= self.deadline:
            raise LimitError(
                f"reading Kconfig took more than {self.max_seconds:g} s",
                Location(self.tree.rev, path),
            )

    def read_file(self, path: str, *, optional: bool = False) -> None:
        where = Location(self.tree.rev, path)
        if len(self.stack) >= MAX_SOURCE_DEPTH:
            raise LimitError(f"Kconfig sources nest deeper than {MAX_SOURCE_DEPTH}", where)
        if len(self.out.files) >= self.max_files:
            raise LimitError(f"more than {self.max_files} Kconfig files", where)
        self.check_time(path)
        try:
            data = self.tree.read(path)
        except EscapeError as err:
            self.warn(f"source {path!r} ignored: {err.message}")
            return
        if data is None:
            if not optional:
                self.warn(f"source {path!r}: no such file in the tree")
            return
        self.out.files.append(path)
        self.stack.append(path)
        depth = len(self.blocks)
        try:
            self.parse_blob(path, data)
        finally:
            self.stack.pop()
        if len(self.blocks) > depth:
            self.warn(f"{len(self.blocks) - depth} if/menu/choice left open at the end", (path, 0))
            del self.blocks[depth:]
        self.entry = None

    def source(self, keyword: str, rest: str, path: str) -> None:
        tokens = _tokenize(rest)
        if not tokens or len(tokens) != 1:
            raise _BadLine(f"{keyword} needs one path")
        target = _OLD_VARIABLE.sub(self._old_variable, _unquote(tokens[0]))
        if keyword in ("rsource", "orsource"):
            target = posixpath.join(posixpath.dirname(path), target)
        try:
            target = normalize(target, self.tree.rev)
        except EscapeError:
            self.warn(f"{keyword} {tokens[0]} leaves the tree; ignored")
            return
        if target in self.stack:
            cycle = " -> ".join([*self.stack[self.stack.index(target) :], target])
            self.warn(f"{keyword} cycle {cycle}; not followed")
            return
        if any(c in target for c in "*?["):
            self.warn(f"{keyword} {tokens[0]}: globs are not supported; ignored")
            return
        self.read_file(target, optional=keyword in ("osource", "orsource"))

    def _old_variable(self, match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in self.env:
            self.warn(f"${name} is not known here; it expands to nothing")
        return self.env.get(name, "")

    # macros

    def expand(self, text: str, args: tuple[str, ...] = (), depth: int = 0) -> str:
        """``text`` with every ``$(...)`` expanded (and ``$(shell,...)`` to nothing)."""
        if "$(" not in text:
            return text
        if depth > MAX_EXPANSION_DEPTH:
            raise _BadLine(f"macros nest deeper than {MAX_EXPANSION_DEPTH}")
        out: list[str] = []
        start = size = 0
        while (begin := text.find("$(", start)) >= 0:
            parts, end = _call_parts(text, begin + 2)
            expanded = self.call([self.expand(p, args, depth + 1) for p in parts], args, depth)
            out += [text[start:begin], expanded]
            size += begin - start + len(expanded)
            if size > MAX_EXPANSION_CHARS:
                raise _BadLine(f"a macro expands to more than {MAX_EXPANSION_CHARS} characters")
            start = end + 1
        out.append(text[start:])
        return "".join(out)

    def call(self, parts: list[str], args: tuple[str, ...], depth: int) -> str:
        self.calls += 1
        if self.calls % 1024 == 0:
            self.check_time(self.where[0])
        name, rest = parts[0].strip(), tuple(parts[1:])
        if name.isdigit() and not rest:
            return args[int(name) - 1] if 0 < int(name) <= len(args) else ""
        if name == "shell":  # never run: a tree's text must not start processes
            self.shell_calls.append(self.where)
            self.probe("$(shell,...)")
            return ""
        if name in ("info", "warning-if", "error-if"):
            return ""
        if name == "filename":
            return self.where[0]
        if name == "lineno":
            return str(self.where[1])
        if name in self.variables:
            if name in self.probed_variables:
                self.probe(f"$({name}), set by $(shell,...)")
            value, recursive = self.variables[name]
            return self.expand(value, rest, depth + 1) if recursive else value
        if not rest and name not in self.env:
            self.probe(f"$({name}) from make's environment")
        return "" if rest else self.env.get(name, "")

    def probe(self, what: str) -> None:
        if isinstance(self.entry, _Node):
            self.probed.setdefault(self.entry.name, what)

    def assign(self, name: str, operator: str, value: str) -> None:
        old = self.variables.get(name)
        if operator == ":=":
            calls = len(self.shell_calls)
            self.variables[name] = (self.expand(value), False)
            if len(self.shell_calls) > calls:  # `cc-version := $(shell,...)`
                self.probed_variables.add(name)
        elif operator == "=" or old is None:
            self.variables[name] = (value, True)
        else:
            addition = value if old[1] else self.expand(value)
            self.variables[name] = (f"{old[0]} {addition}".strip(), old[1])

    # lines

    def parse_blob(self, path: str, data: bytes) -> None:
        """``parse`` a file's bytes; the logical lines of each text are found once.

        Joining continuations and skipping help texts cost about a third of a
        parse; the lines it leaves are the same for the same bytes (help
        starts at a keyword), so they are kept per file content, across
        revisions, and only they are handed to ``line`` again.
        """
        logical = _LOGICAL.get(data)
        if logical is not None:
            for number, text in logical:
                self.where = (path, number)
                try:
                    self.line(path, text)
                except _BadLine as err:
                    self.warn(f"{err} in {text!r}; line ignored")
            return
        outer, self.logical = self.logical, []
        try:
            self.parse(path, data.decode("utf-8", "replace").splitlines())
            if len(_LOGICAL) >= MAX_LOGICAL_FILES:
                _LOGICAL.clear()
            _LOGICAL[data] = self.logical
        finally:
            self.logical = outer

    def parse(self, path: str, lines: list[str]) -> None:
        number, count = 0, len(lines)
        in_help = False
        help_indent = 0  # of the help text's first line; a line left of it ends the text
        while number < count:
            start, text = number, lines[number]
            number += 1
            if in_help:
                if not text or text.isspace():
                    continue
                if text[0] in " \t":
                    indent = _indent(text)
                    help_indent = help_indent or indent
                    if indent >= help_indent:
                        continue
                in_help = False
            while text.endswith("\\") and number < count:
                text = text[:-1] + lines[number]
                number += 1
            self.where = (path, start + 1)
            if self.logical is not None and text.strip()[:1] not in ("", "#"):
                self.logical.append((start + 1, text.strip()))
            try:
                in_help = self.line(path, text.strip())
            except _BadLine as err:
                self.warn(f"{err} in {text.strip()!r}; line ignored")
            help_indent = 0

    def line(self, path: str, text: str) -> bool:
        """Handle one logical line; True when a help text follows."""
        if not text or text[0] == "#":
            return False
        if "=" in text:
            assignment = _ASSIGNMENT.fullmatch(text)
            if assignment and assignment.group(1) not in _KEYWORDS:
                self.assign(*assignment.groups())
                return False
        if "#" in text:
            text = _strip_comment(text)
        if "$(" in text:
            text = self.expand(text)
        words = text.split(None, 1)
        if not words:
            return False
        if text[0] == "-" and _HELP.fullmatch(text):  # 2.6: "--- help ---", "---help---"
            return True
        return self.statement(path, words[0], words[1].strip() if len(words) > 1 else "")

    def statement(self, path: str, keyword: str, rest: str) -> bool:
        line = self.where[1]
        entry = self.entry
        if keyword in ("config", "menuconfig"):
            if not _NAME.fullmatch(rest):
                raise _BadLine(f"{keyword} needs one name")
            node = _Node(rest, path, line, tuple(self.blocks))
            self.nodes.setdefault(rest, []).append(node)
            self.sequence.append(node)
            choice = node.choice
            if choice is not None and rest not in choice.members:
                choice.members.append(rest)
            self.entry = node
        elif keyword in ("choice", "menu", "if"):
            block = _Block(keyword)
            if keyword == "choice":
                block = _Choice(keyword, path=path, line=line, outer=tuple(self.blocks))
            if keyword == "if":
                block.deps.append(_cond(_tokens(rest)))
            self.blocks.append(block)
            self.entry = None if keyword == "if" else block
        elif keyword in ("endchoice", "endmenu", "endif"):
            if not self.blocks or self.blocks[-1].kind != keyword[3:]:
                raise _BadLine(f"{keyword} without {keyword[3:]}")
            self.blocks.pop()
            self.entry = None
        elif keyword in _SOURCES:
            self.entry = None  # a source ends the entry: the file read starts afresh
            self.source(keyword, rest, path)
        elif keyword == "comment":
            self.entry = _Block("comment")  # its `depends on` lead nowhere
        elif keyword in ("help", "---help---"):
            return True
        elif isinstance(entry, _Node):
            self.entry_line(entry, keyword, rest, line)
        elif entry is not None and keyword in ("depends", "requires"):
            entry.deps.append(_cond(_depends(_tokens(rest))))
        elif isinstance(entry, _Choice) and keyword == "default":
            value, cond = _split_if(_tokens(rest))
            entry.defaults.append(_default("default", value, cond, path, line))
        elif isinstance(entry, _Choice) and keyword == "optional":
            entry.optional = True
        elif not (keyword in _IGNORED or entry is not None and keyword in _ENTRY_ATTRIBUTES):
            self.warn(f"{keyword!r} is not understood here; ignored")
        return False

    def entry_line(self, node: _Node, keyword: str, rest: str, line: int) -> None:
        if keyword in ("select", "imply", "enable"):  # `enable`: select, in early 2.6
            words = rest.split(None, 2)
            if len(words) not in (1, 3) or len(words) == 3 and words[1] != "if":
                raise _BadLine(f"{keyword} needs one symbol")
            cond = words[2] if len(words) == 3 else None
            table = self.implies if keyword == "imply" else self.selects
            reverse = _Reverse(node.name, cond, node.path, line, node=node)
            table.setdefault(words[0], []).append(reverse)
        elif keyword in _ENTRY_ATTRIBUTES or keyword in ("depends", "requires"):
            node.lines.append((keyword, rest, line))
        elif keyword not in _IGNORED:
            self.warn(f"unknown attribute {keyword!r}; ignored")


def _compile(node: _Node, env: Mapping[str, str], out: KconfigValues) -> _Node:
    """Parse the entry's attribute lines (once, and only for entries that matter)."""
    if node.compiled:
        return node
    node.compiled = True
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


def _indent(text: str) -> int:
    expanded = text.expandtabs(8)
    return len(expanded) - len(expanded.lstrip())


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _call_parts(text: str, start: int) -> tuple[list[str], int]:
    """The comma-separated parts of ``$(...)`` from ``start``, and where its ``)`` is."""
    parts, depth, begin = [], 0, start
    for match in _CALL_PUNCTUATION.finditer(text, start):
        char, index = match.group(), match.start()
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif char == ")":
            parts.append(text[begin:index])
            return parts, index
        elif not depth:
            parts.append(text[begin:index])
            begin = index + 1
    raise _BadLine("unbalanced $(")


def _strip_comment(text: str) -> str:
    quote, depth = "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char == "(" and text[index - 1 : index] == "$":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif char == "#" and not depth:
            return text[:index]
    return text


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


def _symbols_in(expr: Expr | None) -> Iterator[str]:
    if expr is None:
        return
    kind = expr[0]
    if kind == "sym":
        yield expr[1]
    elif kind == "not":
        yield from _symbols_in(expr[1])
    elif kind in ("and", "or"):
        for item in expr[1]:
            yield from _symbols_in(item)
    elif kind == "cmp":
        yield from _symbols_in(expr[2])
        yield from _symbols_in(expr[3])


def _number(text: str, kind: str | None = None) -> int | None:
    try:
        if kind == "hex" or text[:2] in ("0x", "0X"):
            return int(text, 16)
        return int(text, 10)
    except (ValueError, IndexError):
        return None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: str, right: str) -> bool:
    """Numbers compare as numbers (``12 > 9``), anything else as text, with m as y."""
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return _ORDER[op]("y" if left == "m" else left, "y" if right == "m" else right)
    return _ORDER[op](a, b)


# --- deciding values ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    value: str  # "" when the symbol has no value (an int whose dependencies fail)
    path: str
    line: int
    reason: str


class _Evaluator:
    """Symbol values under one config: dependencies first, loops repeated to a fixpoint."""

    def __init__(
        self, reader: _Reader, user: Mapping[str, str], seed: Mapping[str, str] | None = None
    ) -> None:
        self.reader = reader
        #: values that hold whatever Kconfig says (``--set``, a profile's symbols)
        self.user = user
        #: values a KCONFIG_ALLCONFIG file gives: taken only where the symbol has a
        #: visible prompt, and a ``select`` still raises a bool seeded n
        self.seed = seed or {}
        self.previous: dict[str, str] = {}
        self.decided: dict[str, _Decision | None] = {}
        self.choices: dict[int, tuple[str | None, _Decision]] = {}
        self.previous_choices: dict[int, tuple[str | None, _Decision]] = {}
        self.active: list[str] = []
        self.looped = False

    def nodes(self, name: str) -> list[_Node]:
        found = self.reader.nodes.get(name, [])
        return [_compile(n, self.reader.env, self.reader.out) for n in found]

    def run(self, names: list[str]) -> dict[str, _Decision | None]:
        order = self.order(names)
        for _ in range(MAX_ROUNDS):
            self.decided, self.choices, self.looped = {}, {}, False
            for number, name in enumerate(order):
                if number % 256 == 0:
                    self.reader.check_time()
                self.decide(name)
            values = {name: d.value if d else "" for name, d in self.decided.items()}
            chosen = {key: answer[0] for key, answer in self.choices.items()}
            settled = chosen == {k: a[0] for k, a in self.previous_choices.items()}
            if not self.looped or (values == self.previous and settled):
                break
            self.previous, self.previous_choices = values, dict(self.choices)
        else:  # a loop that flips (`default y if !X` in X): Kconfig itself rejects these
            self.reader.out.warn(f"values did not settle in {MAX_ROUNDS} rounds; the last is used")
        return {name: self.decided[name] for name in names}

    def order(self, names: list[str]) -> list[str]:
        """``names`` and every symbol they depend on, dependencies first."""
        seen: set[str] = set()
        out: list[str] = []
        for root in names:
            if root in seen:
                continue
            seen.add(root)
            stack = [(root, iter(self.references(root)))]
            while stack:
                name, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    out.append(name)
                elif child not in seen:
                    seen.add(child)
                    stack.append((child, iter(self.references(child))))
                    if len(seen) % 256 == 0:
                        self.reader.check_time()
        return out

    def references(self, name: str) -> set[str]:
        """The symbols whose values ``name``'s value may read."""
        if name in self.user:
            return set()
        found: set[str] = set()
        for node in self.nodes(name):
            exprs: list[Expr | None] = [c.expr for c in node.all_deps()]
            exprs += [p.expr for p in node.prompts if p]
            for default in node.defaults:
                exprs += [default.value, default.cond.expr if default.cond else None]
            for low, high, cond in node.ranges:
                exprs += [low, high, cond.expr if cond else None]
            choice = node.choice
            if choice is not None:
                exprs += [c.expr for b in choice.outer for c in b.deps]
                exprs += [d.cond.expr for d in choice.defaults if d.cond]
                for member in choice.members:
                    for other in self.nodes(member):
                        exprs += [c.expr for c in other.all_deps()]
                        exprs += [p.expr for p in other.prompts if p]
            found.update(s for e in exprs for s in _symbols_in(e))
        for table in (self.reader.selects, self.reader.implies):
            for reverse in table.get(name, []):
                cond = reverse.condition(self.reader.out)
                found.add(reverse.by)
                found.update(_symbols_in(cond.expr if cond else None))
                if reverse.node is not None and len(self.reader.nodes.get(reverse.by, ())) > 1:
                    node = _compile(reverse.node, self.reader.env, self.reader.out)
                    found.update(s for c in node.all_deps() for s in _symbols_in(c.expr))
        found.discard(name)
        return found

    # what expressions see

    def string(self, expr: Expr) -> str:
        if expr[0] == "const":
            return str(expr[1])
        if expr[0] == "env":  # ``option env=``: make's variable, at evaluation time
            return str(dict.get(self.reader.env, expr[1], ""))
        if expr[0] == "sym":
            name = expr[1]
            if name in self.user:
                return self.user[name]
            if name not in self.reader.nodes:
                return str(name)  # an undefined word stands for itself, as in Kconfig
            decision = self.decide(name)
            return decision.value if decision else ""
        return "y" if self.true(expr) else "n"

    def true(self, expr: Expr) -> bool:
        kind = expr[0]
        if kind in ("const", "env"):
            return self.string(expr) in ("y", "m")
        if kind == "sym":
            known = expr[1] in self.reader.nodes or expr[1] in self.user
            return known and self.string(expr) in ("y", "m")
        if kind == "not":
            return not self.true(expr[1])
        if kind == "and":
            return all(self.true(item) for item in expr[1])
        if kind == "or":
            return any(self.true(item) for item in expr[1])
        return _compare(expr[1], self.string(expr[2]), self.string(expr[3]))

    def holds(self, cond: _Cond | None) -> bool:
        return cond is None or self.true(cond.expr)

    def enabled(self, node: _Node) -> bool:
        return all(self.true(c.expr) for c in node.all_deps())

    def shown(self, *exprs: Expr | None) -> str:
        """`` (A=y, B=n)``: the symbols a reason reads, with their values."""
        names = dict.fromkeys(n for e in exprs for n in _symbols_in(e))
        values = [
            f"{name}={self.string(('sym', name)) or 'n'}"
            if name in self.user or name in self.reader.nodes
            else f"{name} undefined"
            for name in names
        ]
        return f" ({', '.join(values)})" if values else ""

    def because(self, default: _Default, value: str, *, show_value: bool = True) -> _Decision:
        cond = default.cond.expr if default.cond else None
        shown = self.shown(default.value if show_value else None, cond)
        return _Decision(
            value, default.path, default.line, f"{default.keyword} {default.text}{shown}"
        )

    # one symbol

    def decide(self, name: str) -> _Decision | None:
        if name in self.decided:
            return self.decided[name]
        if name in self.active or len(self.active) >= MAX_SYMBOL_DEPTH:
            self.looped = True  # take the last round's value; run() goes round again
            value = self.previous.get(name, "")
            return _Decision(value, "", 0, "depends on itself") if value else None
        self.active.append(name)
        try:
            nodes = self.nodes(name)
            kind = next((n.kind for n in nodes if n.kind), "bool") if nodes else None
            if name in self.user:
                where = (nodes[0].path, nodes[0].line) if nodes else ("", 0)
                decision: _Decision | None = _Decision(self.user[name], *where, "set by the config")
            elif kind is None:
                decision = None
            elif name in self.seed and self.prompted(nodes) and not self.in_choice(nodes):
                decision = self.seeded(name, nodes, kind)
            elif kind == "bool":
                decision = self.boolean(name, nodes)
            else:
                decision = self.scalar(nodes, kind)
        finally:
            self.active.pop()
        self.decided[name] = decision
        return decision

    def prompted(self, nodes: list[_Node]) -> bool:
        """The symbol has a prompt a user could answer: the only way a seed takes."""
        return any(
            self.enabled(node) and any(self.holds(p) for p in node.prompts) for node in nodes
        )

    @staticmethod
    def in_choice(nodes: list[_Node]) -> bool:
        return any(node.choice is not None for node in nodes)

    def seeded(self, name: str, nodes: list[_Node], kind: str) -> _Decision:
        value, node = self.seed[name], nodes[0]
        if kind != "bool":
            bounds = self.active_range(nodes, kind)
            number = _number(value, kind)
            if bounds is not None and number is not None:
                value = _format(min(max(number, bounds[0]), bounds[1]), kind)
            return _Decision(value, node.path, node.line, "set by the seed")
        if value in ("y", "m"):
            return _Decision("y", node.path, node.line, "set by the seed")
        selected = self.reverse(name, self.reader.selects, "selected")
        return selected or _Decision("n", node.path, node.line, "set by the seed")

    def reverse(self, name: str, table: dict[str, list[_Reverse]], verb: str) -> _Decision | None:
        """The first ``select``/``imply`` of ``name`` whose selector is y and condition holds."""
        for reverse in table.get(name, []):
            condition = reverse.condition(self.reader.out)
            node = reverse.node
            if (
                node is not None
                and len(self.reader.nodes.get(reverse.by, ())) > 1
                and not self.enabled(_compile(node, self.reader.env, self.reader.out))
            ):
                continue
            if self.true(("sym", reverse.by)) and self.holds(condition):
                cond = condition.expr if condition else None
                text = f" if {condition.text}" if condition else ""
                reason = f"{verb} by {reverse.by}{text}{self.shown(('sym', reverse.by), cond)}"
                return _Decision("y", reverse.path, reverse.line, reason)
        return None

    def unmet(self, nodes: list[_Node]) -> _Decision | None:
        """Why no entry of the symbol is enabled; None if one is."""
        if any(self.enabled(node) for node in nodes):
            return None
        node = nodes[0]
        failed = next(c for c in node.all_deps() if not self.true(c.expr))
        reason = f"depends on {failed.text}{self.shown(failed.expr)}"
        return _Decision("", node.path, node.line, reason)

    def first_default(self, nodes: list[_Node]) -> _Default | None:
        for node in nodes:
            if self.enabled(node):
                for default in node.defaults:
                    if self.holds(default.cond):
                        return default
        return None

    def boolean(self, name: str, nodes: list[_Node]) -> _Decision:
        choice = next((n.choice for n in nodes if n.choice is not None), None)
        if choice is not None:
            chosen, why = self.choose(choice)
            if chosen == name:
                return why
            reason = f"the choice picks {chosen}" if chosen else why.reason
            return _Decision("n", why.path, why.line, reason)
        unmet = self.unmet(nodes)
        default = self.first_default(nodes) if unmet is None else None
        if default is not None and self.true(default.value):
            return self.because(default, "y")
        for table, verb in ((self.reader.selects, "selected"), (self.reader.implies, "implied")):
            if verb == "implied" and unmet is not None:
                continue  # imply respects the target's dependencies, select does not
            found = self.reverse(name, table, verb)
            if found is not None:
                return found
        if default is not None:
            return self.because(default, "n")
        if unmet is not None:
            return _Decision("n", unmet.path, unmet.line, unmet.reason)
        return _Decision("n", nodes[0].path, nodes[0].line, "no default applies")

    def choose(self, choice: _Choice) -> tuple[str | None, _Decision]:
        """The member a choice picks, and why."""
        key = id(choice)
        if key in self.choices:
            answer = self.choices[key]
            if answer[1].reason == _IN_PROGRESS:  # a member's dependency reads the choice
                self.looped = True
                return self.previous_choices.get(key, answer)
            return answer
        self.choices[key] = (None, _Decision("n", choice.path, choice.line, _IN_PROGRESS))
        answer = self._choose(choice)
        self.choices[key] = answer
        return answer

    def _choose(self, choice: _Choice) -> tuple[str | None, _Decision]:
        here = (choice.path, choice.line)
        for name in choice.members:
            if self.user.get(name) in ("y", "m"):
                node = self.nodes(name)[0]
                return name, _Decision("y", node.path, node.line, "set by the config")
        deps = [c for block in choice.outer for c in block.deps] + choice.deps
        failed = next((c for c in deps if not self.true(c.expr)), None)
        if failed is not None:
            reason = f"choice depends on {failed.text}{self.shown(failed.expr)}"
            return None, _Decision("n", *here, reason)
        visible = [m for m in choice.members if self.visible(m, choice)]
        for name in visible:
            if self.seed.get(name) in ("y", "m"):
                node = self.nodes(name)[0]
                return name, _Decision("y", node.path, node.line, "set by the seed")
        if choice.optional:
            return None, _Decision("n", *here, "optional choice; the config picks nothing")
        for default in choice.defaults:
            member = default.value[1] if default.value[0] == "sym" else None
            if member in visible and self.holds(default.cond):
                # the member's own value is what is being decided: do not show it
                return member, self.because(default, "y", show_value=False)
        if visible:
            return visible[0], _Decision("y", *here, "first visible member of the choice")
        return None, _Decision("n", *here, "no member of the choice is visible")

    def visible(self, member: str, choice: _Choice) -> bool:
        return any(
            choice in node.blocks
            and self.enabled(node)
            and (not node.prompts or any(self.holds(p) for p in node.prompts))
            for node in self.nodes(member)
        )

    def scalar(self, nodes: list[_Node], kind: str) -> _Decision:
        unmet = self.unmet(nodes)
        if unmet is not None:
            return _Decision("", unmet.path, unmet.line, f"{unmet.reason}: no value")
        default = self.first_default(nodes)
        bounds = self.active_range(nodes, kind)
        first = nodes[0]
        if default is None:
            if bounds is None or not self.prompted(nodes):  # make writes no value then
                return _Decision("", first.path, first.line, "no default applies")
            return _Decision(
                _format(bounds[0], kind), first.path, first.line, "low end of the range"
            )
        decision = self.because(default, self.string(default.value))
        number = _number(decision.value, kind)
        if bounds is None or number is None or bounds[0] <= number <= bounds[1]:
            return decision
        clamped = _format(min(max(number, bounds[0]), bounds[1]), kind)
        reason = f"{decision.reason}, clamped to the range {bounds[0]}..{bounds[1]}"
        return _Decision(clamped, decision.path, decision.line, reason)

    def active_range(self, nodes: list[_Node], kind: str) -> tuple[int, int] | None:
        for node in nodes:
            for low, high, cond in node.ranges:
                if self.holds(cond):
                    bounds = _number(self.string(low), kind), _number(self.string(high), kind)
                    if bounds[0] is not None and bounds[1] is not None:
                        return bounds[0], bounds[1]
        return None


def _format(number: int, kind: str) -> str:
    return hex(number) if kind == "hex" else str(number)


# --- the entry point -------------------------------------------------------------------


#: (tree id, srcarch, root, bounds) -> the reader that read them, and what it warned
_READ: dict[tuple[Any, ...], tuple[_Reader, list[str], list[str], str | None]] = {}
#: trees whose Kconfig files are kept read: a batch goes revision by revision,
#: and a read tree holds every entry of 600 files
MAX_READ_TREES = 1
#: read git trees through ``kconfig_files`` (parsed once per blob, tables filled on
#: demand); tests turn it off to compare with the full reader
INDEXED = [True]


def _read(
    tree: Tree,
    srcarch: str,
    root: str,
    max_files: int,
    max_seconds: float,
    make_arch: str | None = None,
) -> tuple[_Reader, KconfigValues]:
    """The files read from ``root``, once per git tree and srcarch: what they say
    does not depend on the config, and every arch and profile of a revision asks.
    ``make_arch`` is make's ``ARCH`` (``srcarch`` if None); a read whose lines never
    expanded ``ARCH`` serves every ``ARCH`` (i386 and x86_64 share one), and
    ``option env="ARCH"`` is looked up when a value is decided.
    The answer is a fresh ``KconfigValues`` holding the read's warnings and files."""
    make_arch = make_arch or srcarch
    tree_id = getattr(tree, "tree_id", None)
    key = (tree_id, srcarch, root, max_files)
    known = _READ.get(key) if tree_id is not None else None
    if known is not None and known[3] not in (None, make_arch):
        known = None  # its lines expanded another ARCH
    if known is None:
        from .kconfig_files import indexed_reader

        out = KconfigValues()
        reader = None
        if tree_id is not None and INDEXED[0]:
            reader = indexed_reader(tree, srcarch, root, out, max_files, max_seconds)
            if reader is None:
                out = KconfigValues()
        if reader is None:
            reader = _Reader(tree, srcarch, out, max_files, max_seconds)
            dict.__setitem__(reader.env, "ARCH", make_arch)
            reader.read_file(root)
        if reader.shell_calls:
            (path, line), count = reader.shell_calls[0], len(reader.shell_calls)
            out.warn(f"{path}:{line}: $(shell,...) not run ({count} calls), expanded to ''")
        used = make_arch if "ARCH" in reader.env.read else None
        known = (reader, list(out.warnings), list(out.files), used)
        if tree_id is not None:
            while len(_READ) >= MAX_READ_TREES:
                _READ.pop(next(iter(_READ)))
            _READ[key] = known
    reader, warnings, files, _ = known
    dict.__setitem__(reader.env, "ARCH", make_arch)
    out = KconfigValues()
    out.warnings, out.files = list(warnings), list(files)
    reader.tree, reader.out = tree, out  # this call's revision name and answer
    reader.deadline = time.monotonic() + max_seconds
    return reader, out


class _Looked(dict[str, Any]):
    """A reader's symbol table that notes the names an evaluation looked up.

    ``looked`` None: nothing noted; a listing of the whole table adds ``"*"``
    (the answer then depends on every symbol).
    """

    looked: set[str] | None = None

    def _note(self, name: object) -> None:
        if self.looked is not None:
            self.looked.add(str(name))

    def __contains__(self, name: object) -> bool:
        self._note(name)
        return dict.__contains__(self, name)

    def __getitem__(self, name: str) -> Any:
        self._note(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        self._note(name)
        return dict.get(self, name, default)

    def __iter__(self) -> Iterator[str]:
        self._note("*")
        return dict.__iter__(self)

    def keys(self) -> Any:
        self._note("*")
        return dict.keys(self)

    def values(self) -> Any:
        self._note("*")
        return dict.values(self)

    def items(self) -> Any:
        self._note("*")
        return dict.items(self)


def kconfig_values(
    tree: Tree,
    srcarch: str,
    symbols: Mapping[str, str],
    wanted: Iterable[str],
    *,
    max_files: int = 5000,
    max_seconds: float = 10.0,
    looked: set[str] | None = None,
) -> KconfigValues | None:
    """The values Kconfig gives ``wanted`` under ``symbols``; None without Kconfig files.

    ``symbols`` and ``wanted`` name symbols with or without ``CONFIG_``; the
    answer is keyed ``CONFIG_X``. A symbol the config sets is returned as set.
    """
    root = next((p for p in ("Kconfig", f"arch/{srcarch}/Kconfig") if tree.exists(p)), None)
    if root is None:
        return None
    reader, out = _read(tree, srcarch, root, max_files, max_seconds)
    user = {k.removeprefix("CONFIG_"): _unquote(v) for k, v in symbols.items()}
    names = list(dict.fromkeys(w.removeprefix("CONFIG_") for w in wanted))
    decisions = _evaluate(reader, user, None, names, looked)
    for name in names:
        decision = decisions[name]
        symbol = f"CONFIG_{name}"
        if decision is None:
            out.warn(f"{symbol} is not defined in any Kconfig file read")
        elif decision.value == "":
            out.warn(f"{decision.path}:{decision.line}: {symbol} has no value: {decision.reason}")
        else:
            out[symbol] = KconfigValue(
                symbol, decision.value, decision.path, decision.line, decision.reason
            )
    return out


def _evaluate(
    reader: _Reader,
    user: Mapping[str, str],
    seed: Mapping[str, str] | None,
    names: list[str],
    looked: set[str] | None,
) -> dict[str, _Decision | None]:
    """``names`` decided (dependencies first); ``looked`` gains every symbol whose
    entries, selects or implies the decisions read."""
    tables: list[_Looked] = []
    for name in ("nodes", "selects", "implies"):
        table = getattr(reader, name)
        if not isinstance(table, _Looked):
            table = _Looked(table)
            setattr(reader, name, table)
        tables.append(table)
    for table in tables:
        table.looked = looked
    try:
        return _Evaluator(reader, user, seed).run(names)
    finally:
        for table in tables:
            table.looked = None


def alldefconfig(
    tree: Tree,
    srcarch: str,
    seed: Mapping[str, str] | None = None,
    forced: Mapping[str, str] | None = None,
    *,
    make_arch: str | None = None,
    wanted: Iterable[str] | None = None,
    looked: set[str] | None = None,
    max_files: int = 5000,
    max_seconds: float = 60.0,
) -> KconfigValues | None:
    """Every symbol's value as ``make ARCH=<make_arch> alldefconfig`` gives it; None
    without Kconfig files.

    ``seed`` is a ``KCONFIG_ALLCONFIG`` file's symbols: each takes only where the
    symbol has a visible prompt, as in Kconfig. ``make_arch`` is the ``ARCH`` make is
    run with (``i386`` and ``x86_64`` share SRCARCH x86); it defaults to ``srcarch``.
    Bools come out ``y`` or ``n``; an int/hex/string without a value is left out.

    With ``wanted``, only those symbols (and what they depend on) are decided, each
    to the value the whole alldefconfig gives it, and ``defined`` names only the
    wanted symbols some file defines; ``looked`` gains every symbol whose entries,
    selects or implies were read (see ``memo.KconfigMemo``).
    """
    root = next((p for p in ("Kconfig", f"arch/{srcarch}/Kconfig") if tree.exists(p)), None)
    if root is None:
        return None
    seeded = {k.removeprefix("CONFIG_"): _unquote(v) for k, v in (seed or {}).items()}
    user = {k.removeprefix("CONFIG_"): _unquote(v) for k, v in (forced or {}).items()}
    if wanted is None:
        out = KconfigValues()
        reader = _Reader(tree, srcarch, out, max_files, max_seconds)
        dict.__setitem__(reader.env, "ARCH", make_arch or srcarch)
        reader.read_file(root)
        if reader.shell_calls:
            (path, line), count = reader.shell_calls[0], len(reader.shell_calls)
            out.warn(f"{path}:{line}: $(shell,...) not run ({count} calls), expanded to ''")
        decisions = _Evaluator(reader, user, seeded).run(sorted(reader.nodes))
        out.defined = frozenset(reader.nodes)
    else:
        reader, out = _read(tree, srcarch, root, max_files, max_seconds, make_arch)
        names = list(dict.fromkeys(w.removeprefix("CONFIG_") for w in wanted))
        decisions = _evaluate(reader, user, seeded, names, looked)
        out.defined = frozenset(n for n in names if decisions.get(n) is not None)
    out.probed = dict(reader.probed)
    for name, decision in decisions.items():
        if decision is not None and decision.value != "":
            symbol = f"CONFIG_{name}"
            out[symbol] = KconfigValue(
                symbol, decision.value, decision.path, decision.line, decision.reason
            )
    return out
