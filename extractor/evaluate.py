"""Fold a C integer constant expression to a number, the way gcc does.

In: a C expression as text (already macro-expanded) and a data model.
Out: a Value (number and C type) or unknown with a reason.

Two dialects. A C constant expression (the body of a #define that code uses)
follows C11 6.3 and 6.6 for the target's data model: literal typing, integer
promotions, the usual arithmetic conversions, casts, ``sizeof``. An #if
expression (``directive=True``, C11 6.10.1) has no types but intmax_t and
uintmax_t, and every identifier that survived macro expansion is 0.

Where C leaves a result undefined and gcc refuses to fold it or warns about it
(division by zero, a shift count out of range, ``INT_MIN / -1``), the value is
unknown. Where gcc quietly wraps (signed overflow in ``+ - * <<``), so do we:
the goal is gcc's number, not a lint.

Unknown comes in two strengths. An operation whose *type* is known but whose
value is undefined (``1/0`` is an int) only matters if it is evaluated, so
``1 ? 2 : 1/0`` is 2 and ``sizeof(1/0)`` is 4, as in C. Anything whose type is
not known (an unknown identifier, a call, a string) makes the whole expression
unknown even where C would not evaluate it, because we cannot tell whether gcc
would even accept it.

The stage, one module per step: ``evaluate_types`` knows a target's integer
types (data models, type names, the kernel's typedefs), ``evaluate_literals``
reads integer and character constants, and ``evaluate_fold`` folds a parse tree
with C's integer semantics. This module is the entry point (``evaluate``): it
parses with grammars/c_expr.lark, retyping type names for the lexer hack, turns
a syntax error into a reason, and keeps the results that recur.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from .evaluate_fold import Value, _DirectiveFolder, _Folder
from .evaluate_grammar import GRAMMAR_FILE, GRAMMAR_PACKAGE, SOURCE_GRAMMAR, grammar_is_packaged
from .evaluate_types import (
    ILP32,
    LP64,
    TYPE_KEYWORDS,
    CType,
    DataModel,
    _kernel_typedefs,
    c_type,
    data_model,
    is_type_name,
)

__all__ = [
    "ILP32",
    "LP64",
    "CType",
    "DataModel",
    "Value",
    "c_type",
    "data_model",
    "evaluate",
    "is_type_name",
]

# --- parsing -----------------------------------------------------------------

# The lexer hack (see grammars/c_expr.lark): which identifiers the post-lexer
# retypes, for the evaluation in progress. A ContextVar rather than a parser
# per call, because the parser is built once and threads may share it.
_lexicon: ContextVar[Mapping[str, str]] = ContextVar("_lexicon")


class _TypeNamePostLexer(PostLex):
    # Terminals no rule uses; lark would drop them and lex "=" as nothing.
    always_accept = ("PUNCT1", "PUNCT2", "PUNCT3")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        lexicon = _lexicon.get({})
        for token in stream:
            if token.type == "IDENTIFIER" and token.value in lexicon:
                token = Token.new_borrow_pos(lexicon[token.value], token.value, token)
            yield token


@functools.cache
def _parser() -> Lark:
    options: dict[str, Any] = {
        "parser": "lalr",
        "lexer": "basic",
        "postlex": _TypeNamePostLexer(),
        "maybe_placeholders": True,
    }
    if grammar_is_packaged():
        return Lark.open_from_package(GRAMMAR_PACKAGE, GRAMMAR_FILE, **options)
    return Lark.open(str(SOURCE_GRAMMAR), **options)


@functools.cache
def _c_lexicon(model: DataModel) -> dict[str, str]:
    lexicon = dict.fromkeys(TYPE_KEYWORDS | _kernel_typedefs(model).keys(), "TYPE_WORD")
    lexicon.update(sizeof="SIZEOF", struct="TAG", union="TAG", enum="TAG")
    return lexicon


_PUNCTUATOR_KINDS = {
    **dict.fromkeys(("=", "<<=", ">>=", "+=", "-=", "*=", "/=", "%="), "assignment"),
    **dict.fromkeys(("&=", "|=", "^="), "assignment"),
    "++": "increment", "--": "decrement", "{": "brace", "}": "brace",
    "[": "subscript", "]": "subscript", ".": "member access", "->": "member access",
}  # fmt: skip
# `(name)` where an operand may start (not `f(name)`, not `x)(name)`).
_CAST_OF_UNKNOWN = re.compile(r"(?:\A|[^\w$)\]\s])\s*\(\s*([A-Za-z_$][\w$]*)\s*\)\s*\Z")


def _syntax_reason(text: str, err: UnexpectedInput, lexicon: Mapping[str, str]) -> str:
    if isinstance(err, UnexpectedCharacters):
        return f"not a constant expression: unexpected character {err.char!r}"
    if not isinstance(err, UnexpectedToken):
        return f"syntax error: {err}"
    token, expected = err.token, err.expected
    if token.type == "$END":
        return "missing ')'" if "RPAR" in expected else "unexpected end of expression"
    if token.type == "RPAR" and token.start_pos is not None:
        before = text[: token.start_pos]
        return "unbalanced ')'" if before.count("(") <= before.count(")") else "unexpected ')'"
    if token.type.startswith("PUNCT"):
        kind = _PUNCTUATOR_KINDS.get(token.value, "unexpected")
        return f"not a constant expression: {kind} '{token}'"
    if token.type == "IDENTIFIER" and "TYPE_WORD" in expected:
        return f"unknown type name {token}"
    if "PERCENT" in expected and token.start_pos is not None:
        # An operand is complete and another one starts: `(foo)1` is a cast
        # to a type we do not know, anything else is gcc's cpp complaint.
        cast = _CAST_OF_UNKNOWN.search(text, 0, token.start_pos)
        if cast and lexicon and cast[1] not in lexicon:
            return f"unknown type name {cast[1]}"
        return f'missing binary operator before token "{token}"'
    return f"syntax error: unexpected '{token}'"


_DEFINED = re.compile(r"\bdefined\b")


def evaluate(
    expression: str,
    model: DataModel,
    *,
    directive: bool = False,
    typedefs: Mapping[str, CType] | None = None,
) -> Value:
    """Fold ``expression``; never raises for any string, unknown carries a reason.

    ``directive`` reads it as an #if expression. ``typedefs`` adds type names
    usable in casts and ``sizeof`` to the kernel's usual ones (u64, size_t...).
    """
    if typedefs and not directive:
        return _evaluate(expression, model, directive, typedefs)
    return _evaluate_common(expression, model, directive)


# Headers repeat the same #if lines and #define bodies across arches, configs
# and revisions, and a parse costs a millisecond or two; Values are immutable.
@functools.lru_cache(maxsize=16384)
def _evaluate_common(expression: str, model: DataModel, directive: bool) -> Value:
    return _evaluate(expression, model, directive, {})


def _evaluate(
    expression: str, model: DataModel, directive: bool, typedefs: Mapping[str, CType]
) -> Value:
    if not expression.strip():
        return Value(None, None, "empty expression")
    if directive and _DEFINED.search(expression):
        return Value(None, None, "'defined' left after macro expansion")
    lexicon = {} if directive else _c_lexicon(model)
    if typedefs and not directive:
        lexicon = {**lexicon, **dict.fromkeys(typedefs, "TYPE_WORD")}
    reset = _lexicon.set(lexicon)
    try:
        tree = _parser().parse(expression)
    except UnexpectedInput as err:
        return Value(None, None, _syntax_reason(expression, err, lexicon))
    finally:
        _lexicon.reset(reset)
    if directive:
        folder: _Folder = _DirectiveFolder(model)
    else:
        folder = _Folder(model, {**_kernel_typedefs(model), **typedefs})
    result = folder.transform(tree)
    assert isinstance(result, Value), result
    return result
