"""Preprocess stage: pcpp over the tree, under one config, with kstack's rules.

In: a ``Layout`` (which resolves includes and knows the config) and the entry
headers to include.
Out: a ``MacroTable``: every macro in effect at the end, where each one was
defined, and the ``#if``/``#ifdef`` branches that led to that definition.

pcpp does the tokenising and macro expansion. kstack replaces the parts it
cannot trust for this job:

- ``#if`` is evaluated by our own grammar (pcpp 1.30 reads ``1ULL`` as 0);
- includes are resolved by the layout, never from the host file system;
- every preprocessor error is fatal to the result, never a silently other branch;
- only directive lines are handed to pcpp: C code cannot change a macro, and
  skipping it makes a header's cost its directives, not its size;
- time, include depth and expansion depth are bounded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pcpp import Preprocessor  # type: ignore[import-untyped]
from pcpp.parser import LexToken  # type: ignore[import-untyped]  # the class pcpp's lexer makes
from pcpp.preprocessor import Macro  # type: ignore[import-untyped]

from . import memo, preprocess_lex
from .conditionals import _PSEUDO_MACROS, Conditionals, _Frame
from .directives import (  # noqa: F401  (re-exported: the cache's per-blob facts)
    CONDITIONALS,
    Directive,
    decode_text,
    directive_facts,
    directive_skeleton,
)
from .errors import EscapeError, ExtractorError, LimitError, Location, PreprocessError
from .layout import Header, Layout
from .result import Condition


def _copy_token(token: Any) -> Any:
    new = LexToken.__new__(LexToken)
    new.__dict__.update(token.__dict__)
    return new


# pcpp copies every token of every #define and expansion with copy.copy, whose
# generic path (__reduce_ex__) was a third of the run time; a plain token needs
# only its attributes copied.
LexToken.__copy__ = _copy_token


def define_shared(pp: Any, tokens: Any) -> bool:
    """A ``#define`` (its tokens after the keyword) made as pcpp's ``define`` makes
    it, but sharing its tokens instead of copying them; False, doing nothing, for
    a definition this leaves to pcpp (a variadic or malformed parameter list).

    pcpp copies every token of every definition (7% of a real-history run) so
    that it may edit them, but it edits only a variadic parameter (renamed to
    ``__VA_ARGS__``); ``macro_prescan`` copies a ``#`` operand before retyping it,
    and expansions copy a macro's tokens before they edit them. So a definition
    without a variadic parameter can share its tokens with the lexed line
    (``group_lines`` keeps those per header text).
    """
    if isinstance(tokens, str) or not tokens:
        return False
    name = tokens[0]
    if len(tokens) == 1 or tokens[1].type in pp.t_WS:  # object-like
        macro = Macro(name.value, pp.tokenstrip(tokens[2:]))
    elif tokens[1].value == "(":
        count, args, _ = pp.collect_args(tokens[1:])
        if args != [[]] and not all(
            len(a) == 1 and a[0].type == pp.t_ID and not a[0].value.endswith("...") for a in args
        ):
            return False
        value = pp.tokenstrip(tokens[1 + count :])
        i = 0
        while i < len(value):  # no blank beside ``##``, as pcpp leaves it
            if i + 1 < len(value):
                if value[i].type in pp.t_WS and value[i + 1].value == "##":
                    del value[i]
                    continue
                if value[i].value == "##" and value[i + 1].type in pp.t_WS:
                    del value[i + 1]
            i += 1
        macro = Macro(name.value, value, [a[0].value for a in args] if args != [[]] else [])
        pp.macro_prescan(macro)
    else:
        return False  # pcpp reports the bad definition
    macro.source, macro.lineno = name.source, name.lineno
    pp.macros[name.value] = macro
    return True


#: pcpp wants absolute paths; every header lives under this fake root
VROOT = "/@kstack/"


@dataclass(frozen=True)
class Limits:
    """Bounds that keep any input from hanging the tool (``--limit-*``)."""

    seconds: float = 120.0
    include_depth: int = 200
    expansion_depth: int = 400


@dataclass(frozen=True)
class Definition:
    """Where the definition of a macro in effect came from."""

    name: str
    #: tree path, ``<config>``, ``<builtin>`` or a stand-in path
    path: str
    line: int | None
    conditions: tuple[Condition, ...] = ()


def decode_header(header: Header, rev: str | None) -> str:
    if b"\0" in header.text:
        raise PreprocessError(
            "binary file (contains NUL bytes), not a header", Location(rev, header.path)
        )
    return decode_text(header.text)


class _Macros(dict[str, Any]):
    """pcpp's macro table, which can note every name looked up (``watch``).

    What an ``#if`` read is what its header's memo key must hold; pcpp's
    expansion looks names up here, pasted ones included.
    """

    watch: set[str] | None = None

    def __contains__(self, name: object) -> bool:
        if self.watch is not None:
            self.watch.add(name)  # type: ignore[arg-type]
        return dict.__contains__(self, name)

    def __getitem__(self, name: str) -> Any:
        if self.watch is not None:
            self.watch.add(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        if self.watch is not None:
            self.watch.add(name)
        return dict.get(self, name, default)


class KernelPreprocessor(Conditionals, memo.Recorder, Preprocessor):  # type: ignore[misc]
    """pcpp with includes, ``#if`` and errors done kstack's way."""

    def __init__(self, layout: Layout, limits: Limits) -> None:
        self.definitions: dict[str, Definition] = {}
        self._origin = "<builtin>"
        # the memo's bookkeeping (see memo.py), set before pcpp's own __init__ defines
        self._recordings: list[memo.Recording] = []
        self._log: list[tuple[Any, ...]] = []
        self._seq = 0
        self._touched: dict[Any, int] = {}
        self._resolved: dict[tuple[str | None, bool, str], tuple[str, str]] = {}
        self._last_read = None
        super().__init__()
        self.macros: _Macros = _Macros(self.macros)
        from . import evaluate  # lark loads with the first cell computed, not at start-up

        self.layout = layout
        self.limits = limits
        self.model = evaluate.data_model(layout.model)
        # the model as #if sees it (see memo): i386 and x86_64 share header effects
        directive_model = (self.model.llong_bits, self.model.char_signed)
        self.memo_scope = (directive_model, limits.include_depth, limits.expansion_depth)
        self._evaluate = evaluate.evaluate
        self.rev = layout.rev
        self.opened: list[Header] = []
        self.warnings: list[str] = []
        self.tested: set[str] = set()
        #: per header, (line, whether the lines after it are in a taken branch)
        self.regions: dict[str, list[tuple[int, bool]]] = {}
        #: every include followed: (includer, quoted, name, resolved path)
        self.resolutions: list[tuple[str | None, bool, str, str]] = []
        self._frames: list[_Frame] = []
        self._pending: _Frame | None = None
        self._deadline = time.monotonic() + limits.seconds
        self._directive_at: tuple[str, int] = ("", 0)
        self._origin = "<builtin>"
        self._expansion_depth = 0
        self.auto_pragma_once_enabled = True
        self.line_directive = None
        for name in _PSEUDO_MACROS[:-2]:
            self.define(f"{name}(x) 0")
        self._origin = "<builtin>"
        origins = layout.config.origins
        for name, value in layout.predefined().items():
            self._origin = "<config>" if name.startswith("CONFIG_") else "<builtin>"
            self.define(f"{name} {value}")
            if name in origins:  # decided by the tree's Kconfig: point there
                path, line, _ = origins[name]
                self.definitions[name] = Definition(name, path, line)

    # -- locations -----------------------------------------------------------

    @staticmethod
    def tree_path(source: Any) -> str:
        text = str(source or "")
        return text[len(VROOT) :] if text.startswith(VROOT) else text

    def where(self, source: Any = None, line: int | None = None) -> Location:
        if source is None:
            path, line = self._directive_at
            return Location(self.rev, path or None, line or None)
        return Location(self.rev, self.tree_path(source), line)

    def _here(self, source: Any = None, line: int | None = None) -> str:
        """``path:line`` without the revision: warnings are kept per content, not per tag."""
        if source is None:
            path, line = self._directive_at
        else:
            path = self.tree_path(source)
        return f"{path}:{line}"

    def _check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise LimitError(
                f"preprocessing took longer than {self.limits.seconds:g} s "
                "(raise it with --limit-seconds)",
                self.where(),
            )

    # -- lexing, once per header text ------------------------------------------

    def group_lines(self, input: str, abssource: str) -> Iterator[list[Any]]:
        """pcpp's lines of tokens, lexed once per text in this process (see
        preprocess_lex: the lexer was the largest cost left).

        Each use gets its own line lists; the tokens are shared, which is safe
        because pcpp copies a token before it changes one (and kstack hands it
        no comments, the one exception).
        """
        for line in preprocess_lex.lexed(self, input, abssource):
            yield list(line)

    def whole_group_lines(self, input: str, abssource: str) -> Iterator[list[Any]]:
        """pcpp's own lexing (for a lexer ``preprocess_lex`` does not model)."""
        return Preprocessor.group_lines(self, input, abssource)  # type: ignore[no-any-return]

    # -- errors: every one is fatal -------------------------------------------

    def on_error(self, file: Any, line: int, msg: str) -> None:
        raise PreprocessError(msg, self.where(file, line))

    def on_directive_unknown(
        self, directive: Any, toks: list[Any], ifpassthru: bool, preceding: list[Any]
    ) -> bool:
        name = directive.value
        text = "".join(t.value for t in toks).strip()
        if name == "error":
            raise PreprocessError(f"#error {text}", self.where(directive.source, directive.lineno))
        if name == "warning":
            self._warn(f"{self._here(directive.source, directive.lineno)}: #warning {text}")
            return True
        if name in ("pragma", "ident", "sccs", "line", "assert", "unassert"):
            return True
        if name == "include_next":
            # only for headers that wrap the compiler's own; nothing to follow
            self._warn(
                f"{self._here(directive.source, directive.lineno)}: "
                f"#include_next {text} not followed"
            )
            return True
        raise PreprocessError(
            f"invalid preprocessing directive #{name}",
            self.where(directive.source, directive.lineno),
        )

    def expand_macros(
        self, tokens: list[Any], expanding_from: list[str] | None = None
    ) -> list[Any]:
        self._expansion_depth += 1
        try:
            if self._expansion_depth > self.limits.expansion_depth:
                raise LimitError(
                    f"macro expansion nested more than {self.limits.expansion_depth} deep "
                    "(raise it with --limit-expansion-depth)",
                    self.where(),
                )
            self._check_time()
            if self._defined_in_expansion:  # GNU cpp: `#define CLASSIC !defined(X)`, `#if CLASSIC`
                tokens = self._replace_defined(self._defined_tails(tokens), strict=False)
            return super().expand_macros(tokens, expanding_from or [])
        finally:
            self._expansion_depth -= 1

    def macro_expand_args(self, macro: Any, args: list[Any]) -> list[Any]:
        # an argument is expanded on its own first, where `defined` is a plain name
        held, self._defined_in_expansion = self._defined_in_expansion, False
        try:
            return super().macro_expand_args(macro, args)  # type: ignore[no-any-return]
        finally:
            self._defined_in_expansion = held

    # -- definitions ------------------------------------------------------------

    def define(self, tokens: Any) -> None:
        if not define_shared(self, tokens):
            super().define(tokens)
        self._defined(tokens)

    def _defined(self, tokens: Any) -> None:
        if isinstance(tokens, str):
            name = re.split(r"[\s(]", tokens.strip(), maxsplit=1)[0]
            self.definitions[name] = Definition(name, self._origin, None)
            if self._recordings:
                self._touch(name)
                macro = dict.get(self.macros, name)
                self._log.append(("D", name, macro, self.definitions[name]))
            return
        first = tokens[0]
        path = self.tree_path(first.source)
        conditions = self._conditions()
        self.definitions[first.value] = self.definition(first.value, path, first.lineno, conditions)
        if self._recordings:
            self._touch(first.value)
            relative = conditions[self._recordings[-1].frames :]
            macro = dict.get(self.macros, first.value)
            self._log.append(("d", first.value, macro, path, first.lineno, relative))

    def definition(
        self, name: str, path: str, line: int | None, conditions: tuple[Condition, ...]
    ) -> Definition:
        origin = self.layout.config.origins.get(name)
        if origin is not None and path.endswith("/autoconf.h"):
            # kstack wrote this autoconf.h line from a value the tree's Kconfig gave
            return Definition(name, origin[0], origin[1])
        return Definition(name, path, line, conditions)

    def undef(self, tokens: Any) -> None:
        super().undef(tokens)
        if not isinstance(tokens, str) and tokens:
            self.definitions.pop(tokens[0].value, None)
            if self._recordings:
                self._touch(tokens[0].value)
                self._log.append(("u", tokens[0].value))

    # -- includes, resolved by the layout only -------------------------------

    def include(self, tokens: list[Any], original_line: Any) -> Iterator[Any]:
        self._check_time()
        if not tokens:
            raise PreprocessError('#include expects "FILENAME" or <FILENAME>', self.where())
        if tokens[0].value != "<" and tokens[0].type != self.t_STRING:
            watched: set[str] = set()
            self.macros.watch = watched
            try:
                tokens = self.tokenstrip(self.expand_macros(tokens))
            finally:
                self.macros.watch = None
            for looked_up in watched:
                self._depend_on_macro(looked_up)
        if tokens and tokens[0].value == "<":
            closing = next((i for i, t in enumerate(tokens) if t.value == ">"), None)
            if closing is None:
                raise PreprocessError("malformed #include <...>", self.where())
            name, quoted = "".join(t.value for t in tokens[1:closing]), False
        elif tokens and tokens[0].type == self.t_STRING:
            name, quoted = tokens[0].value[1:-1], True
        else:
            raise PreprocessError('#include expects "FILENAME" or <FILENAME>', self.where())
        file_macro = dict.get(self.macros, "__FILE__")
        yield from self.include_header(name, quoted)
        if file_macro is not None and self._recordings:
            self._log.append(("F", file_macro))  # pcpp puts the includer's __FILE__ back

    def _end_include(self) -> None:
        if self._recordings:
            self._log.append(("e",))  # the end of this include's items (see _replay_partially)

    def include_header(self, name: str, quoted: bool) -> Iterator[Any]:
        # (no wrapper generator: each include level costs Python frames, and
        # --limit-include-depth must trip before Python's own recursion limit)
        includer = self._directive_at[0] or None
        try:
            path, blob = self._resolve(name, quoted, includer)
        except EscapeError as err:
            err.location = self.where()
            raise
        self._depend(("inc", includer, quoted, name), (path, blob))
        self.resolutions.append((includer, quoted, name, path))
        abspath = VROOT + path
        once = abspath in self.include_once
        if self._recordings:
            conditions = self._conditions()[self._recordings[-1].frames :]
            line = self._directive_at[1]
            self._log.append(("s", (includer, quoted, name, path), conditions, line))
            self._depend(("once", abspath), once)
        if once:
            self._end_include()
            return
        stand_in = self.layout.stand_in(name)
        if path == stand_in.path:
            self._mark_once(abspath, None)
            self._warn(
                f"{self._here()}: {name} is not in the tree ({stand_in.missing_kind}); "
                "read as an empty header"
            )
        if self.include_depth >= self.limits.include_depth:
            raise LimitError(
                f"#include nested more than {self.limits.include_depth} deep "
                "(raise it with --limit-include-depth)",
                self.where(),
            )
        key = (self.memo_scope, path, self.text_key(name, quoted, includer, blob))
        candidates, include = memo.MEMO.candidates(key), (name, quoted, includer)
        for effect in candidates:
            if self._verify(effect):
                memo.MEMO.replayed += 1
                self._replay(self._rebound(key, effect, blob, include))
                self._end_include()
                return
        if candidates and memo.PARTIAL[0]:  # same text, other inputs: follow it, includes live
            closest = self._closest(candidates)  # (of the variants: every arch's)
            followed = yield from self._replay_partially(closest, key, blob, include)
            if followed:
                memo.MEMO.partial += 1
                self._end_include()
                return
        memo.MEMO.run += 1
        header = self._header_now(name, quoted, includer)
        if header.path != path:  # cannot happen while memo.resolve agrees with Layout.find
            raise PreprocessError(
                f"#include {name}: resolved to {header.path} and to {path}", self.where()
            )
        assert self._last_read is not None
        yield from self._run(header, name, abspath, key, self._last_read[2], blob)
        self._end_include()

    def _skeleton_of(self, header: Header) -> str:
        return directive_skeleton(decode_header(header, self.rev))

    def read_directives(self, header: Header, text: str) -> None:
        """A C file's directive lines ``text`` (its includes blanked: made from the
        file's text alone), on top of the macros so far, memoised like a header's."""
        key = (self.memo_scope, header.path, header.blob, "directives")
        for effect in memo.MEMO.candidates(key):
            if self._verify(effect):
                memo.MEMO.replayed += 1
                self._replay(effect)
                return
        memo.MEMO.run += 1
        self._directive_at = (header.path, 0)
        for _ in self._run(header, header.path, VROOT + header.path, key, text):
            pass

    def _run(
        self,
        header: Header,
        name: str,
        abspath: str,
        key: tuple[Any, ...],
        text: str | None = None,
        blob: str | None = None,
    ) -> Iterator[Any]:
        """pcpp over one header (``text``: its directive lines, if made already), its
        effect recorded into the memo under ``blob`` (the header's, if None)."""
        recording = memo.Recording(
            key, self._seq, len(self._log), len(self._frames), self.include_depth
        )
        recording.max_depth = self.include_depth
        self._recordings.append(recording)
        had_once = abspath in self.include_once
        try:
            self.opened.append(header)
            self._log.append(("h", header))
            if text is None:
                text = self._skeleton_of(header)
            saved = self._directive_at
            yield from self.parsegen(text, name, abspath)
            self._directive_at = saved
            if not had_once and abspath in self.include_once:  # pcpp's include-once mark
                self._mark_once(abspath, self.include_once[abspath])
        finally:
            self._recordings.pop()
            items = self._log[recording.start :]
            del self._log[recording.start :]
        effect = memo.Effect(
            recording.deps,
            items,
            recording.max_depth - recording.include_depth,
            recording.own,
            header.blob if blob is None else blob,
            key,
        )
        if len(self._frames) == recording.frames:
            memo.MEMO.store(key, effect)
        self._adopt(effect)


@dataclass
class MacroTable:
    """The macros in effect after preprocessing, with where they came from."""

    preprocessor: KernelPreprocessor
    entries: list[str] = field(default_factory=list)

    @property
    def macros(self) -> dict[str, Any]:
        return self.preprocessor.macros  # type: ignore[no-any-return]

    @property
    def definitions(self) -> dict[str, Definition]:
        return self.preprocessor.definitions

    @property
    def opened(self) -> list[Header]:
        return self.preprocessor.opened

    @property
    def warnings(self) -> list[str]:
        return self.preprocessor.warnings

    @property
    def tested(self) -> set[str]:
        return self.preprocessor.tested

    def include(self, entries: list[str]) -> None:
        """Include more headers after those already read (same macro state)."""
        pp = self.preprocessor
        try:
            for entry in entries:
                pp._directive_at = ("", 0)
                for _ in pp.include_header(entry, False):
                    pass
                if pp._frames:
                    frame = pp._frames[-1]
                    raise PreprocessError(
                        f"unterminated {frame.directive}", Location(pp.rev, frame.path, frame.line)
                    )
        except RecursionError:
            # Python's own stack ran out before the --limit-* bound the user raised
            raise LimitError(
                "preprocessing nested too deeply for kstack "
                "(lower --limit-include-depth or --limit-expansion-depth)",
                pp.where(),
            ) from None
        except ExtractorError:
            raise
        except Exception as err:  # pcpp's own failures on hostile input
            raise PreprocessError(
                f"preprocessor failed: {err.__class__.__name__}: {err}", pp.where()
            ) from err
        self.entries += entries

    def expand(self, name: str) -> str:
        """``name`` with every macro in it expanded, as one line of C."""
        pp = self.preprocessor
        try:
            tokens = pp.expand_macros(pp.tokenize(name))
        except RecursionError:
            raise LimitError(f"expanding {name} nested too deeply", Location(pp.rev)) from None
        except ExtractorError:
            raise
        except Exception as err:
            raise PreprocessError(f"cannot expand {name}: {err}", Location(pp.rev)) from err
        return " ".join("".join(t.value for t in tokens).split())


def preprocess(
    layout: Layout,
    entries: list[str],
    limits: Limits | None = None,
    tested: set[str] | None = None,
) -> MacroTable:
    """Read the force-included headers and ``entries``; return the macro table.

    ``tested`` gains the names the live conditionals test as they are met, so a
    caller learns them even when preprocessing fails (an ``#error``)."""
    table = MacroTable(KernelPreprocessor(layout, limits or Limits()))
    if tested is not None:
        table.preprocessor.tested = tested
    table.include(layout.force_includes)
    table.entries = []
    table.include(entries)
    return table
