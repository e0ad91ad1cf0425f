"""Every arch in kstack's table, on Debian's real headers, agrees with gcc.

kstack runs as a user runs it (``python -m extractor scan <repo> --tags '*'`` with
every arch, JSON out) over every tag of the Debian repository. The reference is
gcc with ``-undef`` and each target's predefined macros written out by hand in
``gcc_reference.ARCHES`` (no cross compiler needed: only the preprocessor reads
the headers, and the host compiler folds the macro text with ``-m64``/``-m32``),
under the same config symbols and Kconfig values as kstack's profile. An arch
whose headers a tree does not have (loongarch before 6.x) is skipped at that tag,
and the skip is reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from functools import cache
from pathlib import Path

import pytest

from extractor.arches import ARCHES as KSTACK_ARCHES

from .gcc_reference import ARCHES as GCC_ARCHES
from .gcc_reference import compare, reference_values

pytestmark = pytest.mark.realdata

# fmt: off
ARCHES = [
    "x86_64", "i386", "arm64", "arm", "riscv", "powerpc64", "powerpc", "s390", "loongarch",
    "mips",
]
# kstack's profiles, as gcc config on top of the arch's base ("n" leaves a base
# symbol out). Arches without KASAN simply ignore it, as kstack does.
CONFIGS = {"default": {}, "kasan": {"CONFIG_KASAN": "1", "CONFIG_KASAN_GENERIC": "1"}}
_ARM64_4K = {"CONFIG_ARM64_4K_PAGES": "n", "CONFIG_PAGE_SIZE_4KB": "n"}
ARCH_PROFILES = {
    "arm64": {
        "16k-pages": {**_ARM64_4K, "CONFIG_ARM64_16K_PAGES": "1", "CONFIG_PAGE_SIZE_16KB": "1",
                      "CONFIG_ARM64_PAGE_SHIFT": "14", "CONFIG_PAGE_SHIFT": "14"},
        "64k-pages": {**_ARM64_4K, "CONFIG_ARM64_64K_PAGES": "1", "CONFIG_PAGE_SIZE_64KB": "1",
                      "CONFIG_ARM64_PAGE_SHIFT": "16", "CONFIG_PAGE_SHIFT": "16"},
        "kasan-sw-tags": {"CONFIG_KASAN": "1", "CONFIG_KASAN_SW_TAGS": "1"},
        "kasan-hw-tags": {"CONFIG_KASAN": "1", "CONFIG_KASAN_HW_TAGS": "1"},
        "no-vmap-stack": {"CONFIG_VMAP_STACK": "n"},
    },
    "powerpc64": {
        "4k-pages": {"CONFIG_PPC_64K_PAGES": "n", "CONFIG_PAGE_SIZE_64KB": "n",
                     "CONFIG_PPC_4K_PAGES": "1", "CONFIG_PAGE_SIZE_4KB": "1",
                     "CONFIG_PPC_PAGE_SHIFT": "12", "CONFIG_PAGE_SHIFT": "12"},
    },
}
# fmt: on
# (arch, name): what kstack cannot fold yet although gcc can, and why. The cell must
# still come out "unknown" with this reason in it, never as a wrong number; once
# kstack folds it, the value is compared like any other and the entry should go.
KNOWN_GAPS: dict[tuple[str, str], str] = {
    # none left: loongarch's THREAD_SIZE_ORDER (ilog2(), through
    # __builtin_constant_p and __builtin_clzll) now folds like gcc
}


def kstack(*args: str) -> tuple[dict, int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "extractor", *args], capture_output=True, text=True, timeout=1200
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 3), proc.stderr  # 3: some cells failed (an absent arch)
    return json.loads(proc.stdout), proc.returncode, proc.stderr


@cache
def gcc(tree: Path, arch: str, config: str) -> dict:
    symbols = ARCH_PROFILES.get(arch, {}).get(config, CONFIGS.get(config))
    assert symbols is not None, f"no gcc config for {arch} {config}"
    return reference_values(tree, arch, symbols, KSTACK_ARCHES[arch].constants)


def test_the_gcc_reference_covers_every_arch() -> None:
    assert set(ARCHES) == set(KSTACK_ARCHES) == set(GCC_ARCHES)
    for name in ARCHES:
        assert GCC_ARCHES[name].srcarch == KSTACK_ARCHES[name].srcarch
        assert GCC_ARCHES[name].model == KSTACK_ARCHES[name].model


def check(
    debian_repo: tuple[Path, dict[str, Path]], arches: list[str], configs: list[str]
) -> tuple[list[str], list[str], list[str], dict[str, set[str]], int, float]:
    """Run kstack over every tag; (problems, skipped, gaps, compared, cells, seconds)."""
    repo, trees = debian_repo
    args = ["scan", str(repo), "--tags", "*", "--no-cache", "--format", "json"]
    for arch in arches:
        args += ["--arch", arch]
    for config in configs:
        args += ["--config", config]
    start = time.monotonic()
    document, status, stderr = kstack(*args)
    elapsed = time.monotonic() - start
    results = document["results"]
    assert len(results) == len(trees) * len(arches) * len(configs)

    skipped: list[str] = []
    problems: list[str] = []
    gaps: list[str] = []
    compared: dict[str, set[str]] = {arch: set() for arch in arches}
    cells = 0
    for result in results:
        tree = trees[result["rev"]]
        srcarch = KSTACK_ARCHES[result["arch"]].srcarch
        if not (tree / "arch" / srcarch / "include").is_dir():
            # kstack must say so as a layout error of that cell, and only of that cell
            error = result["error"] or {}
            assert error.get("kind") == "layout", result
            assert f"no {result['arch']} headers" in error["message"], result
            skipped.append(f"{result['rev']} {result['arch']} {result['config']}")
            continue
        assert result["error"] is None, f"{result['rev']} {result['arch']}: {result['error']}"
        reference = gcc(tree, result["arch"], result["config"])
        found, names, met = compare(result, reference, KNOWN_GAPS)
        problems += found
        gaps += met
        compared[result["arch"]].update(names)
        cells += len(names)
    assert status == (3 if skipped else 0), stderr
    return problems, skipped, gaps, compared, cells, elapsed


def test_every_arch_agrees_with_gcc_on_every_tag(
    debian_repo: tuple[Path, dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    problems, skipped, gaps, compared, cells, elapsed = check(debian_repo, ARCHES, list(CONFIGS))
    with capsys.disabled():
        print(f"\nall arches vs gcc: {cells} values compared, kstack took {elapsed:.0f}s")
        for line in skipped:
            print(f"  skipped (no arch/<srcarch>/include in that tree): {line}")
        for line in gaps:
            print(f"  known gap: {line}")
    if skipped:
        warnings.warn(f"arches absent from some Debian trees, skipped: {skipped}", stacklevel=1)
    assert problems == []
    # not vacuous: THREAD_SIZE was compared for every arch, somewhere
    assert [arch for arch in ARCHES if "THREAD_SIZE" not in compared[arch]] == []


@pytest.mark.parametrize("arch", sorted(ARCH_PROFILES))
def test_arch_profiles_agree_with_gcc_on_every_tag(
    debian_repo: tuple[Path, dict[str, Path]], arch: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(ARCH_PROFILES[arch]) == set(KSTACK_ARCHES[arch].profiles)
    profiles = sorted(ARCH_PROFILES[arch])
    problems, skipped, _, compared, cells, elapsed = check(debian_repo, [arch], profiles)
    with capsys.disabled():
        print(f"\n{arch} profiles vs gcc: {cells} values compared, kstack took {elapsed:.0f}s")
    assert skipped == []
    assert problems == []
    assert "THREAD_SIZE" in compared[arch]
