"""The acceptance test of the core: kstack on Debian's real headers agrees with gcc.

kstack runs the way a user runs it (the installed command, JSON out), in git
mode over every tag of the Debian repo and in directory mode on one unpacked
tree. gcc (``gcc -E -dM`` plus its own constant folding) is the reference,
on the same headers with the same config.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from .gcc_reference import compare, reference_values

pytestmark = pytest.mark.realdata

ARCHES = ["x86_64", "i386"]
CONFIGS = {"default": {}, "kasan": {"CONFIG_KASAN": "1", "CONFIG_KASAN_GENERIC": "1"}}
NAMES = {
    "x86_64": [
        "THREAD_SIZE",
        "THREAD_ORDER",
        "THREAD_SIZE_ORDER",
        "KASAN_STACK_ORDER",
        "IRQSTACKSIZE",
        "IRQ_STACK_SIZE",
        "EXCEPTION_STKSZ",
        "DEBUG_STKSZ",
        "N_EXCEPTION_STACKS",
        "PAGE_SIZE",
    ],
    "i386": ["THREAD_SIZE", "THREAD_ORDER", "THREAD_SIZE_ORDER", "PAGE_SIZE"],
}


def kstack(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "extractor", *args], capture_output=True, text=True, timeout=1200
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


@cache
def gcc(tree: Path, arch: str, config: str) -> dict:
    return reference_values(tree, arch, CONFIGS[config], NAMES[arch])


def agree(result: dict, tree: Path) -> list[str]:
    """Every disagreement between one kstack cell and gcc, as text."""
    where = f"{result['rev']} {result['arch']} {result['config']}"
    assert result["error"] is None, f"{where}: {result['error']}"
    return compare(result, gcc(tree, result["arch"], result["config"]))[0]


def scan_args() -> list[str]:
    args = []
    for arch in ARCHES:
        args += ["--arch", arch]
    for config in CONFIGS:
        args += ["--config", config]
    return args + ["--format", "json"]


def test_git_mode_agrees_with_gcc_on_every_tag(debian_repo: tuple[Path, dict[str, Path]]) -> None:
    repo, trees = debian_repo
    document = kstack("scan", str(repo), "--tags", "*", *scan_args())
    results = document["results"]
    assert {r["rev"] for r in results} == set(trees)
    assert len(results) == len(trees) * len(ARCHES) * len(CONFIGS)
    problems = [p for r in results for p in agree(r, trees[r["rev"]])]
    assert problems == []
    # the comparison was not vacuous: THREAD_SIZE was compared in every cell
    assert all(r["constants"]["THREAD_SIZE"]["value"] for r in results)


def test_directory_mode_agrees_with_gcc(debian_repo: tuple[Path, dict[str, Path]]) -> None:
    _, trees = debian_repo
    tag = sorted(trees)[0]
    document = kstack("scan", str(trees[tag]), *scan_args())
    results = document["results"]
    assert [r["rev"] for r in results] == [None] * len(ARCHES) * len(CONFIGS)
    problems = [p for r in results for p in agree(r, trees[tag])]
    assert problems == []


def test_explain_line_numbers_match_the_file(debian_repo: tuple[Path, dict[str, Path]]) -> None:
    """explain on a 6.1 tree: page_64_types.h and page_types.h, at the right lines."""
    _, trees = debian_repo
    tag = next(t for t in sorted(trees) if t.startswith("v6.1."))
    tree = trees[tag]
    document = kstack(
        "explain", str(tree), "--config", "default", "THREAD_SIZE", "--format", "json"
    )
    steps = {s["macro"]: s for s in document["steps"]}
    expected_files = {
        "THREAD_SIZE": "arch/x86/include/asm/page_64_types.h",
        "THREAD_SIZE_ORDER": "arch/x86/include/asm/page_64_types.h",
        "KASAN_STACK_ORDER": "arch/x86/include/asm/page_64_types.h",
        "PAGE_SIZE": "arch/x86/include/asm/page_types.h",
        "PAGE_SHIFT": "arch/x86/include/asm/page_types.h",
    }
    for macro, path in expected_files.items():
        step = steps[macro]
        assert step["file"] == path
        line = (tree / path).read_text().splitlines()[step["line"] - 1]
        assert line.split()[:2] == ["#define", macro], (macro, step["line"], line)
    kasan_branch = [
        b for b in steps["KASAN_STACK_ORDER"]["branches"] if "CONFIG_KASAN" in b["opening"]
    ]
    assert kasan_branch and kasan_branch[0]["directive"] == "#else"
    assert "CONFIG_KASAN is not set" in kasan_branch[0]["because"]
    opening = (
        (tree / kasan_branch[0]["file"])
        .read_text()
        .splitlines()[kasan_branch[0]["opening_line"] - 1]
    )
    assert opening.replace(" ", "") == "#ifdefCONFIG_KASAN"
    assert document["value"] == 16384
