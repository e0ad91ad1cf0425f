"""The ``#if`` stack and ``#if`` evaluation, done kstack's way beneath pcpp.

In: the directives pcpp hands over, and the macros in effect.
Out: which branches are taken, each ``#if`` evaluated by kstack's own grammar
(pcpp 1.30 reads ``1ULL`` as 0), the branch regions of every file read
(``line_active``), the conditions each definition was made under, and the
names every live conditional tested, for the memo and for the config stage.

A mixin of ``preprocess.KernelPreprocessor``: ``defined``, ``__has_include``
and the pseudo-macros gcc answers itself are replaced before pcpp expands the
rest, and every name the expansion looks up is a dependency of the header's
memo entry, checked where it was made (``memo``'s early cutoff).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import EscapeError, LimitError, PreprocessError
from .result import Condition

#: builtin operators gcc answers itself; they count as defined
_PSEUDO_MACROS = (
    "__has_attribute",
    "__has_builtin",
    "__has_feature",
    "__has_extension",
    "__has_cpp_attribute",
    "__has_c_attribute",
    "__has_include",
    "__has_include_next",
)


@dataclass
class _Frame:
    path: str
    line: int
    directive: str
    parent_active: bool
    opening: str
    opening_line: int
    active: bool = False
    triggered: bool = False
    symbols: tuple[str, ...] = ()
    #: the last condition made, and what it was made from: every #define asks
    #: for the conditions of all open frames, which seldom change between two
    _made: tuple[Any, Condition] | None = field(default=None, init=False, repr=False)

    def condition(self) -> Condition:
        key = (self.path, self.line, self.directive, self.active, self.symbols)
        made = self._made
        if made is not None and made[0] == key:
            return made[1]
        condition = Condition(
            self.path,
            self.line,
            self.directive,
            self.active,
            self.symbols,
            self.opening,
            self.opening_line,
        )
        self._made = (key, condition)
        return condition


class _Taken(_Frame):
    """A branch a header followed by the memo is in (``_push_conditions``)."""

    def __init__(self, condition: Condition) -> None:
        self.taken = condition
        self.active = self.triggered = self.parent_active = True

    def condition(self) -> Condition:
        return self.taken


#: macros followed down a chain whose last one ends in ``defined``
_MAX_TAIL = 16


class Conditionals:
    """The ``#if`` half of ``KernelPreprocessor`` (the attributes are its)."""

    macros: Any
    layout: Any
    model: Any
    opened: list[Any]
    regions: dict[str, list[tuple[int, bool]]]
    _frames: list[_Frame]
    _pending: _Frame | None
    #: an ``#if`` is being expanded: a ``defined`` a macro yields is the operator
    #: (GNU cpp), not a name whose operand the expansion goes on to expand
    _defined_in_expansion = False
    _directive_at: tuple[str, int]
    _recordings: list[Any]
    _log: list[tuple[Any, ...]]
    _evaluate: Any
    t_ID: Any
    t_WS: Any
    t_INTEGER: Any

    if TYPE_CHECKING:  # KernelPreprocessor's and memo.Recorder's: declared, never shadowed

        def _check_time(self) -> None: ...

        def tree_path(self, source: Any) -> str: ...

        def where(self, source: Any = None, line: int | None = None) -> Any: ...

        def expand_macros(
            self, tokens: list[Any], expanding_from: list[str] | None = None
        ) -> Any: ...

        def _tested(self, names: tuple[str, ...]) -> None: ...

        def _depend_on_macro(self, name: str) -> None: ...

        def _own(self, key: Any, value: Any) -> None: ...

        def _resolve(self, name: str, quoted: bool, includer: str | None) -> tuple[str, str]: ...

    # -- the #if stack, shadowed so each definition knows its conditions ----

    def on_directive_handle(
        self, directive: Any, toks: list[Any], ifpassthru: bool, preceding: list[Any]
    ) -> bool:
        self._check_time()
        name = directive.value
        path, line = self.tree_path(directive.source), directive.lineno
        self._directive_at = (path, line)
        text = "#" + name + (" " + "".join(t.value for t in toks).strip() if toks else "")
        active = self._frames[-1].active if self._frames else True
        idents = tuple(t.value for t in toks if t.type == self.t_ID and t.value != "defined")
        if name in ("if", "ifdef", "ifndef"):
            frame = _Frame(path, line, text, active, text, line, symbols=idents)
            self._frames.append(frame)
            if active:
                self._tested(idents)
                if name == "if":
                    self._pending = frame
                else:
                    present = bool(toks) and toks[0].value in self.macros
                    if toks:
                        self._depend_on_macro(toks[0].value)
                    frame.active = present if name == "ifdef" else not present
                    frame.triggered = frame.active
        elif name in ("elif", "else") and self._frames:
            frame = self._frames[-1]
            frame.path, frame.line, frame.directive = path, line, text
            frame.symbols = tuple(dict.fromkeys(frame.symbols + idents))
            frame.active = False
            if frame.parent_active and not frame.triggered:
                if name == "elif":
                    self._tested(idents)
                    self._pending = frame
                else:
                    frame.active = frame.triggered = True
        elif name == "endif" and self._frames:
            self._frames.pop()
        if name in ("if", "ifdef", "ifndef", "elif", "else", "endif"):
            now = self._frames[-1].active if self._frames else True
            self.regions.setdefault(path, []).append((line, now))
            if self._recordings:
                self._log.append(("r", path, line, now))
        return True

    def line_active(self, path: str, line: int) -> bool | None:
        """Whether ``line`` of a header read here was in a taken branch (None: not read)."""
        if path not in {h.path for h in self.opened}:
            return None
        active = True
        for start, state in self.regions.get(path, []):
            if start > line:
                break
            active = state
        return active

    def _conditions(self) -> tuple[Condition, ...]:
        return tuple(frame.condition() for frame in self._frames)

    def _push_conditions(self, conditions: tuple[Condition, ...]) -> None:
        """Stand-ins for the ``#if`` frames of a header followed without pcpp, so
        what its includes define carries the branches it was included under."""
        self._frames.extend(_Taken(c) for c in conditions)

    def _pop_conditions(self, count: int) -> None:
        if count:
            del self._frames[-count:]

    # -- #if evaluation with our grammar ------------------------------------

    def _replace_defined(self, tokens: list[Any], strict: bool = True) -> list[Any]:
        """``defined X`` and ``defined(X)`` as 1 or 0. Not ``strict`` (a macro's
        replacement, before it is expanded further): a ``defined`` whose operand is
        not in ``tokens`` is left for the whole expression's turn."""
        out: list[Any] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.type == self.t_ID and tok.value == "defined":
                j = i + 1
                while j < len(tokens) and tokens[j].type in self.t_WS:
                    j += 1
                paren = j < len(tokens) and tokens[j].value == "("
                if paren:
                    j += 1
                    while j < len(tokens) and tokens[j].type in self.t_WS:
                        j += 1
                if j >= len(tokens) or tokens[j].type != self.t_ID:
                    if not strict:
                        out.append(tok)
                        i += 1
                        continue
                    raise PreprocessError("operator 'defined' requires an identifier", self.where())
                name = tokens[j].value
                j += 1
                if paren:
                    while j < len(tokens) and tokens[j].type in self.t_WS:
                        j += 1
                    if j >= len(tokens) or tokens[j].value != ")":
                        if not strict:
                            out.append(tok)
                            i += 1
                            continue
                        raise PreprocessError("missing ')' after 'defined'", self.where())
                    j += 1
                present = name in self.macros or name in _PSEUDO_MACROS
                new = self._int_token(tok, 1 if present else 0)
                out.append(new)
                i = j
                continue
            out.append(tok)
            i += 1
        return out

    def _defined_tails(self, tokens: list[Any]) -> list[Any]:
        """``tokens`` with each object-like macro whose expansion ends in the
        ``defined`` operator (``#define D defined``, or a macro naming one) put
        in place by its replacement: GNU cpp reads the operand that follows
        unexpanded (``#if D X`` is ``defined X``), and ``_replace_defined`` then
        sees it before the operand is expanded. A macro whose tail names itself
        is left alone (an error later, never a guess)."""
        out: list[Any] = []
        for tok in tokens:
            tail = self._defined_tail(tok.value, ()) if tok.type == self.t_ID else None
            if tail is None:
                out.append(tok)
            else:
                out.extend(tail)
        return out

    def _defined_tail(self, name: str, seen: tuple[str, ...]) -> list[Any] | None:
        """The replacement of object-like ``name``, its own tail macro's put in
        place, when it ends in ``defined`` or ``defined (``; else None."""
        if name == "defined" or name in seen or len(seen) > _MAX_TAIL:
            return None
        macro = self.macros.get(name)
        if macro is None or macro.arglist is not None:
            return None
        value, ws = macro.value, self.t_WS
        end = len(value) - 1
        while end >= 0 and value[end].type in ws:
            end -= 1
        if end < 0:
            return None
        last = value[end]
        before = end - 1
        while before >= 0 and value[before].type in ws:
            before -= 1
        if last.value == "defined" or (
            last.value == "(" and before >= 0 and value[before].value == "defined"
        ):
            return [copy.copy(t) for t in value[: end + 1]]
        if last.type != self.t_ID:
            return None
        tail = self._defined_tail(last.value, (*seen, name))
        if tail is None or any(t.value in (*seen, name) for t in value[:end]):
            return None
        return [copy.copy(t) for t in value[:end]] + tail

    def _int_token(self, like: Any, value: int) -> Any:
        new = copy.copy(like)
        new.type = self.t_INTEGER
        new.value = str(value)
        return new

    def _replace_has_include(self, tokens: list[Any]) -> list[Any]:
        out: list[Any] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.type == self.t_ID and tok.value in ("__has_include", "__has_include_next"):
                j = i + 1
                depth = 0
                parts: list[str] = []
                while j < len(tokens):
                    value = tokens[j].value
                    if value == "(":
                        depth += 1
                        if depth == 1:
                            j += 1
                            continue
                    elif value == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    if depth >= 1:
                        parts.append(value)
                    j += 1
                spec = "".join(parts).strip()
                quoted = spec.startswith('"')
                name = spec.strip('<>"')
                includer = self._directive_at[0]
                try:
                    header = self.layout.find(name, quoted=quoted, includer=includer)
                    if self._recordings:
                        found = self._resolve(name, quoted, includer or None)
                        self._own(("inc", includer or None, quoted, name), found)
                except EscapeError as err:
                    err.location = self.where()
                    raise
                present = header is not None and tok.value == "__has_include"
                out.append(self._int_token(tok, 1 if present else 0))
                i = j + 1
                continue
            out.append(tok)
            i += 1
        return out

    def evalexpr(self, tokens: list[Any]) -> tuple[int, None]:
        frame, self._pending = self._pending, None
        original = "".join(t.value for t in tokens).strip()
        watched: set[str] = set()
        self.macros.watch = watched
        try:
            expanded = self._replace_has_include(list(tokens))
            expanded = self._replace_defined(expanded)
            self._defined_in_expansion = True
            try:
                expanded = self.expand_macros(expanded)
            finally:
                self._defined_in_expansion = False
            expanded = self._replace_defined(expanded)
        except RecursionError:
            raise LimitError("macro expansion nested too deeply in #if", self.where()) from None
        finally:
            self.macros.watch = None
        for looked_up in watched:
            self._depend_on_macro(looked_up)
        # a symbol reached through a macro (``#if FOO``, FOO naming CONFIG_X) is tested too
        self._tested(tuple(sorted(n for n in watched if n.startswith("CONFIG_"))))
        text = " ".join(t.value for t in expanded if t.type not in self.t_WS)
        value = self._evaluate(text, self.model, directive=True)
        if not value.known:
            raise PreprocessError(f"cannot evaluate #if {original}: {value.reason}", self.where())
        result = 1 if value.value else 0
        if frame is not None:
            frame.active = frame.triggered = bool(result)
            # the region after an #if/#elif was noted before pcpp evaluated it
            marks = self.regions.get(frame.path)
            if marks and marks[-1][0] == frame.line:
                marks[-1] = (frame.line, frame.active)
                # and so was the memo's record of it: a replay must see the same
                for index in range(len(self._log) - 1, max(-1, len(self._log) - 16), -1):
                    item = self._log[index]
                    if item[0] == "r" and item[1] == frame.path and item[2] == frame.line:
                        self._log[index] = ("r", frame.path, frame.line, frame.active)
                        break
        return (result, None)
