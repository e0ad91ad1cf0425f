"""C integer and character constants, as text, to the numbers they stand for.

In: the text of one constant token (``0x10UL``, ``'\\n'``).
Out: an integer constant's value, base and suffix (its type is the folder's
business, see ``evaluate_fold``), a character constant's int value, or
``_Undefined`` saying why gcc would not take it (a floating constant, an unknown
escape, a value too large for any type).
"""

from __future__ import annotations

import re


class _Undefined(Exception):
    """An operand or operation has no value that gcc would agree to fold."""


def _quoted(text: str) -> str:
    """A literal as a reason quotes it: whole, unless it is absurdly long."""
    return text if len(text) <= 40 else text[:37] + "..."


_INTEGER = re.compile(
    r"""(?: 0[xX](?P<hex>[0-9a-fA-F]+) | 0[bB](?P<bin>[01]+)
          | (?P<oct>0[0-7]*) | (?P<dec>[1-9][0-9]*) )
        (?P<suffix> [uU](?:ll|LL|[lL])? | (?:ll|LL|[lL])[uU]? )?""",
    re.VERBOSE,
)
_FLOATING = re.compile(
    r"""(?: [0-9]*\.[0-9]*(?:[eE][+-]?[0-9]+)? | [0-9]+[eE][+-]?[0-9]+
          | 0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+ )[fFlL]?""",
    re.VERBOSE,
)
# No 64-bit value needs more digits; the cap keeps int() away from Python's
# limit on decimal string conversion.
_MAX_DECIMAL_DIGITS = 40


def _parse_integer(text: str) -> tuple[int, int, str]:
    """Value, base and lower-cased suffix of an integer constant."""
    match = _INTEGER.fullmatch(text)
    if match is None:
        kind = "floating constant" if _FLOATING.fullmatch(text) else "invalid integer constant"
        raise _Undefined(f"not an integer constant: {kind} {_quoted(text)}")
    suffix = (match["suffix"] or "").lower()
    for group, base in (("hex", 16), ("bin", 2), ("oct", 8), ("dec", 10)):
        digits = match[group]
        if digits is not None:
            if base == 10 and len(digits) > _MAX_DECIMAL_DIGITS:
                raise _Undefined(f"integer constant {_quoted(text)} is too large for its type")
            return int(digits, base), base, suffix
    raise AssertionError(text)  # the pattern has no other alternative


_SIMPLE_ESCAPES = {
    "n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11,
    "\\": 92, "'": 39, '"': 34, "?": 63, "e": 27, "E": 27,  # \e is GNU
}  # fmt: skip
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]+)|(.))|(.)", re.DOTALL)


def _escape_codes(match: re.Match[str]) -> list[int]:
    octal, hexadecimal, simple, plain = match.groups()
    if plain is not None:
        # gcc's execution character set is UTF-8, so 'é' is two chars.
        return list(plain.encode("utf-8", "surrogatepass"))
    if simple is not None:
        if simple not in _SIMPLE_ESCAPES:
            raise _Undefined(f"unknown escape sequence '\\{simple}'")
        return [_SIMPLE_ESCAPES[simple]]
    code = int(octal, 8) if octal else int(hexadecimal, 16)
    if code > 0xFF:
        raise _Undefined("escape sequence out of range")
    return [code]


def _character_value(text: str, char_signed: bool) -> int:
    """The int value of a plain character constant such as '\\n'."""
    if not text.startswith("'"):
        raise _Undefined(f"wide character constant {_quoted(text)} is not supported")
    codes = [code for m in _ESCAPE.finditer(text[1:-1]) for code in _escape_codes(m)]
    if len(codes) != 1:
        kind = "empty" if not codes else "multi-character"
        raise _Undefined(f"{kind} character constant {_quoted(text)}")
    code = codes[0]
    return code - 0x100 if char_signed and code >= 0x80 else code
