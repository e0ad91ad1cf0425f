"""Kconfig decides only the symbols that can change a result (``relevance.py``).

In: the 6.12 fixture with three conditionals added to ``page_64_types.h``, each
testing a symbol of its own that the tree's Kconfig sets to y, and enclosing
something different; the fixture's own ``#ifdef CONFIG_KASAN``.
Out: the default profile asks the tree's Kconfig for a tested symbol only when its
conditional encloses something that can change the result (an include, a
``#warning``, a definition a constant uses); the result is the one made with every
tested symbol set to its Kconfig value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from extractor import ARCHES, DirectoryTree, make_config
from extractor.scan import analyse

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "eras" / "6.12"
HEADER = "arch/x86/include/asm/page_64_types.h"

ROWS = [
    # symbol, what its conditional encloses (None: the fixture's own), asked of Kconfig
    ("KASAN", None, True),  # KASAN_STACK_ORDER, in THREAD_SIZE's chain
    ("KS_QUIET", "#define KS_NEVER_USED 1", False),
    ("KS_LOUD", '#warning "kstack relevance"', True),
    ("KS_MORE", "#include <linux/stddef.h>", True),
]
ADDED = [row for row in ROWS if row[1] is not None]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("relevance") / "linux"
    shutil.copytree(FIXTURE, root)
    header = root / HEADER
    text = header.read_text()
    body = "".join(f"#ifdef CONFIG_{name}\n{inside}\n#endif\n" for name, inside, _ in ADDED)
    at = text.rindex("#endif")
    header.write_text(text[:at] + body + text[at:])
    kconfig = root / "arch/x86/Kconfig"
    entries = "".join(f"\nconfig {name}\n\tdef_bool y\n" for name, _, _ in ADDED)
    kconfig.write_text(kconfig.read_text() + entries)
    return root


def _analysed(tree: Path, sets: tuple[str, ...] = ()):
    arch = ARCHES["x86_64"]
    config = make_config("default", arch, sets=sets, kconfig=arch.kconfig_defaults)
    analysis = analyse(DirectoryTree(tree), arch, config)
    assert analysis.result.error is None, analysis.result.error
    return analysis


@pytest.mark.parametrize(("symbol", "inside", "asked"), ROWS, ids=[r[0] for r in ROWS])
def test_kconfig_is_asked_for_a_tested_symbol_only_where_it_can_matter(tree, symbol, inside, asked):
    analysis = _analysed(tree)
    questions = [q for q in analysis.kconfig_questions if q[0] == "alldefconfig"]
    assert questions, analysis.kconfig_questions
    assert f"CONFIG_{symbol}" in analysis.tested
    assert any(symbol in q[-1] for q in questions) == asked


def test_the_result_is_the_one_with_every_tested_symbol_decided(tree):
    # (first: a process decides again every symbol a cell of it needed before)
    result = _analysed(tree).result
    decided = _analysed(tree, tuple(f"CONFIG_{name}=y" for name, _, _ in ADDED)).result
    assert result.as_dict()["constants"] == decided.as_dict()["constants"]
    assert [w for w in result.warnings if "kstack relevance" in w]
    assert [w for w in result.warnings if "#warning" in w] == [
        w for w in decided.warnings if "#warning" in w
    ]
