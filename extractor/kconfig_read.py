"""Kconfig read: files, macros and lines, into the entries of a tree.

In: a Tree, its SRCARCH, the root Kconfig file, bounds (files, seconds).
Out: a ``_Reader`` whose ``nodes``, ``selects`` and ``implies`` hold every
entry (``kconfig_entries``) of the files a ``source`` reaches, in reading order,
each with the ``if``/``menu``/``choice`` blocks around it; the files read and
the warnings go to the ``KconfigValues`` it was given.

The macro language is expanded here, ``$(shell,...)`` to nothing, and
``source`` is kept inside the tree (see ``kconfig`` for the rules and bounds).
``kconfig_files`` builds on this reader to parse each file once per blob.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Iterator
from typing import Any

from .config import NotingLookups
from .errors import EscapeError, ExtractorError, LimitError, Location
from .kbuild import makefile_version
from .kconfig_entries import (
    _NAME,
    _TYPES,
    KconfigValues,
    _BadLine,
    _Block,
    _Choice,
    _cond,
    _default,
    _depends,
    _Node,
    _Reverse,
    _split_if,
    _tokenize,
    _tokens,
    _unquote,
)
from .source import Tree, normalize

#: nested ``source`` levels (real trees use fewer than 10)
MAX_SOURCE_DEPTH = 32
#: nested macro calls, and the longest text one expansion may produce
MAX_EXPANSION_DEPTH = 32
MAX_EXPANSION_CHARS = 64 * 1024

_HELP = re.compile(r"-*\s*help\s*-*")
_ASSIGNMENT = re.compile(r"([A-Za-z0-9_-]+)\s*(:=|\+=|=)\s*(.*)")
_OLD_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_CALL_PUNCTUATION = re.compile(r"[(),]")
_ENTRY_ATTRIBUTES = {*_TYPES, "prompt", "default", "def_bool", "def_tristate", "range", "option"}
_IGNORED = {"modules", "transitional", "visible", "mainmenu", "allnoconfig_y", "optional"}
_SOURCES = ("source", "rsource", "osource", "orsource")
_KEYWORDS = {
    *_ENTRY_ATTRIBUTES, *_IGNORED, *_SOURCES, "config", "menuconfig", "choice", "endchoice",
    "menu", "endmenu", "if", "endif", "comment", "depends", "requires", "select", "imply",
    "enable", "help", "---help---",
}  # fmt: skip


class _Env(NotingLookups):
    """Make's variables as the reader sees them, noting which were read: a read
    that never used ``ARCH`` serves every ``make ARCH=`` of its srcarch."""

    def __init__(self, **values: str) -> None:
        super().__init__(values)


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

    def check_bounds(self, path: str, depth: int) -> None:
        """The bounds on reading ``path`` at ``depth`` sources deep: nesting, files, time."""
        where = Location(self.tree.rev, path)
        if depth >= MAX_SOURCE_DEPTH:
            raise LimitError(f"Kconfig sources nest deeper than {MAX_SOURCE_DEPTH}", where)
        if len(self.out.files) >= self.max_files:
            raise LimitError(f"more than {self.max_files} Kconfig files", where)
        self.check_time(path)

    def read_file(self, path: str, *, optional: bool = False) -> None:
        self.check_bounds(path, len(self.stack))
        try:
            data = self.tree.read(path)
        except EscapeError as err:
            self.warn(f"source {path!r} ignored: {err.message}")
            return
        if data is None:
            self.out.missing.append(path)
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
        target = self.source_target(keyword, tokens[0], path, self.stack)
        if target is not None:
            self.read_file(target, optional=keyword in ("osource", "orsource"))

    def source_target(self, keyword: str, token: str, path: str, stack: list[str]) -> str | None:
        """The file a ``source`` line of ``path`` reads, or None (with a warning) when
        it is not followed: it leaves the tree, closes a cycle, or is a glob."""
        target = _OLD_VARIABLE.sub(self._old_variable, _unquote(token))
        if keyword in ("rsource", "orsource"):
            target = posixpath.join(posixpath.dirname(path), target)
        try:
            target = normalize(target, self.tree.rev)
        except EscapeError:
            self.warn(f"{keyword} {token} leaves the tree; ignored")
            return None
        if target in stack:
            cycle = " -> ".join([*stack[stack.index(target) :], target])
            self.warn(f"{keyword} cycle {cycle}; not followed")
            return None
        if any(c in target for c in "*?["):
            self.warn(f"{keyword} {token}: globs are not supported; ignored")
            return None
        return target

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
        # the first help line's leading blanks: a line that starts with them is as
        # indented or more (tab stops count from the same column), so help text
        help_prefix = ""
        while number < count:
            start, text = number, lines[number]
            number += 1
            if in_help:
                if help_prefix and text.startswith(help_prefix):
                    continue
                if not text or text.isspace():
                    continue
                if text[0] in " \t":
                    indent = _indent(text)
                    if not help_indent:
                        help_indent = indent
                        help_prefix = text[: len(text) - len(text.lstrip())]
                    if indent >= help_indent:
                        continue
                in_help = False
            while text.endswith("\\") and number < count:
                text = text[:-1] + lines[number]
                number += 1
            help_indent, help_prefix = 0, ""
            stripped = text.strip()
            if not stripped or stripped[0] == "#":  # (a blank line or a comment)
                continue
            self.where = (path, start + 1)
            if self.logical is not None:
                self.logical.append((start + 1, stripped))
            try:
                in_help = self.line(path, stripped)
            except _BadLine as err:
                self.warn(f"{err} in {stripped!r}; line ignored")

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
        elif isinstance(entry, _Choice) and (keyword == "prompt" or keyword in _TYPES):
            tokens = _tokens(rest)
            if tokens:  # (a type alone is no prompt)
                entry.prompts.append(_split_if(tokens)[1])
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


# --- text helpers --------------------------------------------------------------------------


#: the tree's Kconfig tool since 6.11: a choice's value is worked out by this
#: function of its menu, which takes the default even where the prompt is hidden
_CHOICE_BY_MENU = b"sym_calc_choice(struct menu *choice)"
#: blob id of the file read -> its answer (None: a Makefile that names no version)
_HIDDEN_CHOICES: dict[str, bool | None] = {}


def hidden_choices_pick(tree: Tree | None) -> bool:
    """Whether a ``choice`` whose prompt is hidden still picks its default, as the
    tree's own Kconfig tool decides: since 6.11 it does (arch/x86's "Memory split"
    if EXPERT gives VMSPLIT_3G), before it picked nothing (arm's "Kernel command
    line type" if CMDLINE != "" left every member n). Read off the tree's
    ``scripts/kconfig/symbol.c``, else its Makefile's version; a tree with
    neither is taken as current."""
    if tree is None:
        return True
    for path in ("scripts/kconfig/symbol.c", "Makefile"):
        try:
            blob = tree.blob_id(path)
            if blob is not None and blob not in _HIDDEN_CHOICES:
                _HIDDEN_CHOICES[blob] = _choice_rule(path, tree.read(path) or b"")
        except ExtractorError:  # unreadable: the next source, or current Kconfig
            continue
        found = _HIDDEN_CHOICES.get(blob) if blob is not None else None
        if found is not None:
            return found
    return True


def _choice_rule(path: str, data: bytes) -> bool | None:
    """``hidden_choices_pick`` from one file (None: a Makefile without a version)."""
    if path.endswith("symbol.c"):
        return _CHOICE_BY_MENU in data
    version = makefile_version(data)
    return None if version is None else version[:2] >= (6, 11)


def _indent(text: str) -> int:
    expanded = text.expandtabs(8)
    return len(expanded) - len(expanded.lstrip())


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
