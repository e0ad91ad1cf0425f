"""A ``--config-file`` is the whole config (issue 11, point 1).

In: a small powerpc tree written here, shaped like 6.12's (THREAD_SHIFT is
CONFIG_THREAD_SHIFT, raised to PAGE_SHIFT only under VMAP_STACK when the stack
is smaller than a page), with and without Kconfig files, and ``.config`` files
written here the way ``make alldefconfig`` writes them for 44x with 64K or 256K
pages (no VMAP_STACK: 44x cannot have it).
Out: the values gcc gives the same headers with the ``autoconf.h`` kbuild would
make from that file: what the file leaves out is n, nothing is filled in from
the arch table or from Kconfig; the table's assumptions apply only to profiles
without a file, and a result that depends on one names it in a warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from realdata.gcc_reference import gcc_fold, gcc_macros, kbuild_autoconf

from extractor import ARCHES, DirectoryTree, make_config
from extractor.config import check_config_arch, read_config_file
from extractor.scan import analyse

HEADERS = {
    "include/linux/kconfig.h": "#include <generated/autoconf.h>\n",
    "include/uapi/linux/const.h": (
        "#ifndef _KS_CONST_H\n#define _KS_CONST_H\n"
        "#define __KS_AC(X, Y) (X##Y)\n#define _AC(X, Y) __KS_AC(X, Y)\n#endif\n"
    ),
    "arch/powerpc/include/asm/page.h": (
        "#ifndef _KS_PAGE_H\n#define _KS_PAGE_H\n#include <uapi/linux/const.h>\n"
        "#define PAGE_SHIFT CONFIG_PAGE_SHIFT\n"
        "#define PAGE_SIZE (_AC(1, UL) << PAGE_SHIFT)\n#endif\n"
    ),
    "arch/powerpc/include/asm/thread_info.h": (
        "#ifndef _KS_THREAD_INFO_H\n#define _KS_THREAD_INFO_H\n#include <asm/page.h>\n"
        "#if defined(CONFIG_KASAN) && CONFIG_THREAD_SHIFT < 15\n"
        "#define MIN_THREAD_SHIFT (CONFIG_THREAD_SHIFT + 1)\n"
        "#else\n#define MIN_THREAD_SHIFT CONFIG_THREAD_SHIFT\n#endif\n"
        "/* a virtually mapped stack takes whole pages */\n"
        "#if defined(CONFIG_VMAP_STACK) && MIN_THREAD_SHIFT < PAGE_SHIFT\n"
        "#define THREAD_SHIFT PAGE_SHIFT\n"
        "#else\n#define THREAD_SHIFT MIN_THREAD_SHIFT\n#endif\n"
        "#define THREAD_SIZE (1 << THREAD_SHIFT)\n#endif\n"
    ),
}
#: the tree's own Kconfig, whose defaults a complete .config must not be completed with
KCONFIG = {
    "Kconfig": 'mainmenu "fixture"\nsource "arch/$(SRCARCH)/Kconfig"\n',
    "arch/powerpc/Kconfig": (
        "config PPC\n\tdef_bool y\n\n"
        "config PPC32\n\tdef_bool y\n\n"
        'config VMAP_STACK\n\tbool "Use a virtually-mapped stack"\n\tdefault y\n\n'
        "config PAGE_SHIFT\n\tint\n\tdefault 12\n\n"
        "config THREAD_SHIFT\n\tint\n\tdefault 14\n"
    ),
}

#: ``make ARCH=powerpc alldefconfig`` seeded with 44x and a page size, in part
_44X = """\
#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_PPC=y
CONFIG_PPC32=y
# CONFIG_PPC64 is not set
CONFIG_44x=y
# CONFIG_PPC_4K_PAGES is not set
CONFIG_PPC_{pages}_PAGES=y
CONFIG_THREAD_SHIFT={thread_shift}
CONFIG_PAGE_SHIFT={page_shift}
"""
CONFIGS = {
    "44x-64k": _44X.format(pages="64K", thread_shift=13, page_shift=16),
    "44x-256k": _44X.format(pages="256K", thread_shift=15, page_shift=18),
    # book3s/32 with VMAP_STACK on 4K pages: the stack is bigger than a page
    "book3s32": (
        "CONFIG_PPC=y\nCONFIG_PPC32=y\nCONFIG_PPC_BOOK3S_32=y\nCONFIG_VMAP_STACK=y\n"
        "CONFIG_PPC_4K_PAGES=y\nCONFIG_THREAD_SHIFT=13\nCONFIG_PAGE_SHIFT=12\n"
    ),
    # VMAP_STACK with 64K pages (a hand-made config): the stack is raised to a page
    "vmap-64k": (
        "CONFIG_PPC=y\nCONFIG_PPC32=y\nCONFIG_VMAP_STACK=y\nCONFIG_PPC_64K_PAGES=y\n"
        "CONFIG_THREAD_SHIFT=13\nCONFIG_PAGE_SHIFT=16\n"
    ),
}
NAMES = ["THREAD_SIZE", "THREAD_SHIFT", "MIN_THREAD_SHIFT", "PAGE_SIZE"]
#: what a 32-bit big-endian powerpc gcc predefines that these headers could see
GCC_PPC32 = {
    "__powerpc__": "1",
    "__SIZEOF_LONG__": "4",
    "__SIZEOF_POINTER__": "4",
    "__CHAR_BIT__": "8",
    "__KERNEL__": "1",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The headers alone, and the headers with the tree's Kconfig files."""
    roots = {"headers": tmp_path_factory.mktemp("headers")}
    roots["kconfig"] = tmp_path_factory.mktemp("kconfig")
    _write(roots["headers"], HEADERS)
    _write(roots["kconfig"], {**HEADERS, **KCONFIG})
    return roots


def _config_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.config"
    path.write_text(CONFIGS[name])
    return path


def _kstack(tree: Path, arch: str, profile: str = "default", **kwargs):
    table = ARCHES[arch]
    config = make_config(profile, table, kconfig=table.kconfig_defaults, **kwargs)
    result = analyse(DirectoryTree(tree), table, config).result
    assert result.error is None, result.error
    return result


def _gcc(tree: Path, config_text: str, work: Path) -> dict[str, int | None]:
    (work / "generated").mkdir(parents=True, exist_ok=True)
    (work / "generated" / "autoconf.h").write_text(kbuild_autoconf(config_text))
    dirs = [Path("arch/powerpc/include"), work, Path("include"), Path("include/uapi")]
    entries = ["asm/page.h", "asm/thread_info.h"]
    macros = gcc_macros(tree, dirs, GCC_PPC32, ["linux/kconfig.h"], entries)
    folded = gcc_fold(macros.text, NAMES, "ILP32")
    return {name: (found[0] if found else None) for name, found in folded.items()}


# fmt: off
ROWS = [
    # tree, config file, {constant: value} as gcc gives them with its autoconf.h
    ("headers", "44x-64k",  {"THREAD_SHIFT": 13, "THREAD_SIZE": 8192, "PAGE_SIZE": 65536}),
    ("headers", "44x-256k", {"THREAD_SHIFT": 15, "THREAD_SIZE": 32768, "PAGE_SIZE": 262144}),
    ("headers", "book3s32", {"THREAD_SHIFT": 13, "THREAD_SIZE": 8192, "PAGE_SIZE": 4096}),
    ("headers", "vmap-64k", {"THREAD_SHIFT": 16, "THREAD_SIZE": 65536, "PAGE_SIZE": 65536}),
    # the tree's Kconfig says VMAP_STACK "default y" and THREAD_SHIFT 14: the file
    # leaves VMAP_STACK out and sets THREAD_SHIFT itself, so neither applies
    ("kconfig", "44x-64k",  {"THREAD_SHIFT": 13, "THREAD_SIZE": 8192, "PAGE_SIZE": 65536}),
    ("kconfig", "44x-256k", {"THREAD_SHIFT": 15, "THREAD_SIZE": 32768, "PAGE_SIZE": 262144}),
]
# fmt: on


@pytest.mark.parametrize(("tree", "name", "expected"), ROWS)
def test_a_config_file_gives_what_gcc_gives(trees, tmp_path, tree, name, expected) -> None:
    symbols = read_config_file(_config_file(tmp_path, name))
    result = _kstack(trees[tree], "powerpc", file_symbols=symbols)
    got = {n: result.constants[n].value for n in expected}
    assert got == expected
    reference = _gcc(trees[tree], CONFIGS[name], tmp_path / "gcc")
    assert {n: result.constants[n].value for n in NAMES} == reference
    # nothing was taken from the arch table or the tree's Kconfig
    assert not [w for w in result.warnings if "arch table" in w or "Kconfig" in w]


# fmt: off
LEAKS = [
    # arch, .config lines, symbols the arch table would have added
    ("powerpc", CONFIGS["44x-64k"], ["CONFIG_VMAP_STACK", "CONFIG_PPC_4K_PAGES",
                                     "CONFIG_PPC_BOOK3S", "CONFIG_PAGE_SIZE_4KB"]),
    ("arm64", "CONFIG_ARM64=y\nCONFIG_64BIT=y\nCONFIG_ARM64_16K_PAGES=y\nCONFIG_PAGE_SHIFT=14\n",
     ["CONFIG_PAGE_SIZE_4KB", "CONFIG_ARM64_4K_PAGES", "CONFIG_VMAP_STACK"]),
    ("powerpc64", "CONFIG_PPC=y\nCONFIG_PPC64=y\nCONFIG_PPC_BOOK3E_64=y\nCONFIG_PPC_4K_PAGES=y\n",
     ["CONFIG_PPC_64K_PAGES", "CONFIG_PPC_BOOK3S", "CONFIG_PPC_BOOK3S_64"]),
    ("mips", "CONFIG_MIPS=y\nCONFIG_32BIT=y\nCONFIG_CPU_MIPS32_R1=y\nCONFIG_CPU_MIPSR1=y\n",
     ["CONFIG_CPU_MIPSR2", "CONFIG_CPU_MIPS32_R2", "CONFIG_CPU_BIG_ENDIAN"]),
]
# fmt: on


@pytest.mark.parametrize(("arch", "text", "absent"), LEAKS)
def test_the_arch_table_adds_nothing_to_a_config_file(tmp_path, arch, text, absent) -> None:
    path = tmp_path / ".config"
    path.write_text(text)
    table = ARCHES[arch]
    symbols = read_config_file(path)
    config = make_config("default", table, file_symbols=symbols, kconfig=table.kconfig_defaults)
    assert dict(config.symbols) == symbols
    assert not set(absent) & set(config.macros())
    assert config.complete and not config.derived and not config.assumed


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_every_arch_reads_an_empty_config_file_as_empty(tmp_path, arch) -> None:
    """Not even what makes the arch (CONFIG_X86_64, CONFIG_PPC) is added: a file
    that lacks it is what kbuild's autoconf.h would be too."""
    (tmp_path / ".config").write_text("# CONFIG_KASAN is not set\n")
    table = ARCHES[arch]
    symbols = read_config_file(tmp_path / ".config")
    config = make_config("default", table, file_symbols=symbols, kconfig=table.kconfig_defaults)
    assert config.macros() == {}
    assert config.name == "default+file"


def test_set_still_applies_on_top_of_a_file(trees, tmp_path) -> None:
    symbols = read_config_file(_config_file(tmp_path, "44x-64k"))
    result = _kstack(
        trees["headers"], "powerpc", file_symbols=symbols, sets=("CONFIG_VMAP_STACK=y",)
    )
    assert result.constants["THREAD_SIZE"].value == 65536
    assert result.config == "default+file+VMAP_STACK=y"


# fmt: off
ASSUMED = [
    # tree, profile, --set, what the table assumed that a constant depends on (None: nothing)
    ("headers", "default", (), "CONFIG_VMAP_STACK=y"),
    ("headers", "kasan", (), "CONFIG_VMAP_STACK=y"),
    # chosen by the user, so not an assumption
    ("headers", "default", ("CONFIG_VMAP_STACK=y",), None),
    ("headers", "default", ("CONFIG_VMAP_STACK=n",), None),
    # the tree's Kconfig decides it (its alldefconfig), so not an assumption either
    ("kconfig", "default", (), None),
    ("kconfig", "kasan", (), None),
]
# fmt: on


@pytest.mark.parametrize(("tree", "profile", "sets", "named"), ASSUMED)
def test_an_assumption_used_is_named_in_a_warning(trees, tree, profile, sets, named) -> None:
    """Without a file or Kconfig the table's assumptions stand in for a config, and say so."""
    result = _kstack(trees[tree], "powerpc", profile, sets=sets)
    assumed = [w for w in result.warnings if "assumption" in w]
    if named is None:
        assert assumed == []
    else:
        assert len(assumed) == 1 and assumed[0].startswith(named + " ")
        assert "powerpc" in assumed[0] and "--config-file" in assumed[0]


# --- one .config per arch in one run: ``--config-file ARCH=FILE`` ----------------------

# fmt: off
CONFIG_FILE_VALUES = [
    # --config-file values; --arch; the file for every arch, and per arch (or the usage error)
    (("all.config",), ("x86_64", "i386"), "all.config", {}),
    (("i386=b.config",), ("x86_64", "i386"), None, {"i386": "b.config"}),
    (("a.config", "i386=b.config"), ("x86_64", "i386"), "a.config", {"i386": "b.config"}),
    (("x86_64=a.config", "i386=b.config"), ("x86_64", "i386"), None,
     {"x86_64": "a.config", "i386": "b.config"}),
    # what comes before the "=" names no arch: the value is a file name as it stands
    (("my=odd.config",), ("x86_64",), "my=odd.config", {}),
    (("i386=b.config",), ("x86_64",), "i386 is not an --arch of this run", None),
    (("i386=a.config", "i386=b.config"), ("i386",), "two files for i386", None),
    (("a.config", "b.config"), ("x86_64",), "both for every arch", None),
]
# fmt: on


@pytest.mark.parametrize(("values", "arches", "every", "per_arch"), CONFIG_FILE_VALUES)
def test_config_file_values_name_an_arch_or_every_arch(values, arches, every, per_arch) -> None:
    from extractor.cli_options import config_files
    from extractor.errors import UsageError

    if per_arch is None:
        with pytest.raises(UsageError, match=every):
            config_files(values, arches)
        return
    found = config_files(values, arches)
    assert found["config_file"] == (Path(every) if every else None)
    assert found["arch_config_files"] == {a: Path(p) for a, p in per_arch.items()}


def test_each_arch_reads_its_own_config_file_in_one_run(tmp_path) -> None:
    """Two arches in one run, each with its own file, give what each arch scanned alone
    with that file gives (4.4: KASAN doubles x86_64's stack, i386 has no KASAN)."""
    import json
    import subprocess
    import sys

    from extractor.demo import fixtures_root

    tree = fixtures_root() / "eras" / "4.4"
    files = {"x86_64": "CONFIG_X86_64=y\nCONFIG_KASAN=y\n", "i386": "CONFIG_X86_32=y\n"}
    for arch, text in files.items():
        (tmp_path / f"{arch}.config").write_text(text)

    def scan(*args: str) -> list[dict]:
        command = [sys.executable, "-m", "extractor", "scan", str(tree), *args]
        done = subprocess.run(
            [*command, "--format", "json", "--no-cache"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["results"]

    both = scan(
        *("--arch", "x86_64", "--arch", "i386"),
        *(f"--config-file={arch}={tmp_path / f'{arch}.config'}" for arch in files),
    )
    alone = [
        row
        for arch in files
        for row in scan("--arch", arch, "--config-file", str(tmp_path / f"{arch}.config"))
    ]
    assert both == alone
    sizes = {r["arch"]: r["constants"]["THREAD_SIZE"]["value"] for r in both}
    assert sizes == {"x86_64": 32768, "i386": 8192}


# (a .config line or --set value, what it reads as; None: refused, with the line named)
ASSIGNMENTS = [
    ("CONFIG_KASAN=y", ("CONFIG_KASAN", "y")),
    ("CONFIG_KASAN=m", ("CONFIG_KASAN", "m")),
    ("CONFIG_KASAN=n", ("CONFIG_KASAN", "n")),
    ("CONFIG_FRAME_WARN=2048", ("CONFIG_FRAME_WARN", "2048")),
    ("CONFIG_X=-1", ("CONFIG_X", "-1")),
    ("CONFIG_PHYSICAL_START=0x1000000", ("CONFIG_PHYSICAL_START", "0x1000000")),
    ('CONFIG_LOCALVERSION=""', ("CONFIG_LOCALVERSION", '""')),
    ('CONFIG_CMDLINE="console=ttyS0 quiet"', ("CONFIG_CMDLINE", '"console=ttyS0 quiet"')),
    # unquoted words are no .config value: `=no` would define the macro, so KASAN on
    ("CONFIG_KASAN=no", None),
    ("CONFIG_KASAN=yes", None),
    ("CONFIG_KASAN=Y", None),
    ("CONFIG_X=0x", None),
    ("CONFIG_X=12abc", None),
    ('CONFIG_X="open', None),
]


@pytest.mark.parametrize(("text", "parsed"), ASSIGNMENTS, ids=[t for t, _ in ASSIGNMENTS])
def test_a_config_line_holds_only_what_a_config_can(tmp_path, text, parsed) -> None:
    from extractor.config import parse_assignment
    from extractor.errors import ConfigError

    config = tmp_path / ".config"
    config.write_text(f"# made here\n{text}\n")
    if parsed is None:
        with pytest.raises(ConfigError) as raised:
            read_config_file(config)
        assert str(raised.value).startswith(f"{config}:2: "), str(raised.value)
        with pytest.raises(ConfigError):
            parse_assignment(text)
    else:
        assert read_config_file(config) == dict([parsed])
        assert parse_assignment(text) == parsed


# (the arch a file is given for, the file's lines, the arch it is refused as (None:
# read), and the line named). An arch whose builds all have a symbol (i386:
# CONFIG_64BIT=n, as `make ARCH=i386` decides whatever the file says) refuses a file
# that says otherwise; what an arch only assumes (mips' 32BIT) the file decides.
ARCH_OF_FILE = [
    ("x86_64", ["CONFIG_X86=y", "CONFIG_X86_64=y", "CONFIG_64BIT=y"], None, 0),
    ("i386", ["CONFIG_X86=y", "CONFIG_X86_32=y", "# CONFIG_64BIT is not set"], None, 0),
    ("i386", ["CONFIG_X86=y", "CONFIG_X86_64=y"], "x86_64", 3),
    ("i386", ["CONFIG_64BIT=y"], "x86_64", 2),
    ("x86_64", ["# CONFIG_64BIT is not set"], "i386", 2),
    ("x86_64", ["CONFIG_X86=y", "CONFIG_X86_32=y"], "i386", 3),  # (2.6.20's i386: no 64BIT)
    ("x86_64", ["CONFIG_X86_64=y", "CONFIG_KASAN=y"], None, 0),  # (only its own: it stands)
    ("x86_64", ["CONFIG_ARM64=y", "CONFIG_ARM64_16K_PAGES=y", "CONFIG_PAGE_SHIFT=14"], "arm64", 2),
    ("arm64", ["CONFIG_ARM=y"], "arm", 2),
    ("arm", ["CONFIG_ARM64=y"], "arm64", 2),
    ("powerpc64", ["CONFIG_PPC=y", "CONFIG_PPC64=y"], None, 0),
    ("powerpc", ["CONFIG_PPC=y", "CONFIG_PPC64=y"], "powerpc64", 3),
    ("powerpc64", ["CONFIG_PPC=y", "CONFIG_PPC32=y"], "powerpc", 3),
    ("powerpc64", ["CONFIG_PPC64=y", "CONFIG_PPC_BOOK3E_64=y", "CONFIG_PPC_4K_PAGES=y"], None, 0),
    ("mips", ["CONFIG_MIPS=y", "CONFIG_64BIT=y"], None, 0),  # (assumed: the file's)
    ("mips", ["CONFIG_PPC=y"], "powerpc", 2),
    ("s390", ["CONFIG_X86=y"], "x86", 2),
    ("riscv", ["CONFIG_LOONGARCH=y"], "loongarch", 2),
    ("loongarch", ["CONFIG_RISCV=y"], "riscv", 2),
    ("x86_64", ["CONFIG_MIPS=y"], "mips", 2),
    ("x86_64", ["CONFIG_S390=y"], "s390", 2),
    ("x86_64", ["CONFIG_X86_64=y", "# CONFIG_ARM64 is not set"], None, 0),
]


@pytest.mark.parametrize(("arch", "lines", "other", "line"), ARCH_OF_FILE)
def test_a_config_file_made_for_another_arch_is_refused(tmp_path, arch, lines, other, line) -> None:
    from extractor.batch import ScanRequest, configs_for
    from extractor.errors import ConfigError
    from extractor.source_revisions import Selection

    config = tmp_path / ".config"
    config.write_text("# made here\n" + "\n".join(lines) + "\n")
    request = ScanRequest(selection=Selection(path=tmp_path), arches=[arch], config_file=config)
    if other is None:
        assert configs_for(request, ARCHES[arch])
        return
    with pytest.raises(ConfigError) as raised:
        configs_for(request, ARCHES[arch])
    text = str(raised.value)
    assert text.startswith(f"{config}:{line}: a .config for {other} "), text
    assert f"given for {arch}" in text, text
    assert "\n" not in text, text


# (the arch, a file's lines: it leaves out the symbol every config of the arch sets,
# so reads it as n). A file is the whole config: CONFIG_KASAN=y alone made x86_64 a
# 32-bit build (2.6.30 with CONFIG_4KSTACKS=y: THREAD_SIZE 4096). i386 and s390 ask
# for none: 2.6.12's configs had no X86_32 or S390.
NOT_WHOLE = [
    ("x86_64", ["CONFIG_KASAN=y"], "CONFIG_X86_64"),
    ("x86_64", ["CONFIG_X86=y", "CONFIG_64BIT=y"], "CONFIG_X86_64"),
    ("powerpc64", ["CONFIG_PPC=y", "CONFIG_64BIT=y"], "CONFIG_PPC64"),
    ("arm64", ["CONFIG_64BIT=y", "CONFIG_ARM64_4K_PAGES=y"], "CONFIG_ARM64"),
    ("arm", ["CONFIG_MMU=y"], "CONFIG_ARM"),
    ("mips", ["CONFIG_32BIT=y"], "CONFIG_MIPS"),
    ("i386", ["CONFIG_4KSTACKS=y"], None),
    ("s390", ["CONFIG_ARCH_S390=y"], None),
]


@pytest.mark.parametrize(("arch", "lines", "missing"), NOT_WHOLE)
def test_a_config_file_without_its_arch_is_refused(tmp_path, arch, lines, missing) -> None:
    from extractor.errors import ConfigError

    config = tmp_path / ".config"
    config.write_text("\n".join(lines) + "\n")
    if missing is None:
        check_config_arch(config, read_config_file(config), ARCHES[arch])
        return
    with pytest.raises(ConfigError) as raised:
        check_config_arch(config, read_config_file(config), ARCHES[arch])
    assert str(raised.value).startswith(
        f"{config}: not a whole .config for {arch}: it does not set {missing}=y, "
    ), str(raised.value)


def test_a_config_file_no_arch_of_its_source_arch_builds_is_refused(tmp_path) -> None:
    """s390 has one arch, and all its builds are 64-bit here: a 31-bit file (2.6's
    s390 had one) fits none, and says so rather than naming a sibling."""
    from extractor.errors import ConfigError

    config = tmp_path / ".config"
    config.write_text("CONFIG_S390=y\n# CONFIG_64BIT is not set\n")
    with pytest.raises(ConfigError) as raised:
        check_config_arch(config, read_config_file(config), ARCHES["s390"])
    assert str(raised.value) == (
        f"{config}:2: this .config has CONFIG_64BIT=n, but every s390 build has "
        "CONFIG_64BIT=y: a .config for an arch kstack does not model"
    )


# (the arch, the --set values, the error, None: accepted). What makes the arch is
# no --set's to change: the numbers would be another arch's, or no build's.
SETS_FOR_ARCH = [
    ("i386", ["CONFIG_X86_64=y"], "--set CONFIG_X86_64=y: every i386 build has "
     "CONFIG_X86_64=n; for x86_64, use --arch x86_64"),
    ("i386", ["CONFIG_64BIT=y"], "--set CONFIG_64BIT=y: every i386 build has "
     "CONFIG_64BIT=n; for x86_64, use --arch x86_64"),
    ("x86_64", ["CONFIG_X86_32=y"], "--set CONFIG_X86_32=y: every x86_64 build has "
     "CONFIG_X86_32=n; for i386, use --arch i386"),
    ("powerpc", ["CONFIG_PPC64=y"], "--set CONFIG_PPC64=y: every powerpc build has "
     "CONFIG_PPC64=n; for powerpc64, use --arch powerpc64"),
    ("s390", ["CONFIG_64BIT=n"], "--set CONFIG_64BIT=n: every s390 build has CONFIG_64BIT=y"),
    ("i386", ["CONFIG_X86_64=n", "CONFIG_4KSTACKS=y"], None),
    ("x86_64", ["CONFIG_64BIT=y", "CONFIG_KASAN=y"], None),
    ("mips", ["CONFIG_64BIT=y"], None),  # (an assumption of the arch table's: the user's)
    ("powerpc64", ["CONFIG_PPC_4K_PAGES=y"], None),
]  # fmt: skip


@pytest.mark.parametrize(("arch", "sets", "error"), SETS_FOR_ARCH)
def test_a_set_that_makes_another_arch_is_refused(arch, sets, error) -> None:
    from extractor.errors import ConfigError

    if error is None:
        config = make_config("default", ARCHES[arch], sets=sets)
        assert all(config.symbols[s.split("=")[0]] == s.split("=")[1] for s in sets)
        return
    with pytest.raises(ConfigError) as raised:
        make_config("default", ARCHES[arch], sets=sets)
    assert str(raised.value) == error


# (a .config's first lines, the version it says it was made for)
MADE_FOR = [
    ("#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.12.118 Kernel Configuration\n",
     (6, 12, 118)),
    ("# Linux/x86_64 2.6.36-rc3 Kernel Configuration\n", (2, 6, 36)),
    ("# Linux/arm 3.0.0 Kernel Configuration\n", (3, 0, 0)),
    ("#\n# Automatically generated make config: don't edit\n# Linux kernel version: 2.6.28\n",
     (2, 6, 28)),
    ("# Linux kernel version: 2.6.22-git14\n", (2, 6, 22)),
    ("CONFIG_X86=y\n", None),  # (by hand: no header)
    ("# Linux/x86 6.1.0 kernel configuration\n", None),  # (not make's words)
    ("\n" * 12 + "# Linux/x86 6.1.0 Kernel Configuration\n", None),  # (not in the header)
]  # fmt: skip


@pytest.mark.parametrize(("text", "version"), MADE_FOR)
def test_the_version_a_config_file_was_made_for(tmp_path, text, version) -> None:
    from extractor.config import config_file_version

    config = tmp_path / ".config"
    config.write_text(text)
    assert config_file_version(config) == version


# (a version, the release it belongs to: stable updates are the same release)
RELEASES = [
    ((2, 6, 28), (2, 6, 28)),
    ((2, 6, 28, 10), (2, 6, 28)),
    ((3, 0, 0), (3, 0)),
    ((3, 0, 10), (3, 0)),
    ((6, 12, 118), (6, 12)),
]


@pytest.mark.parametrize(("version", "expected"), RELEASES)
def test_release(version, expected) -> None:
    from extractor.config import release

    assert release(version) == expected


# (a top Makefile's first lines, the version it states)
MAKEFILES = [
    (b"VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\nEXTRAVERSION =\n", (6, 12, 118)),
    (b"VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 28\nEXTRAVERSION = -rc4\n", (2, 6, 28)),
    (b"VERSION = 3\nPATCHLEVEL = 1\n", (3, 1, 0)),
    (b"# a comment\nPATCHLEVEL = 1\n", None),
    (b"", None),
]


@pytest.mark.parametrize(("data", "version"), MAKEFILES)
def test_makefile_version(data, version) -> None:
    from extractor.kbuild import makefile_version

    assert makefile_version(data) == version


@pytest.fixture(scope="module")
def demo_history(tmp_path_factory):
    from extractor.demo import build_demo_repo

    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


# (the version a config file's header names, the tags scanned, what the run warns of it)
FOREIGN = [
    ("4.4.0", "v4.*", "read at 2 revisions of other versions, v4.10 (Linux 4.10.0) to "
     "v4.20 (Linux 4.20.0): "),
    ("4.4.12", "v4.4", None),  # (a stable update: the same release)
    ("4.10.0", "v4.4", "read at v4.4 (Linux 4.4.0): "),
    ("2.6.20", "v2.6.2*", "read at v2.6.25 (Linux 2.6.25): "),
    (None, "v4.*", None),  # (a file without a header: nothing to compare)
]  # fmt: skip


@pytest.mark.parametrize(("made", "tags", "said"), FOREIGN)
def test_a_config_file_read_at_another_version_is_noted(
    demo_history, tmp_path, made, tags, said
) -> None:
    """make oldconfig would fill in what a file of another version leaves out;
    kstack reads it as n, and says once, for the run, where that was."""
    from click.testing import CliRunner

    from extractor.cli import cli

    config = tmp_path / ".config"
    header = f"#\n# Linux/x86_64 {made} Kernel Configuration\n#\n" if made else ""
    config.write_text(header + "CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_64BIT=y\n")
    args = ["scan", str(demo_history), "--tags", tags, "--arch", "x86_64", "--no-cache"]
    result = CliRunner().invoke(cli, [*args, "--config-file", str(config), "-o", "/dev/null"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "was made for Linux" in line]
    if said is None:
        assert notes == []
        return
    assert notes == [
        f"kstack: warning: {config} was made for Linux {made} (its header) and "
        + said
        + "a symbol the file leaves out reads as n, where make oldconfig would give it its "
        "default there"
    ]


@pytest.mark.parametrize(("rev", "noted"), [("v4.10", True), ("v4.4", False)])
def test_explain_notes_a_config_file_of_another_version(demo_history, tmp_path, rev, noted):
    from click.testing import CliRunner

    from extractor.cli import cli

    config = tmp_path / ".config"
    config.write_text("# Linux/x86 4.4.0 Kernel Configuration\nCONFIG_X86=y\nCONFIG_X86_64=y\n")
    args = ["explain", str(demo_history), "THREAD_SIZE", "--rev", rev, "--arch", "x86_64"]
    result = CliRunner().invoke(cli, [*args, "--config-file", str(config)])
    assert result.exit_code == 0, result.output
    note = (
        f"kstack: warning: {config} was made for Linux 4.4.0 (its header) and read at "
        f"{rev} (Linux 4.10.0): "
    )
    assert (note in result.stderr) == noted, result.stderr
    assert "THREAD_SIZE" in result.stdout


# (what the tree's top Makefile is, the version read off it)
TREE_MAKEFILES = [
    ("file", (4, 4, 0)),
    ("none", None),  # (a headers package)
    ("link out of the tree", None),  # (not read, and not an error: no note)
    ("link in the tree", (4, 4, 0)),
]


@pytest.mark.parametrize(("makefile", "version"), TREE_MAKEFILES)
def test_tree_version(tmp_path, makefile, version) -> None:
    from extractor.kbuild import tree_version

    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.write_text("VERSION = 9\nPATCHLEVEL = 9\n")
    (tree / "Makefile.real").write_text("VERSION = 4\nPATCHLEVEL = 4\nSUBLEVEL = 0\n")
    if makefile == "file":
        (tree / "Makefile").write_text("VERSION = 4\nPATCHLEVEL = 4\nSUBLEVEL = 0\n")
    elif makefile == "link out of the tree":
        (tree / "Makefile").symlink_to(outside)
    elif makefile == "link in the tree":
        (tree / "Makefile").symlink_to("Makefile.real")
    assert tree_version(DirectoryTree(tree)) == version
