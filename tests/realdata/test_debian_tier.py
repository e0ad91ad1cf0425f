"""Smoke test of the real-data tier: the Debian repo is complete and GCC, the reference,
gives the known x86 stack sizes on it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .gcc_reference import gcc_fold, gcc_macros, prepare_gcc_build

pytestmark = pytest.mark.realdata

KASAN = {"CONFIG_KASAN": "1", "CONFIG_KASAN_GENERIC": "1"}
ENTRIES = ["asm/page.h", "asm/thread_info.h"]


def _git_tags(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", f"--git-dir={repo}", "tag", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def _newest(tags: dict[str, Path], series: str) -> Path:
    in_series = [t for t in tags if re.fullmatch(rf"v{re.escape(series)}\.\d+", t)]
    return tags[max(in_series, key=lambda t: [int(n) for n in t[1:].split(".")])]


def test_repo_has_two_builds_of_each_series(debian_repo: tuple[Path, dict[str, Path]]) -> None:
    repo, tags = debian_repo
    git_tags = _git_tags(repo)
    assert sorted(git_tags) == sorted(tags)
    assert len([t for t in git_tags if re.fullmatch(r"v6\.1\.\d+", t)]) >= 2
    assert len([t for t in git_tags if re.fullmatch(r"v6\.12\.\d+", t)]) >= 2


def test_every_tag_has_the_x86_64_page_types(debian_repo: tuple[Path, dict[str, Path]]) -> None:
    repo, tags = debian_repo
    path = "arch/x86/include/asm/page_64_types.h"
    for tag, tree in tags.items():
        assert (tree / path).is_file(), tree
        subprocess.run(["git", f"--git-dir={repo}", "cat-file", "-e", f"{tag}:{path}"], check=True)


@pytest.mark.parametrize("series", ["6.1", "6.12"])
@pytest.mark.parametrize(
    ("arch", "config", "thread_size"),
    [
        ("x86_64", {}, 16384),
        ("x86_64", KASAN, 32768),
        # KASAN is 64-bit only on x86: the 32-bit stack does not grow with it.
        ("i386", {}, 8192),
        ("i386", KASAN, 8192),
    ],
)
def test_gcc_reference_thread_size(
    debian_repo: tuple[Path, dict[str, Path]],
    series: str,
    arch: str,
    config: dict[str, str],
    thread_size: int,
) -> None:
    tree = _newest(debian_repo[1], series)
    build = prepare_gcc_build(tree, arch, config, ENTRIES)
    macros = gcc_macros(tree, *build, entries=ENTRIES)
    folded = gcc_fold(macros.text, ["THREAD_SIZE", "PAGE_SIZE"], build.model)
    word = 8 if arch == "x86_64" else 4
    assert folded == {"THREAD_SIZE": (thread_size, False, word), "PAGE_SIZE": (4096, False, word)}


def test_a_headers_package_has_no_kconfig(debian_repo: tuple[Path, dict[str, Path]]) -> None:
    """A headers-only tree has no Kconfig files: kstack says so (None), it does
    not make values up. (Moved here from test_kconfig.py, where it skipped
    quietly on a fresh machine: its skip was decided before this tier fetched.)"""
    from extractor.kconfig import kconfig_values
    from extractor.source import DirectoryTree

    _, tags = debian_repo
    assert tags
    for tree in tags.values():
        assert kconfig_values(DirectoryTree(tree), "x86", {}, ["PAGE_SHIFT"]) is None
