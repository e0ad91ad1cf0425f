"""--all-configs: the config symbols a constant depends on, and its value under each."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from extractor.cli import cli
from extractor.configspace import Case, fold
from extractor.demo import build_demo_repo

FOLDS = [
    # the table of (symbols set, value) -> the priority list printed
    ([((), "1")], [Case("1", ())]),
    ([((), "8"), (("A",), "4")], [Case("8", ()), Case("4", ("A",))]),
    (
        [((), "16"), (("E",), "16"), (("K",), "32"), (("E", "K"), "64")],
        [Case("16", ()), Case("32", ("K",)), Case("64", ("E", "K"))],
    ),
    # one value under either of two symbols (arm64's KASAN_GENERIC, KASAN_SW_TAGS)
    (
        [((), "16"), (("G",), "32"), (("S",), "32"), (("G", "S"), "32")],
        [Case("16", ()), Case("32", ("G",)), Case("32", ("S",))],
    ),
    # not a priority list: x XOR y; the exact combinations are listed
    (
        [((), "0"), (("x",), "1"), (("y",), "1"), (("x", "y"), "0")],
        [Case("0", ()), Case("1", ("x",)), Case("1", ("y",)), Case("0", ("x", "y"))],
    ),
]


@pytest.mark.parametrize(("table", "cases"), FOLDS)
def test_fold(table, cases):
    assert fold(table) == cases


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory):
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


ANSWERS = [
    (
        "v5.0",
        "x86_64",
        "THREAD_SIZE on v5.0 x86_64: 16384; 32768 if KASAN; 65536 if KASAN && KASAN_EXTRA",
    ),
    ("v4.20", "x86_64", "THREAD_SIZE on v4.20 x86_64: 16384; 32768 if KASAN"),
    ("v2.6.20", "i386", "THREAD_SIZE on v2.6.20 i386: 8192; 4096 if 4KSTACKS"),
    ("v6.12", "i386", "THREAD_SIZE on v6.12 i386: 8192"),
]


@pytest.mark.parametrize(("rev", "arch", "line"), ANSWERS)
def test_all_configs_answers(demo_repo, rev, arch, line):
    result = CliRunner().invoke(
        cli, ["scan", str(demo_repo), "--rev", rev, "--arch", arch, "--all-configs"]
    )
    assert result.exit_code == 0, result.output
    assert line in result.output.splitlines()


def test_too_many_symbols_are_refused(tmp_path):
    asm = tmp_path / "arch/x86/include/asm"
    asm.mkdir(parents=True)
    ladder = "".join(
        f"#ifdef CONFIG_S{i}\n#define P{i} 1\n#else\n#define P{i} 0\n#endif\n" for i in range(11)
    )
    total = " + ".join(f"P{i}" for i in range(11))
    (asm / "page.h").write_text(ladder + f"#define THREAD_SIZE (4096 << ({total}))\n")
    (asm / "thread_info.h").write_text("#include <asm/page.h>\n")
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--all-configs"])
    assert result.exit_code == 2
    assert "11 config symbols" in result.output and "over the limit of 1024" in result.output


# (how the tree's Kconfig has KASAN, the line --all-configs prints). Every
# combination is the headers' answer, each symbol forced as --set forces it: Kconfig
# decided them again before, and 6.12's KASAN, behind a compiler probe kstack never
# runs, was always n there ("THREAD_SIZE x86_64: 16384", no KASAN case at all).
KCONFIG_KASAN = [
    ("behind a probe", "config CC_HAS_KASAN\n\tdef_bool n\nconfig KASAN\n"
     '\tbool "KASAN"\n\tdepends on CC_HAS_KASAN\n'),
    ("a plain prompt", 'config KASAN\n\tbool "KASAN"\n'),
    ("no prompt, no select", "config KASAN\n\tbool\n"),
    ("not in Kconfig", ""),
]  # fmt: skip


@pytest.mark.parametrize("kasan", [r[1] for r in KCONFIG_KASAN], ids=[r[0] for r in KCONFIG_KASAN])
def test_all_configs_tries_what_the_tree_kconfig_would_not_give(tmp_path, kasan):
    asm = tmp_path / "arch/x86/include/asm"
    asm.mkdir(parents=True)
    (asm / "page.h").write_text(
        "#ifdef CONFIG_KASAN\n#define KASAN_STACK_ORDER 1\n#else\n#define KASAN_STACK_ORDER 0\n"
        "#endif\n#define THREAD_SIZE (4096 << (2 + KASAN_STACK_ORDER))\n"
    )
    (asm / "thread_info.h").write_text("#include <asm/page.h>\n")
    bits = "config 64BIT\n\tdef_bool y\nconfig X86_64\n\tdef_bool y\nconfig X86_32\n\tdef_bool n\n"
    (tmp_path / "arch/x86/Kconfig").write_text('mainmenu "x86"\n' + bits + kasan)
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--all-configs", "--no-allocation"])
    assert result.exit_code == 0, result.output
    assert "THREAD_SIZE x86_64: 16384; 32768 if KASAN" in result.output.splitlines()
