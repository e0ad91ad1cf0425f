"""Kconfig-derived values through the whole pipeline: powerpc's THREAD_SHIFT and
page shift read from a fixture tree's Kconfig files (tests/kconfig_trees/powerpc),
with headers written here in the shape of the real ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractor.cli import cli

KCONFIG_TREE = Path(__file__).resolve().parent / "kconfig_trees" / "powerpc"
HEADERS = {
    "arch/powerpc/include/asm/page.h": (
        "#ifndef KSTACK_TEST_PAGE_H\n#define KSTACK_TEST_PAGE_H\n"
        "#define PAGE_SHIFT CONFIG_PPC_PAGE_SHIFT\n"
        "#define PAGE_SIZE (1UL << PAGE_SHIFT)\n#endif\n"
    ),
    "arch/powerpc/include/asm/thread_info.h": (
        "#ifndef KSTACK_TEST_THREAD_INFO_H\n#define KSTACK_TEST_THREAD_INFO_H\n"
        "#include <asm/page.h>\n"
        "#define THREAD_SHIFT CONFIG_THREAD_SHIFT\n"
        "#define THREAD_SIZE (1 << THREAD_SHIFT)\n#endif\n"
    ),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ppc") / "linux"
    shutil.copytree(KCONFIG_TREE, root)
    for path, text in HEADERS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


ROWS = [
    # arch, --set, THREAD_SHIFT, THREAD_SIZE, PAGE_SIZE (what the fixture Kconfig says)
    ("powerpc64", [], 14, 16384, 65536),  # default 14 if PPC64; 64K pages on Book3S-64
    ("powerpc", [], 13, 8192, 4096),  # default 13
    (
        "powerpc",
        ["CONFIG_44x=y", "CONFIG_PPC_256K_PAGES=y", "CONFIG_PPC_4K_PAGES=n"],
        15,
        32768,
        262144,
    ),  # default 15 if PPC_256K_PAGES comes first
    ("powerpc64", ["CONFIG_THREAD_SHIFT=15"], 15, 32768, 65536),  # the user's value wins
]


@pytest.mark.parametrize(("arch", "sets", "shift", "size", "page"), ROWS)
def test_thread_shift_from_kconfig(tree, arch, sets, shift, size, page):
    args = ["scan", str(tree), "--arch", arch, "--no-cache", "--format", "json"]
    for item in sets:
        args += ["--set", item]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    (cell,) = json.loads(result.output)["results"]
    constants = cell["constants"]
    assert (
        constants["THREAD_SHIFT"]["value"],
        constants["THREAD_SIZE"]["value"],
        constants["PAGE_SIZE"]["value"],
    ) == (shift, size, page)
    if not sets or not sets[0].startswith("CONFIG_THREAD_SHIFT"):
        link = next(
            item
            for item in constants["THREAD_SIZE"]["chain"]
            if item["macro"] == "CONFIG_THREAD_SHIFT"
        )
        assert link["file"] == "arch/powerpc/Kconfig"  # the chain points at the Kconfig line
        assert not any("arch table's default" in w for w in cell["warnings"])


# (arch, args, the symbols the warning names; None: no warning) on the fixture tree,
# whose Kconfig has THREAD_SHIFT but neither KASAN nor NOT_IN_TREE
UNDEFINED = [
    ("powerpc", ["--config", "kasan"], "CONFIG_KASAN=y, CONFIG_KASAN_GENERIC=y"),
    ("powerpc", ["--set", "CONFIG_NOT_IN_TREE=y"], "CONFIG_NOT_IN_TREE=y"),
    ("powerpc64", ["--set", "CONFIG_THREAD_SHIFT=15"], None),
    ("powerpc", [], None),
]


@pytest.mark.parametrize(("arch", "args", "named"), UNDEFINED)
def test_a_symbol_asked_for_that_the_tree_lacks_is_named(tree, arch, args, named):
    """A profile's or --set symbol that no Kconfig file of the tree defines is set as
    asked (headers may test it), with a warning that no build of the tree has it:
    `kasan` on a tree from before KASAN would otherwise read as a KASAN build."""
    result = CliRunner().invoke(
        cli, ["scan", str(tree), "--arch", arch, "--no-cache", "--format", "json", *args]
    )
    assert result.exit_code == 0, result.output
    (cell,) = json.loads(result.output)["results"]
    said = [w for w in cell["warnings"] if "not a symbol of this tree's Kconfig" in w]
    if named is None:
        assert said == []
    else:
        assert said == [
            f"{named}: not a symbol of this tree's Kconfig for ARCH=powerpc; set as asked, "
            "though no build of this tree can have it"
        ]
