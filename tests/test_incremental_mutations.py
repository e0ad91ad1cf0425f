"""Incremental equals scratch on histories of small edits that move lines.

``test_incremental`` walks the demo history, whose commits change values. Real
history is mostly edits that change nothing a cell reports but move the lines
it names: a comment above a definition, a blank line, an unrelated
``#define``, a Kconfig help text, an attribute Kconfig does not know (a
warning). Each edit must either leave the cached answer standing or be seen,
never leave an old line or an old warning in a result.

Each seed builds a history of such edits over one demo tree (plus a small x86
Kconfig tree of our own, old style, so that the Kconfig memo is used: the demo's
6.12 file uses the macro language, which is always read in full), scans it
through the cache in one process, forward and then backward over a second
cache, and compares every cell with the same cell from scratch, all memos
dropped first.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from pathlib import Path

import pytest
from test_kconfig import make_repo

from extractor import memos
from extractor.batch import ScanRequest, scan
from extractor.demo import build_demo_repo
from extractor.kconfig_memo import KCONFIG
from extractor.memo import MEMO
from extractor.source_revisions import Selection

#: the demo tree each history starts from, and the seeds of its edits
#: (``KSTACK_MUTATION_SEEDS=200 make test PYTEST_ARGS=test_incremental_mutations.py``
#: for a longer hunt)
SEEDS = int(os.environ.get("KSTACK_MUTATION_SEEDS", "8"))
BASES = [(["v4.4", "v3.2", "v2.6.25", "v6.12"][seed % 4], seed) for seed in range(SEEDS)]
REVISIONS = 8

ARCH_KCONFIG = """\
# A small x86 Kconfig tree written for kstack's tests, in the old style
mainmenu "kstack test tree"

config ARCH
\tstring
\toption env="ARCH"

config 64BIT
\tbool "64-bit kernel" if ARCH = "x86"
\tdefault ARCH != "i386"
\thelp
\t  Say yes to build a 64-bit kernel.

config X86_64
\tdef_bool y
\tdepends on 64BIT

config X86_32
\tdef_bool y
\tdepends on !64BIT

config PAGE_SHIFT
\tint
\tdefault 12

config 4KSTACKS
\tbool "Use 4Kb for kernel stacks instead of 8Kb"
\tdepends on X86_32

source "mm/Kconfig"
source "lib/Kconfig.kasan"
"""

MM_KCONFIG = """\
config SPARSEMEM
\tbool "Sparse memory"
\thelp
\t  Memory in sections that may have holes between them.

config UNRELATED
\ttristate "An option no cell reads"
\tdefault m
\thelp
\t  Nothing a stack constant depends on.
"""

KASAN_KCONFIG = """\
config KASAN
\tbool "Runtime memory debugger"
\tdepends on 64BIT
\thelp
\t  Instruments every load and store.
"""


def _files(repo, tag: str) -> dict[str, str]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", f"--git-dir={repo}", *args], capture_output=True, text=True, check=True
        ).stdout

    files = {
        path: git("show", f"{tag}:{path}")
        for path in git("ls-tree", "-r", "--name-only", tag).split()
    }
    files["arch/x86/Kconfig"] = ARCH_KCONFIG
    files["mm/Kconfig"] = MM_KCONFIG
    files.setdefault("lib/Kconfig.kasan", KASAN_KCONFIG)
    return files


def _insert(files: dict[str, str], path: str, text: str, rng: random.Random) -> None:
    lines = files[path].split("\n")
    at = rng.randrange(len(lines))
    files[path] = "\n".join([*lines[:at], text, *lines[at:]])


def _edit(files: dict[str, str], rng: random.Random, number: int, kinds: list[str]) -> str:
    """One edit of the kind real history is full of; its description."""
    headers = sorted(p for p in files if p.endswith(".h"))
    kconfigs = sorted(p for p in files if "Kconfig" in p.rsplit("/", 1)[-1])
    generic = sorted(p for p in headers if p.startswith("include/asm-generic/"))
    kind = rng.choice([k for k in kinds if k != "shadow" or generic])
    if kind == "comment":
        path = rng.choice(headers)
        _insert(files, path, f"/* edit {number} */", rng)
    elif kind == "blank":
        path = rng.choice(headers)
        _insert(files, path, "", rng)
    elif kind == "define":
        path = rng.choice(headers)
        _insert(files, path, f"#define KSTACK_EDIT_{number} {number}", rng)
    elif kind == "help":  # a comment line in a Kconfig file moves its entries
        path = rng.choice(kconfigs)
        files[path] = f"# edit {number}\n" + files[path]
    elif kind == "warning":  # an attribute Kconfig does not know, after an entry
        path = rng.choice(kconfigs)
        files[path] = files[path].replace("\tbool ", f"\tbogus{number}\n\tbool ", 1)
    elif kind == "hash-warning":  # a #warning: a line of the header in every result
        path = rng.choice(headers)
        _insert(files, path, f"#warning edit {number}", rng)
    elif kind == "value":  # a number in a #define changes: the answer may change
        path = rng.choice(headers)
        lines = files[path].split("\n")
        numbered = [i for i, line in enumerate(lines) if re.match(r"#\s*define \w+\s+\d+$", line)]
        if numbered:
            at = rng.choice(numbered)
            lines[at] = re.sub(r"\d+$", lambda m: str(int(m.group()) + 1), lines[at])
            files[path] = "\n".join(lines)
    elif kind == "include":  # a new include edge, anywhere in a header
        path, target = rng.choice(headers), rng.choice(headers)
        name = target.split("include/", 1)[-1].removeprefix("uapi/")
        _insert(files, path, f"#include <{name}>", rng)
    elif kind == "delete":  # a directive line goes (an #endif too: then a cell fails)
        path = rng.choice(headers)
        lines = files[path].split("\n")
        directives = [i for i, line in enumerate(lines) if line.lstrip().startswith("#")]
        if directives:
            del lines[rng.choice(directives)]
            files[path] = "\n".join(lines)
    elif kind == "select":  # an entry no cell reads now selects one a cell reads
        path = "mm/Kconfig"
        target = rng.choice(["4KSTACKS", "KASAN", "64BIT", "SPARSEMEM"])
        files[path] = files[path].replace("\tdefault m\n", f"\tdefault m\n\tselect {target}\n", 1)
    elif kind == "default":  # a value Kconfig gives changes
        path = "arch/x86/Kconfig"
        files[path] = re.sub(
            r"default (\d+)", lambda m: f"default {int(m.group(1)) + 1}", files[path], count=1
        )
    elif kind == "source":  # a new Kconfig file, sourced, with a second entry of a symbol
        path = f"mm/Kconfig.edit{number}"
        files[path] = rng.choice(
            ["config PAGE_SHIFT\n\tint\n\tdefault 14\n", "config OTHER\n\tbool\n"]
        )
        files["mm/Kconfig"] += f'source "{path}"\n'
    elif kind == "if-block":  # a Kconfig file's entries under an if: structure changes
        path = rng.choice(kconfigs)
        files[path] = f"if {rng.choice(['64BIT', 'X86_32', 'SPARSEMEM'])}\n{files[path]}\nendif\n"
    elif kind == "if0":  # lines of a header under #if 0
        path = rng.choice(headers)
        lines = files[path].split("\n")
        at = rng.randrange(len(lines))
        end = min(len(lines), at + rng.randrange(1, 4))
        files[path] = "\n".join([*lines[:at], "#if 0", *lines[at:end], "#endif", *lines[end:]])
    elif kind == "undef":  # a macro of the header undefined further down
        path = rng.choice(headers)
        names = re.findall(r"^#\s*define (\w+)", files[path], re.M)
        if names:
            files[path] += f"\n#undef {rng.choice(names)}\n"
    elif kind == "guard":  # the include guard renamed
        path = rng.choice(headers)
        found = re.search(r"^#ifndef (\w+)\n#define \1\b", files[path], re.M)
        if found:
            guard = found.group(1)
            files[path] = files[path].replace(guard, f"{guard}_EDIT{number}")
    elif kind == "kbuild":  # a generated asm wrapper appears or goes (asm/Kbuild)
        path = "arch/x86/include/asm/Kbuild"
        lines = files.get(path, "").split("\n")
        wrapped = [i for i, line in enumerate(lines) if line.startswith("generic-y")]
        if wrapped and rng.random() < 0.5:
            del lines[rng.choice(wrapped)]
        elif generic:
            lines.append(f"generic-y += {rng.choice(generic).rsplit('/', 1)[-1]}")
        files[path] = "\n".join(lines)
    elif kind == "version":  # the top Makefile's version (the layout's era follows it)
        path = "Makefile"
        if path in files:
            files[path] = re.sub(r"SUBLEVEL = (\d+)", f"SUBLEVEL = {number}", files[path])
    elif kind == "shadow":  # the arch's own copy of an asm-generic header: found first
        path = rng.choice(generic)
        files["arch/x86/include/asm/" + path.rsplit("/", 1)[-1]] = (
            f"/* edit {number} */\n" + files[path]
        )
    else:
        path = "kernel/fork.c" if "kernel/fork.c" in files else rng.choice(headers)
        _insert(files, path, f"/* edit {number} */", rng)
    return f"{kind} in {path}"


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory):
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


def _scan(repo, revs: list[str], cache: Path | None = None) -> list[dict]:
    """Every cell of ``revs`` (x86_64 and i386, default and 4kstacks, with the
    stack allocation), in one process, through ``cache`` if given."""
    request = ScanRequest(
        Selection(path=repo, revs=revs),
        arches=["x86_64", "i386"],
        profiles=["default", "4kstacks"],
        cache_path=cache,
        use_cache=cache is not None,
        jobs=1,
        allocation=True,
    )
    return [r.as_dict() for r in scan(request)]


#: every kind of edit ``_edit`` makes
KINDS = ["comment", "blank", "define", "help", "warning", "fork", "hash-warning", "value"]
KINDS += ["include", "delete", "select", "default", "source", "shadow"]
KINDS += ["if-block", "if0", "undef", "guard", "kbuild", "version"]


def _history(demo_repo, tmp_path, base: str, seed: int, kinds: list[str]):
    """A repository of REVISIONS revisions m0, m1, ..., two edits apart; the edits."""
    rng = random.Random(seed)
    files = _files(demo_repo, base)
    branches, edits = {}, []
    for number in range(REVISIONS):
        if number:
            edits.append(_edit(files, rng, number, kinds))
            edits.append(_edit(files, rng, number + 100, kinds))
        branches[f"m{number}"] = dict(files)
    revs = [f"m{i}" for i in range(REVISIONS)]
    return make_repo(tmp_path / "edits.git", branches), revs, edits


def _differences(repo, revs: list[str], tmp_path: Path) -> list[tuple[str, ...]]:
    """The cells that differ from scratch, scanned forward and then backward."""
    scratch = {}
    for rev in revs:
        memos.forget()
        for result in _scan(repo, [rev]):
            scratch[(rev, result["arch"], result["config"])] = result
    differ = []
    for order, cache in ((revs, "forward"), (revs[::-1], "backward")):
        memos.forget()
        for r in _scan(repo, order, tmp_path / f"{cache}.sqlite"):
            if r != scratch[(r["rev"], r["arch"], r["config"])]:
                differ.append((cache, r["rev"], r["arch"], r["config"]))
    memos.forget()
    return differ


@pytest.mark.parametrize(("base", "seed"), BASES, ids=[f"{b}-seed{s}" for b, s in BASES])
def test_small_edits_never_leave_an_old_line(demo_repo, tmp_path, base, seed):
    repo, revs, edits = _history(demo_repo, tmp_path, base, seed, KINDS)
    replayed = MEMO.replayed
    assert _differences(repo, revs, tmp_path) == [], edits
    assert MEMO.replayed > replayed, "no header effect was replayed: the test proves nothing"


def test_kconfig_answers_are_kept_across_edits_that_cannot_reach_them(demo_repo, tmp_path):
    """Edits of headers and of a Kconfig file no answer reads into: the kept
    answers serve the later revisions (else the test above proves nothing of them)."""
    repo, revs, edits = _history(demo_repo, tmp_path, "v4.4", 0, ["comment", "warning", "fork"])
    reused = KCONFIG.reused
    assert _differences(repo, revs, tmp_path) == [], edits
    assert KCONFIG.reused > reused
