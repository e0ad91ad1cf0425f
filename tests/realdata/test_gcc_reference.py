"""The GCC reference itself, on hand-written macros and a tiny hand-written tree (offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .gcc_reference import GccError, gcc_fold, gcc_macros, parse_dm, prepare_gcc_build

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

MACROS = """\
#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define THREAD_SIZE_ORDER 2
#define THREAD_SIZE (PAGE_SIZE << THREAD_SIZE_ORDER)
#define NEGATIVE (-5)
#define MINUS_ONE_LL (-1LL)
#define BIG (1ULL << 40)
#define TOP_BIT (1ULL << 63)
#define ALL_ONES (~0UL)
#define ZERO 0
#define MIXED_COMPARE (-1 < 0U)
#define TERNARY (PAGE_SHIFT > 12 ? 1 : 2)
#define CHAR_CONST 'A'
#define NOT_CONSTANT (some_variable + 1)
#define STRING "kstack"
#define DOUBLE(x) ((x) * 2)
#define STATEMENT ({ 1; })
"""


@pytest.mark.parametrize(
    ("name", "model", "expected"),
    [
        ("PAGE_SIZE", "LP64", (4096, False, 8)),
        ("PAGE_SIZE", "ILP32", (4096, False, 4)),
        ("THREAD_SIZE", "LP64", (16384, False, 8)),
        ("THREAD_SIZE", "ILP32", (16384, False, 4)),
        ("THREAD_SIZE_ORDER", "LP64", (2, True, 4)),
        ("NEGATIVE", "LP64", (-5, True, 4)),
        ("NEGATIVE", "ILP32", (-5, True, 4)),
        ("MINUS_ONE_LL", "ILP32", (-1, True, 8)),
        ("BIG", "ILP32", (1 << 40, False, 8)),
        ("BIG", "LP64", (1 << 40, False, 8)),
        ("TOP_BIT", "ILP32", (1 << 63, False, 8)),
        ("ALL_ONES", "LP64", ((1 << 64) - 1, False, 8)),
        ("ALL_ONES", "ILP32", ((1 << 32) - 1, False, 4)),
        ("ZERO", "LP64", (0, True, 4)),
        ("ZERO", "ILP32", (0, True, 4)),
        ("MIXED_COMPARE", "LP64", (0, True, 4)),
        ("TERNARY", "LP64", (2, True, 4)),
        ("CHAR_CONST", "LP64", (65, True, 4)),
        ("NOT_CONSTANT", "LP64", None),
        ("STRING", "LP64", None),
        ("STRING", "ILP32", None),
        ("DOUBLE", "LP64", None),
        ("STATEMENT", "LP64", None),
        ("UNDEFINED_NAME", "LP64", None),
    ],
)
def test_fold_one(name: str, model: str, expected: tuple[int, bool, int] | None) -> None:
    assert gcc_fold(MACROS, [name], model)[name] == expected


def test_fold_many_at_once_keeps_the_good_ones() -> None:
    names = ["NOT_CONSTANT", "THREAD_SIZE", "UNDEFINED_NAME", "BIG", "STRING", "NEGATIVE"]
    assert gcc_fold(MACROS, names, "ILP32") == {
        "NOT_CONSTANT": None,
        "THREAD_SIZE": (16384, False, 4),
        "UNDEFINED_NAME": None,
        "BIG": (1 << 40, False, 8),
        "STRING": None,
        "NEGATIVE": (-5, True, 4),
    }


def test_fold_rejects_broken_macro_text() -> None:
    with pytest.raises(GccError, match="macro text"):
        gcc_fold("#error not a macro table\n", ["X"], "LP64")


def test_fold_rejects_unknown_model() -> None:
    with pytest.raises(ValueError):
        gcc_fold(MACROS, ["ZERO"], "LLP64")


def test_parse_dm_object_and_function_like() -> None:
    macros = parse_dm("#define A (1 << 2)\n#define F(x,y) ((x)+(y))\n#define EMPTY\n")
    assert dict(macros) == {"A": "(1 << 2)", "F": "((x)+(y))", "EMPTY": ""}
    assert macros.params == {"F": "(x,y)"}


# A made-up tree shaped like a kernel one: asm/page.h needs a kbuild wrapper
# (asm/generic_only.h -> asm-generic/generic_only.h) and a generated header no source
# tree has (asm/asm-offsets.h).
FAKE_TREE = {
    "include/linux/kconfig.h": "#include <generated/autoconf.h>\n",
    "include/asm-generic/generic_only.h": "#define FROM_GENERIC 7\n",
    "arch/x86/include/asm/page.h": (
        "#include <asm/generic_only.h>\n"
        "#include <asm/asm-offsets.h>\n"
        "#define PAGE_SIZE (1UL << CONFIG_PAGE_SHIFT)\n"
    ),
    "arch/x86/include/asm/thread_info.h": (
        "#ifdef CONFIG_KASAN\n#define KASAN_ORDER 1\n#else\n#define KASAN_ORDER 0\n#endif\n"
        "#ifdef CONFIG_X86_64\n#define THREAD_SIZE (PAGE_SIZE << (2 + KASAN_ORDER))\n"
        "#else\n#define THREAD_SIZE (PAGE_SIZE << 1)\n#endif\n"
    ),
}


@pytest.fixture
def fake_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for path, text in FAKE_TREE.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(text)
    return tree


@pytest.mark.parametrize(
    ("arch", "config", "expected"),
    [
        ("x86_64", {}, (16384, False, 8)),
        ("x86_64", {"CONFIG_KASAN": "1"}, (32768, False, 8)),
        ("i386", {}, (8192, False, 4)),
    ],
)
def test_prepare_gcc_build_on_a_fake_tree(
    fake_tree: Path, tmp_path: Path, arch: str, config: dict[str, str], expected: tuple
) -> None:
    build = prepare_gcc_build(fake_tree, arch, config, workdir=tmp_path / "gen")
    assert build.stand_ins == {"asm/generic_only.h": "wrapper", "asm/asm-offsets.h": "empty"}
    macros = gcc_macros(fake_tree, *build, entries=["asm/page.h", "asm/thread_info.h"])
    assert macros["FROM_GENERIC"] == "7"
    assert gcc_fold(macros.text, ["THREAD_SIZE"], build.model)["THREAD_SIZE"] == expected


def test_gcc_macros_reports_gcc_stderr(fake_tree: Path) -> None:
    with pytest.raises(GccError, match="asm/generic_only.h"):
        gcc_macros(fake_tree, [Path("arch/x86/include"), Path("include")], {}, [], ["asm/page.h"])


def test_fold_falls_back_to_one_name_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from . import gcc_reference

    # As if GCC had reported an error it gave no probe line for.
    monkeypatch.setattr(gcc_reference, "_failing", lambda *args: set())
    names = ["THREAD_SIZE", "NOT_CONSTANT", "NEGATIVE"]
    assert gcc_fold(MACROS, names, "LP64") == {
        "THREAD_SIZE": (16384, False, 8),
        "NOT_CONSTANT": None,
        "NEGATIVE": (-5, True, 4),
    }
