"""The real Kconfig tier: Linux 6.12's own ``make`` configs against kstack, and gcc.

For every arch in kstack's table, the kernel's own Kconfig makes configs in an
``O=`` directory outside the (read-only) source tree: ``alldefconfig``, one named
defconfig, and alldefconfigs seeded through ``KCONFIG_ALLCONFIG`` (page sizes,
KASAN, sub-platforms). ``make syncconfig`` then writes the real ``autoconf.h``.
Each config is checked two ways:

(a) ``kstack scan --config-file .config`` against gcc with that ``autoconf.h``,
    kbuild's -I list and the dirs the arch Makefile adds for the config;
(b) for configs that are a kstack profile (``default``, ``kasan``, the arch's own),
    kstack with no config file (the tree's alldefconfig, computed by kstack's own
    Kconfig reader) against gcc under ``make alldefconfig`` seeded the same way; and
    the reader's alldefconfig against make's ``.config``, symbol for symbol, on every
    symbol the scanned headers test (each ``#if`` symbol of the headers the cell
    opened, and the chains' symbols).

The generated configs are cached under the Debian cache, keyed by tree, ARCH,
target and seed; ``scripts/kconfig`` is built once in a shared ``O=`` directory.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from extractor.arches import ARCHES
from extractor.arches_target import Arch
from extractor.cli import cli
from extractor.config import make_config, read_config_file
from extractor.kbuild import arch_includes
from extractor.kconfig import KconfigValues, alldefconfig
from extractor.scan import analyse
from extractor.source import DirectoryTree

from .debian import cache_dir
from .gcc_reference import ARCHES as GCC_ARCHES
from .gcc_reference import (
    compare,
    config_value,
    gcc_fold,
    gcc_macros,
    real_config_build,
    written_values,
)

pytestmark = pytest.mark.realdata


class Row(NamedTuple):
    arch: str
    target: str  # make target: alldefconfig or a named defconfig
    seed: Mapping[str, str]  # KCONFIG_ALLCONFIG symbols beyond the arch's and profile's
    profile: str | None  # the kstack profile this config is, for check (b)

    @property
    def id(self) -> str:
        seed = ",".join(f"{k.removeprefix('CONFIG_')}={v}" for k, v in self.seed.items())
        return "-".join(p for p in (self.arch, self.target, self.profile or "", seed) if p)


def _seeded(arch: str, **seed: str) -> Row:
    return Row(arch, "alldefconfig", {f"CONFIG_{k}": v for k, v in seed.items()}, None)


def _profile(arch: str, profile: str = "default") -> Row:
    return Row(arch, "alldefconfig", {}, profile)


ROWS = [
    _profile("x86_64"), Row("x86_64", "x86_64_defconfig", {}, None), _profile("x86_64", "kasan"),
    _profile("i386"), Row("i386", "i386_defconfig", {}, None),
    _profile("arm64"), Row("arm64", "defconfig", {}, None), _profile("arm64", "16k-pages"),
    _profile("arm64", "64k-pages"), _profile("arm64", "kasan"),
    _profile("arm"), Row("arm", "multi_v7_defconfig", {}, None),
    _profile("riscv"), Row("riscv", "defconfig", {}, None), _profile("riscv", "kasan"),
    _profile("powerpc64"), Row("powerpc64", "ppc64_defconfig", {}, None),
    _profile("powerpc64", "4k-pages"),
    _profile("powerpc"), Row("powerpc", "pmac32_defconfig", {}, None),
    _seeded("powerpc", **{"44x": "y", "PPC_64K_PAGES": "y"}),
    _seeded("powerpc", **{"44x": "y", "PPC_256K_PAGES": "y"}),
    _seeded("powerpc", PPC_8xx="y", PPC_16K_PAGES="y"),
    _profile("s390"), Row("s390", "defconfig", {}, None), _profile("s390", "kasan"),
    _profile("loongarch"), Row("loongarch", "loongson3_defconfig", {}, None),
    _profile("mips"), Row("mips", "malta_defconfig", {}, None),
    _seeded("mips", CPU_LITTLE_ENDIAN="y", **{"32BIT": "y"}),
]  # fmt: skip

_STATS: dict[str, list[object]] = {"configs": [], "constants": [], "symbols": [], "seconds": []}


# --- make, in an O= directory outside the tree -------------------------------------------


def _make(tree: Path, out: Path, make_arch: str, *args: str, seed: Path | None = None) -> None:
    env = None
    if seed is not None:
        import os

        env = {**os.environ, "KCONFIG_ALLCONFIG": str(seed)}
    proc = subprocess.run(
        ["make", "-s", "-C", str(tree), f"ARCH={make_arch}", f"O={out}", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, f"make {' '.join(args)} ARCH={make_arch}:\n{proc.stderr[-3000:]}"


def _seed_text(seed: Mapping[str, str]) -> str:
    return "".join(
        f"# {k} is not set\n" if v == "n" else f"{k}={v}\n" for k, v in sorted(seed.items())
    )


def made(tree: Path, row: Row) -> Path:
    """A directory with make's ``.config`` and ``autoconf.h`` for ``row`` (cached)."""
    return _made(tree, row.id)


@cache
def _made(tree: Path, row_id: str) -> Path:
    row = next(r for r in ROWS if r.id == row_id)
    arch = ARCHES[row.arch]
    seed = {**arch.kconfig_seed, **row.seed}
    if row.profile is not None:  # what kstack sets for the profile, as a seed
        seed |= make_config(row.profile, arch).forced
    return _configured(tree, "kconfig-tier", arch.make_arch or arch.name, row.target, seed)


def _configured(
    tree: Path, area: str, make_arch: str, target: str, seed: Mapping[str, str]
) -> Path:
    """A directory with make's ``.config`` and ``autoconf.h`` of ``target`` for
    ``make_arch``, seeded through ``KCONFIG_ALLCONFIG``; cached under ``area``, whose
    ``O`` directory builds ``scripts/kconfig`` once for ``tree``."""
    text = _seed_text(seed)
    key = json.dumps([str(tree.resolve()), make_arch, target, text])
    done = cache_dir() / area / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (done / "autoconf.h").is_file():
        return done
    work = cache_dir() / area / "O"
    work.mkdir(parents=True, exist_ok=True)
    (work / ".config").unlink(missing_ok=True)
    seed_file = work / "seed.config"
    seed_file.write_text(text)
    _make(tree, work, make_arch, target, seed=seed_file if text else None)
    _make(tree, work, make_arch, "syncconfig")
    scratch = done.with_name(done.name + ".tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    shutil.copy(work / ".config", scratch / ".config")
    shutil.copy(work / "include" / "generated" / "autoconf.h", scratch / "autoconf.h")
    (scratch / "seed.config").write_text(text)
    scratch.rename(done)
    return done


# --- the two sides -----------------------------------------------------------------------


def kstack_json(tree: Path, arch: str, *args: str) -> dict:
    result = CliRunner().invoke(
        cli, ["scan", str(tree), "--arch", arch, "--no-cache", "--format", "json", *args]
    )
    assert result.exit_code == 0, result.output
    (cell,) = json.loads(result.stdout)["results"]
    return cell


def gcc_reference(tree: Path, row: Row, configs: Path, workdir: Path) -> dict:
    arch = ARCHES[row.arch]
    symbols = read_config_file(configs / ".config")
    extra = arch_includes(DirectoryTree(tree), arch.srcarch, symbols)
    dirs = extra.include_dirs
    if not extra.found:
        dirs = [f"arch/{arch.srcarch}/include/asm/{d}" for d in arch.mach_dirs]
    build = real_config_build(tree, row.arch, configs / "autoconf.h", dirs, workdir)
    macros = gcc_macros(tree, *build, entries=GCC_ARCHES[row.arch].entries)
    return gcc_fold(macros.text, arch.constants, build.model)


_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(?:el)?if(?:n?def)?\b(.*)$", re.M)
_CONFIG = re.compile(rb"\bCONFIG_\w+")


def symbols_tested(tree: Path, row: Row, cell: dict) -> set[str]:
    """Every CONFIG_ symbol an ``#if`` of the cell's headers tests, and the chains'."""
    arch = ARCHES[row.arch]
    analysis = analyse(DirectoryTree(tree), arch, make_config(row.profile or "default", arch))
    assert analysis.table is not None
    found = {s for c in cell["constants"].values() for s in c["config_symbols"]}
    for header in analysis.table.opened:
        for condition in _DIRECTIVE.findall(header.text):
            found |= {m.decode() for m in _CONFIG.findall(condition)}
    return {s.removesuffix("_MODULE") for s in found}


def against_make(
    tree: DirectoryTree, arch: Arch, seed: Mapping[str, str], make: Mapping[str, str]
) -> tuple[KconfigValues, list[str]]:
    """The reader's alldefconfig, and the symbols whose values differ from make's
    once the compiler probes (never run) are answered as make's were: the rest of
    the config must follow from them."""
    make_arch = arch.make_arch or arch.name
    ours = alldefconfig(tree, arch.srcarch, dict(seed), make_arch=make_arch)
    assert ours is not None
    answered = {f"CONFIG_{n}": make.get(f"CONFIG_{n}", "n") for n in ours.probed}
    again = alldefconfig(tree, arch.srcarch, dict(seed), answered, make_arch=make_arch)
    assert again is not None
    mine = written_values(again)
    differ = (
        s for s in set(mine) | set(make) if config_value(mine.get(s)) != config_value(make.get(s))
    )
    return ours, sorted(differ)


# --- the tests -------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def tier_summary() -> object:
    """Prints the tier's numbers when the module is done."""
    yield
    if _STATS["configs"]:
        print(
            f"\nkconfig tier: {len(_STATS['configs'])} config checks, "
            f"{sum(int(str(n)) for n in _STATS['constants'])} constants compared with gcc, "
            f"{sum(float(str(s)) for s in _STATS['seconds']):.0f} s"
        )


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_config_file_agrees_with_gcc(
    linux_source_6_12: Path, row: Row, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """(a): kstack with make's .config, against gcc with make's autoconf.h."""
    start = time.monotonic()
    configs = made(linux_source_6_12, row)
    cell = kstack_json(linux_source_6_12, row.arch, "--config-file", str(configs / ".config"))
    assert cell["error"] is None, cell["error"]
    reference = gcc_reference(linux_source_6_12, row, configs, tmp_path)
    problems, compared, _ = compare(cell, reference)
    _STATS["configs"].append(f"(a) {row.id}")
    _STATS["constants"].append(len(compared))
    _STATS["seconds"].append(time.monotonic() - start)
    assert problems == []
    assert "THREAD_SIZE" in compared


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_a_config_made_for_an_arch_is_refused_for_the_others(
    linux_source_6_12: Path, row: Row
) -> None:
    """make's .config for one arch is read for that arch and refused, with a usage
    error, for every other: one of another source arch as that source arch's, one
    of the same (i386 beside x86_64, powerpc beside powerpc64: ``make ARCH=`` of
    each decides its bitness whatever the file says) as the arch it was made for."""
    from extractor.config import check_config_arch
    from extractor.errors import ConfigError

    path = made(linux_source_6_12, row) / ".config"
    symbols = read_config_file(path)
    own = ARCHES[row.arch].srcarch
    for arch in ARCHES.values():
        if arch.name == row.arch:
            check_config_arch(path, symbols, arch)
            continue
        expected = row.arch if arch.srcarch == own else own
        with pytest.raises(ConfigError, match=f"a .config for {expected} "):
            check_config_arch(path, symbols, arch)


PROFILE_ROWS = [r for r in ROWS if r.profile is not None]


@pytest.mark.parametrize("row", PROFILE_ROWS, ids=[r.id for r in PROFILE_ROWS])
def test_kconfig_default_profile_agrees_with_make(
    linux_source_6_12: Path, row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(b): kstack's own alldefconfig, against gcc and against make's .config."""
    assert row.profile is not None
    start = time.monotonic()
    configs = made(linux_source_6_12, row)
    cell = kstack_json(linux_source_6_12, row.arch, "--config", row.profile)
    assert cell["error"] is None, cell["error"]
    assert any("this tree's alldefconfig" in w for w in cell["warnings"])
    reference = gcc_reference(linux_source_6_12, row, configs, tmp_path)
    problems, compared, _ = compare(cell, reference)

    arch = ARCHES[row.arch]
    seed = read_config_file(configs / "seed.config")
    make = read_config_file(configs / ".config")
    ours, residual = against_make(DirectoryTree(linux_source_6_12), arch, seed, make)
    ours_values = {k: v.value for k, v in ours.items()}
    tested = symbols_tested(linux_source_6_12, row, cell)

    def differs(s: str) -> bool:
        return config_value(ours_values.get(s)) != config_value(make.get(s))

    tested_probes = {s for s in tested if differs(s)}
    others = {s for s in set(ours_values) | set(make) if differs(s)}
    probed = {s for s in others if s.removeprefix("CONFIG_") in ours.probed}
    # a tested symbol may differ only where a compiler probe decides it
    wrong = sorted(s for s in tested_probes if s in residual)
    _STATS["configs"].append(f"(b) {row.id}")
    _STATS["constants"].append(len(compared))
    _STATS["symbols"].append(
        f"{row.id}: {len(tested)} tested symbols, {len(tested_probes)} of them differ by "
        f"a compiler probe; {len(others)} symbols differ in all, "
        f"{len(probed)} of them compiler probes, {len(others) - len(probed)} following from "
        f"them; with make's probe answers {len(residual)} differ"
    )
    _STATS["seconds"].append(time.monotonic() - start)
    with capsys.disabled():
        print(f"\n  {_STATS['symbols'][-1]}" + (f" {residual[:8]}" if residual else ""))
    assert problems == []
    assert "THREAD_SIZE" in compared
    assert wrong == []
    assert residual == []


# --- Linux 6.1: Kconfig's rules before 6.11 -------------------------------------------

#: arches whose 6.1 alldefconfig the reader must give symbol for symbol (arm's
#: "Kernel command line type" is a choice whose prompt is hidden: 6.1's Kconfig
#: picks nothing there, 6.12's its default)
ARCHES_6_1 = ["x86_64", "i386", "arm64", "arm", "powerpc64", "s390", "mips"]


@pytest.mark.parametrize("arch_name", ARCHES_6_1)
def test_kconfig_6_1_alldefconfig_agrees_with_make(linux_source_6_1: Path, arch_name: str) -> None:
    """The reader's alldefconfig of 6.1 against make's, symbol for symbol, once the
    compiler probes (never run) are answered as make's were."""
    arch = ARCHES[arch_name]
    make_arch = arch.make_arch or arch.name
    seed = arch.kconfig_seed
    configs = _configured(linux_source_6_1, "kconfig-tier-6.1", make_arch, "alldefconfig", seed)
    make = read_config_file(configs / ".config")
    ours, residual = against_make(DirectoryTree(linux_source_6_1), arch, seed, make)
    assert len(set(ours) | set(make)) > 10_000
    assert residual == []


# (arch, the cases --all-configs must give THREAD_SIZE on linux-source-6.12, as
# (value, symbols set)). Every case is also the value a plain scan gives with
# those symbols --set, the profile path the rows above hold to gcc and make.
ALL_CONFIGS_6_12 = [
    ("x86_64", [("16384", ()), ("32768", ("CONFIG_KASAN",))]),
    ("riscv", [("16384", ()), ("32768", ("CONFIG_KASAN",))]),
    (
        "arm64",
        [("16384", ()), ("32768", ("CONFIG_KASAN_GENERIC",)), ("32768", ("CONFIG_KASAN_SW_TAGS",))],
    ),
    ("i386", [("8192", ())]),
]


@pytest.mark.parametrize(("arch", "cases"), ALL_CONFIGS_6_12, ids=[r[0] for r in ALL_CONFIGS_6_12])
def test_all_configs_on_a_real_tree(linux_source_6_12: Path, arch: str, cases: list) -> None:
    """--all-configs tries each symbol the headers test, whatever the tree's Kconfig
    would decide: KASAN sits behind a compiler probe there, and the answer used to
    be THREAD_SIZE 16384 alone."""
    result = CliRunner().invoke(
        cli,
        ["scan", str(linux_source_6_12), "--arch", arch, "--all-configs", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    (space,) = [s for s in json.loads(result.stdout) if s["constant"] == "THREAD_SIZE"]
    found = [(c["value"], tuple(c["when"])) for c in space["cases"]]
    assert found == cases
    for value, when in found:
        sets = [a for symbol in when for a in ("--set", f"{symbol}=y")]
        cell = kstack_json(linux_source_6_12, arch, "--no-allocation", *sets)
        assert str(cell["constants"]["THREAD_SIZE"]["value"]) == value, (when, cell["warnings"])
