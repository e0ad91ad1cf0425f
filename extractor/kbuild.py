"""kbuild stage: the include directories an arch's Makefiles add for one config.

In: a ``Tree``, the arch's SRCARCH and the config's symbols.
Out: ``ArchIncludes``: the ``-I`` directories the arch Makefile adds after
kbuild's own (tree-relative, in order), the links the old build created
(``include/asm-arm/arch`` -> ``include/asm-arm/arch-<machine>``), the files
read, and warnings.

A build picks a machine, and the machine decides where ``<mach/...>`` (arm)
or ``<irq.h>``-style board headers (mips ``asm/mach-<board>``) are found. The
Makefiles say so in lines like::

    cflags-$(CONFIG_SGI_IP22) += -I$(srctree)/arch/mips/include/asm/mach-ip22
    machine-$(CONFIG_ARCH_VERSATILE) := versatile
    plat-$(CONFIG_PLAT_ORION) := orion

These lines are read as data, never run: no make, no shell, no ``$(call)``.
Three shapes are known, each found by its text:

- ``cflags-y``/``cflags-$(CONFIG_X)`` with ``-I`` options (mips, every era;
  from 2.6.31 in ``arch/mips/*/Platform``, which ``Kbuild.platforms`` includes);
- ``machine-``/``plat-`` names turned into ``arch/arm/mach-<m>/include`` and
  ``arch/arm/plat-<p>/include`` by ``$(patsubst %,-I...%include,$(machdirs)
  $(platdirs))`` (arm from 2.6.27);
- the ``include/asm-<arch>/arch`` link to ``arch-$(INCDIR)`` (arm up to 2.6.26),
  where ``INCDIR`` is the ``incdir-`` name, else the ``machine-`` name;
- the powerpc merge's "temporary hack" (2.6.14 to 2.6.26): the link
  ``arch/$(ARCH)/include/asm`` to ``include/asm-powerpc`` (2.6.14's ppc and ppc64)
  or ``include/asm-$(OLDARCH)`` (powerpc: ppc64 where ``CONFIG_PPC64``, else ppc;
  from 2.6.17 for ppc32 only), with ``-Iarch/$(ARCH)/include`` in ``CPPFLAGS`` or
  ``LINUXINCLUDE`` after kbuild's own: an ``<asm/...>`` that
  ``include/asm-powerpc`` lacks is found in the old arch's headers (2.6.15-rc1's
  ``asm/page.h``). ``OLDARCH`` is read off its ``:=`` under ``ifeq ($(CONFIG_X),y)``,
  ``else`` and ``endif``, the only conditionals followed.

Anything else on such a line (``$(call ...)``, an unknown variable) is skipped.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import EscapeError, ExtractorError
from .source import Tree, normalize

#: a variable set per config: ``cflags-$(CONFIG_X) += ...`` or ``machine-y := ...``
_ASSIGNMENT = re.compile(
    r"^\s*(cflags|machine|plat|incdir)-(?:\$\(CONFIG_(\w+)\)|(y))\s*(:=|\+=|=)\s*(.*)$"
)
_INCLUDE_OPTION = re.compile(r"(?:^|\s)-I\s*(\S+)")
#: what a ``$(...)`` other than the tree's root becomes: its text is never looked into
_OPAQUE = "\x00"
_TREE_ROOT = re.compile(r"^\$\((?:srctree|TOPDIR|src)\)/")
_MACHDIRS = re.compile(r"-I(?:\$\(srctree\)/)?%include\s*,\s*\$\(machdirs\)")
_ARCH_LINK = re.compile(r"ln\s+-fsn\s+\S*\$\(INCDIR\)\s+include/(asm-[\w-]+)/arch\b")
_INCLUDE_LINE = re.compile(r"^\s*-?include\s+(.*)$")
#: the powerpc merge's link: ``ln -fsn $(srctree)/include/asm-X arch/$(ARCH)/include/asm``
_MERGE_LINK = re.compile(
    r"ln\s+-fsn\s+\$\(srctree\)/include/asm-([\w-]+|\$\(\w+\))\s+arch/\$\(ARCH\)/include/asm\s*$"
)
#: ``CPPFLAGS += ...``, ``LINUXINCLUDE-$(CONFIG_PPC32) := ...``: the merge's -I lines
_FLAGS = re.compile(r"^(CPPFLAGS|LINUXINCLUDE)(?:-\$\(CONFIG_(\w+)\)|-(y))?\s*(:=|\+=|=)\s*(.*)$")
#: a make variable set to one word (``OLDARCH := ppc64``)
_VARIABLE = re.compile(r"^([A-Z][A-Z0-9_]*)\s*:?=\s*(\S+)\s*$")
#: the make conditionals around a line, innermost last (see ``_MakefileReader.conditions``)
_Conditions = tuple[tuple[str, bool] | None, ...]
#: a make conditional on one config symbol; any other is followed as unknown
_CONDITION = re.compile(r"^(ifeq|ifneq)\s*\(\s*\$\(CONFIG_(\w+)\)\s*,\s*y\s*\)\s*$")
#: Platform files included per platform (mips from 2.6.31)
MAX_INCLUDED = 200


@dataclass
class ArchIncludes:
    """What the arch Makefiles add to kbuild's include path under one config."""

    #: tree-relative directories, searched after kbuild's own, in order
    include_dirs: list[str] = field(default_factory=list)
    #: link path -> target path (both tree-relative), as the old build made them
    links: dict[str, str] = field(default_factory=dict)
    #: the Makefiles read: path -> blob id
    files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: the Makefile had per-config include lines at all (else the arch table decides)
    found: bool = False


def _logical_lines(text: str) -> list[str]:
    """Lines with ``\\`` continuations joined and ``#`` comments dropped."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0] if "#" in raw else raw
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def _opaque(value: str) -> str:
    """``value`` with each ``$(...)`` but ``$(srctree)``-like roots made one opaque word."""
    out: list[str] = []
    index = 0
    while (start := value.find("$(", index)) >= 0:
        depth, end = 0, start + 1
        while end < len(value):
            depth += {"(": 1, ")": -1}.get(value[end], 0)
            if depth == 0:
                break
            end += 1
        call = value[start : end + 1]
        out += [value[index:start], call if _TREE_ROOT.match(call + "/") else _OPAQUE]
        index = end + 1
    out.append(value[index:])
    return "".join(out)


class _MakefileReader:
    def __init__(self, tree: Tree, srcarch: str, symbols: Mapping[str, str]) -> None:
        self.tree = tree
        self.srcarch = srcarch
        self.symbols = symbols
        self.out = ArchIncludes()
        #: machine-/plat-/incdir- names set for this config
        self.names: dict[str, list[str]] = {"machine": [], "plat": [], "incdir": []}
        self.platforms: list[str] = []
        self.machdirs = False
        self.link: str | None = None
        #: the directory under arch/ whose Makefile is read (the build's ``$(ARCH)``)
        self.arch_dir = srcarch
        #: the make conditionals around the line read, each (symbol, holds when it is
        #: y) or None (unknown); a symbol is read only where a line of the merge needs it
        self.conditions: list[tuple[str, bool] | None] = []
        #: one-word variables, each value with the conditionals it was set under
        self.variables: dict[str, list[tuple[str, _Conditions]]] = {}
        #: the merge's link target as written (``powerpc``, ``$(OLDARCH)``), and where
        self.merge_link: tuple[str, _Conditions] | None = None
        #: the ``-I`` lines naming ``arch/$(ARCH)/include``: their symbol and where
        self.merge_include: list[tuple[str | None, _Conditions]] = []

    def enabled(self, symbol: str | None) -> bool:
        return symbol is None or self.symbols.get(f"CONFIG_{symbol}", "n") in ("y", "m")

    def read(self, path: str) -> None:
        if len(self.out.files) >= MAX_INCLUDED:
            return
        data = self.tree.read(path)
        if data is None:
            return
        self.out.files[path] = self.tree.blob_id(path) or ""
        for line in _logical_lines(data.decode("utf-8", "replace")):
            self.line(path, line)

    def holds(self, conditions: _Conditions) -> bool | None:
        """Whether every conditional in ``conditions`` holds (None: one is unknown)."""
        result: bool | None = True
        for condition in conditions:
            if condition is None:
                result = None
            elif self.enabled(condition[0]) != condition[1]:
                return False
        return result

    def conditional(self, line: str) -> bool:
        """Follow ``ifeq``/``ifneq``/``ifdef``/``ifndef``/``else``/``endif`` (a
        directive, not a recipe line); True when ``line`` was one."""
        if line.startswith("\t"):
            return False
        words = line.split(None, 1)
        keyword = words[0] if words else ""
        if keyword in ("ifeq", "ifneq", "ifdef", "ifndef"):
            found = _CONDITION.match(line.strip())
            self.conditions.append(
                None if found is None else (found.group(2), found.group(1) == "ifeq")
            )
        elif keyword == "else" and self.conditions:
            top = self.conditions[-1]
            self.conditions[-1] = None if top is None or len(words) > 1 else (top[0], not top[1])
        elif keyword == "endif" and self.conditions:
            self.conditions.pop()
        else:
            return False
        return True

    def line(self, path: str, line: str) -> None:
        if self.conditional(line):
            return
        self.merge_line(line)
        assignment = _ASSIGNMENT.match(line)
        if assignment:
            kind, symbol, _, operator, value = assignment.groups()
            adds_dirs = kind != "cflags" or bool(_INCLUDE_OPTION.search(value))
            self.out.found |= adds_dirs
            # (a cflags line without -I adds no directory whatever its symbol is:
            # not read, so that the config need not decide it)
            if not adds_dirs or not self.enabled(symbol):
                return
            if kind == "cflags":
                for option in _INCLUDE_OPTION.findall(_opaque(value)):
                    self.include_dir(path, option)
            elif "$" in value:  # `incdir-y := $(machine-y)`: the fallback finish() applies
                return
            elif operator == ":=":
                self.names[kind] = value.split()
            else:
                self.names[kind] += value.split()
            return
        platforms = re.match(r"^\s*platforms\s*\+=\s*(.*)$", line)
        if platforms:
            self.platforms += platforms.group(1).split()
            return
        if _MACHDIRS.search(line):
            self.machdirs = self.out.found = True
            return
        link = _ARCH_LINK.search(line)
        if link:
            self.link = link.group(1)
            self.out.found = True
            return
        included = _INCLUDE_LINE.match(line)
        if included:
            self.include(included.group(1).strip())

    def merge_line(self, line: str) -> None:
        """The powerpc merge's link, its ``-I`` lines, and the variables it may name,
        each kept with the conditionals around it (``_merge`` decides them)."""
        where = tuple(self.conditions)
        variable = _VARIABLE.match(line)
        if variable:
            self.variables.setdefault(variable.group(1), []).append((variable.group(2), where))
            return
        link = _MERGE_LINK.search(line)
        if link:
            self.merge_link = (link.group(1), where)
            return
        flags = _FLAGS.match(line)
        if flags:
            options = [_TREE_ROOT.sub("", o) for o in _INCLUDE_OPTION.findall(flags.group(5))]
            if "arch/$(ARCH)/include" in options:
                self.merge_include.append((flags.group(2), where))

    def include(self, target: str) -> None:
        """``include $(srctree)/arch/mips/Kbuild.platforms`` and the Platform files it names."""
        if "Platform" in target and "$(platforms)" in target:
            for platform in self.platforms:
                self.read(f"arch/{self.srcarch}/{platform}/Platform")
            return
        relative = _TREE_ROOT.sub("", target)
        if "$" not in relative and relative.startswith(f"arch/{self.srcarch}/"):
            self.read(relative)

    def include_dir(self, path: str, option: str) -> None:
        relative = _TREE_ROOT.sub("", option)
        if _OPAQUE in relative or "$" in relative:
            self.out.warnings.append(f"{path}: -I{option} names a make variable; not followed")
            return
        try:
            directory = normalize(relative, self.tree.rev)
        except EscapeError:
            self.out.warnings.append(f"{path}: -I{option} leaves the tree; not followed")
            return
        if directory not in self.out.include_dirs:
            self.out.include_dirs.append(directory)

    def finish(self) -> ArchIncludes:
        base = f"arch/{self.srcarch}"
        if self.machdirs:
            for kind in ("machine", "plat"):
                for name in self.names[kind]:
                    directory = posixpath.join(base, f"{kind.replace('machine', 'mach')}-{name}")
                    if f"{directory}/include" not in self.out.include_dirs:
                        self.out.include_dirs.append(f"{directory}/include")
        self._merge()
        if self.link:
            target = (self.names["incdir"] or self.names["machine"])[:1]
            if target:
                self.out.links[f"include/{self.link}/arch"] = (
                    f"include/{self.link}/arch-{target[0]}"
                )
        return self.out

    def _merge(self) -> None:
        """The merge's link and directory, when the Makefile makes both for this config."""
        if self.merge_link is None or not any(
            self.enabled(symbol) and self.holds(where) for symbol, where in self.merge_include
        ):
            return
        written, where = self.merge_link
        if not self.holds(where):
            return
        target: str | None = written
        if written.startswith("$("):
            # the last value set where its conditionals hold (None: one is unknown)
            target = None
            for value, set_where in self.variables.get(written[2:-1], []):
                holds = self.holds(set_where)
                if holds is None:
                    target = None
                    break
                if holds:
                    target = value
            if target is None or not re.fullmatch(r"[\w-]+", target):
                self.out.warnings.append(
                    f"arch/{self.arch_dir}/Makefile: the include/asm-{written} link names a "
                    "variable this config does not set; not followed"
                )
                return
        base = f"arch/{self.arch_dir}/include"
        self.out.links[f"{base}/asm"] = f"include/asm-{target}"
        if base not in self.out.include_dirs:
            self.out.include_dirs.append(base)
        self.out.found = True


def arch_includes(
    tree: Tree, srcarch: str, symbols: Mapping[str, str], arch_dir: str | None = None
) -> ArchIncludes:
    """The include directories and links ``arch/<arch_dir>/Makefile`` gives
    ``symbols``; ``arch_dir`` is the build's ``$(ARCH)`` directory where it is not
    the srcarch (2.6.14 built powerpc64 in ``arch/ppc64``)."""
    reader = _MakefileReader(tree, srcarch, symbols)
    reader.arch_dir = arch_dir or srcarch
    reader.read(f"arch/{reader.arch_dir}/Makefile")
    return reader.finish()


_DEFCONFIG = re.compile(r"^\s*KBUILD_DEFCONFIG\s*:?=\s*(\S+)\s*$", re.M)
_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")


def default_defconfig(tree: Tree, srcarch: str) -> tuple[str, dict[str, str]] | None:
    """The config ``make defconfig`` starts from (``KBUILD_DEFCONFIG`` in the arch
    Makefile, under ``arch/<srcarch>/configs/``; before that ``arch/<srcarch>/defconfig``):
    its path and symbols, or None."""
    makefile = tree.read(f"arch/{srcarch}/Makefile")
    match = _DEFCONFIG.search(makefile.decode("utf-8", "replace")) if makefile else None
    if match is not None and "$" not in match.group(1) and "/" not in match.group(1):
        path = f"arch/{srcarch}/configs/{match.group(1)}"
    else:  # before KBUILD_DEFCONFIG, conf -d read arch/$ARCH/defconfig
        path = f"arch/{srcarch}/defconfig"
    data = tree.read(path)
    if data is None:
        return None
    symbols: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if found := _SET.match(line.strip()):
            symbols[found.group(1)] = found.group(2)
        elif found := _UNSET.match(line.strip()):
            symbols[found.group(1)] = "n"
    return path, symbols


_VERSION_LINE = re.compile(rb"^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d+)", re.M)
#: the top Makefile's blob id -> the version it states
_VERSIONS: dict[str, tuple[int, ...] | None] = {}


def makefile_version(data: bytes) -> tuple[int, ...] | None:
    """VERSION, PATCHLEVEL and SUBLEVEL as a top Makefile states them (its first
    lines), or None where it states no VERSION and PATCHLEVEL."""
    numbers = {name: int(value) for name, value in _VERSION_LINE.findall(data[:4096])}
    if b"VERSION" not in numbers or b"PATCHLEVEL" not in numbers:
        return None
    return (numbers[b"VERSION"], numbers[b"PATCHLEVEL"], numbers.get(b"SUBLEVEL", 0))


def tree_version(tree: Tree) -> tuple[int, ...] | None:
    """The kernel version of ``tree`` by its top Makefile (None: it has none, as a
    headers package has not, one that states none, or one that cannot be read: a
    link that leaves the tree)."""
    try:
        blob = tree.blob_id("Makefile")
        if blob is not None and blob not in _VERSIONS:
            if len(_VERSIONS) > 4096:
                _VERSIONS.clear()
            _VERSIONS[blob] = makefile_version(tree.read("Makefile") or b"")
    except ExtractorError:
        return None
    return None if blob is None else _VERSIONS[blob]
