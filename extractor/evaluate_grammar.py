"""The C constant-expression grammar's file, wherever this copy of kstack keeps it.

In: nothing. Out: where ``grammars/c_expr.lark`` is (a package of an installed
kstack, or the directory beside ``extractor/`` in a source checkout), and its text.
``evaluate`` builds its parser from it; the cache counts its text as part of the
code that made a result.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

GRAMMAR_PACKAGE = "extractor.grammars"
GRAMMAR_FILE = "c_expr.lark"
#: in a source checkout grammars/ sits beside extractor/ and is not a package
SOURCE_GRAMMAR = Path(__file__).resolve().parent.parent / "grammars" / GRAMMAR_FILE


def grammar_is_packaged() -> bool:
    try:
        return importlib.util.find_spec(GRAMMAR_PACKAGE) is not None
    except ModuleNotFoundError:
        return False


def grammar_text() -> str:
    if grammar_is_packaged():
        return importlib.resources.files(GRAMMAR_PACKAGE).joinpath(GRAMMAR_FILE).read_text()
    return SOURCE_GRAMMAR.read_text()
