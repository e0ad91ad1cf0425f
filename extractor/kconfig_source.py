"""Kconfig source: a cell's config as the tree's own Kconfig gives it.

In: a tree, an arch and a config made from a profile (its Kconfig seed, its
``--set`` values), and the CONFIG_ symbols a cell reads that can change its result.
Out: that config with the values the tree's alldefconfig (or, when that does
not build, its ``make defconfig``) gives those symbols, each with the Kconfig
line that decided it; every question a cell put to Kconfig, and what a result can
see of each answer (``answers``: the cache's content key holds these). A tree
without Kconfig files, or a config read from a ``.config``,
keeps the arch table's values.

The answers come from ``kconfig_memo.KCONFIG``, which reads the tree through ``kconfig``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from .arches import Arch
from .config import Config
from .errors import ExtractorError
from .kbuild import default_defconfig
from .kconfig_memo import KCONFIG
from .source import Tree


def kconfig_srcarch(tree: Tree, arch: Arch) -> str:
    """The arch directory whose ``Kconfig`` a build of ``arch`` reads: its srcarch,
    or where the tree has none, make's ``ARCH``: before 2.6.24 merged them into
    ``arch/x86``, x86 trees had ``arch/i386`` and ``arch/x86_64``, and kbuild read
    ``arch/$(ARCH)/Kconfig``."""
    if tree.exists(f"arch/{arch.srcarch}/Kconfig"):
        return arch.srcarch
    make_arch = arch.make_arch or arch.name
    return make_arch if tree.exists(f"arch/{make_arch}/Kconfig") else arch.srcarch


class KconfigSource:
    """The tree's Kconfig files, read only if a cell needs a value from them."""

    _memo: dict[tuple[Any, ...], Any] = {}

    def __init__(self, tree: Tree, arch: Arch) -> None:
        self.tree = tree
        self.arch = arch
        self.srcarch = kconfig_srcarch(tree, arch)
        root = ("Kconfig", f"arch/{self.srcarch}/Kconfig")
        self.present = any(tree.exists(p) for p in root)
        self._files: list[str] = []
        #: the config was made the tree's alldefconfig
        self.resolved = False
        #: files besides Kconfig that decided the config (a defconfig)
        self.extra_files: list[str] = []
        #: the CONFIG_ symbols the last ``resolve`` decided
        self.wanted: set[str] = set()
        #: every question put to the tree's Kconfig, in order, as ``answers`` asks it
        #: again: a cell whose questions get the same answers read the same config
        self.questions: list[tuple[Any, ...]] = []

    def resolve(
        self, config: Config, notes: list[str] | None = None, more: Iterable[str] = ()
    ) -> Config:
        """A profile as the tree's own alldefconfig, seeded with the profile's symbols.

        Unchanged for a config file (complete as it is) and for a tree without
        Kconfig files (the arch table stands in). Symbols the tree's Kconfig does
        not define keep the arch table's values; ``--set`` values hold over all.

        Only the symbols that can change a cell's result are decided (each to the
        value the whole alldefconfig gives it): the arch table's, the seed's,
        ``more``, and every symbol a cell of this process for the same arch and seed
        needed before (``_WANTED``). ``scan.analyse`` checks that a cell read no other
        relevant one (``relevance``), and asks again with ``more`` if it did; a
        symbol left out reads as n.
        """
        if not self.present or config.kconfig_seed is None:
            return config
        make_arch = self.arch.make_arch or self.arch.name
        seed = dict(config.kconfig_seed)
        key = (self.srcarch, make_arch, tuple(sorted(seed.items())))
        wanted = _WANTED.setdefault(key, set())
        wanted |= {s[7:] for s in (*config.symbols, *seed, *config.forced, *more)}
        wanted |= {w.symbol[7:] for w in self.arch.switches}
        self.wanted = {f"CONFIG_{s}" for s in wanted}
        forced, asked = dict(config.forced), sorted(wanted)
        self.questions.append(
            ("alldefconfig", key[0], make_arch, key[2], tuple(sorted(forced.items())), asked)
        )
        try:
            values = KCONFIG.alldefconfig(self.tree, key[0], make_arch, seed, forced, asked)
        except ExtractorError as err:
            if notes is not None:
                notes.append(
                    f"Kconfig not read ({err.without_rev()}); the arch table's config is used"
                )
            self.present = False
            return config
        if values is None:
            return config
        self._files = list(values.files)
        self.resolved = True
        symbols = {k: v for k, v in config.symbols.items() if k[7:] not in values.defined}
        symbols |= {symbol: found.value for symbol, found in values.items()}
        symbols |= config.forced
        origins = {s: (f.path, f.line, f.reason) for s, f in values.items() if f.path}
        if notes is not None:
            items = sorted(config.kconfig_seed.items())
            shown = ", ".join(f"{k}={v}" for k, v in items[:6])
            shown += f" and {len(items) - 6} more" if len(items) > 6 else ""
            # (not how many files were read: that changes with every driver added, and
            # would make every cell differ from the tag before)
            notes.append(
                f"config: this tree's alldefconfig for ARCH={make_arch}"
                + (f" seeded with {shown}" if shown else "")
            )
            notes.extend(values.warnings[:3])
            notes.extend(_contradicted(self.arch, make_arch, values))
            # (a second resolve of the cell, for its defconfig, says it once)
            notes.extend(n for n in _undefined(config, make_arch, values) if n not in notes)
        return dataclasses.replace(
            config,
            symbols=symbols,
            derived=frozenset(s for s in config.derived if s[7:] not in values.defined),
            origins={**config.origins, **origins},
            # the tree's Kconfig decided these: no longer the arch table's assumptions
            assumed=frozenset(s for s in config.assumed if s[7:] not in values.defined),
        )

    def decide(self, config: Config, asked: set[str], notes: list[str]) -> Config:
        """``config`` with the values Kconfig gives ``asked`` (unchanged without Kconfig).

        A config from a ``.config`` file is complete: what it leaves out is n, as
        in the build's ``autoconf.h``, and Kconfig is not asked to fill it in.
        """
        if not self.present or not asked or config.complete:
            return config
        user = {k: v for k, v in config.symbols.items() if k not in config.derived}
        key = (
            getattr(self.tree, "tree_id", id(self.tree)),
            self.srcarch,
            tuple(sorted(user.items())),
            tuple(sorted(asked)),
        )
        self.questions.append(("values", self.srcarch, key[2], key[3]))
        values = self._memo.get(key)
        if values is None:
            try:
                values = KCONFIG.values(self.tree, self.srcarch, user, sorted(asked))
            except ExtractorError as err:
                notes.append(
                    f"Kconfig not read ({err.without_rev()}); the arch table's defaults are used"
                )
                self.present = False
                return config
            if len(self._memo) > 256:
                self._memo.clear()
            self._memo[key] = values
        self._files = list(values.files) if values is not None else []
        changes = {}
        for symbol, found in (values or {}).items():
            if symbol in user:
                continue
            same = config.symbols.get(symbol, "n") == found.value
            if same and symbol not in config.derived:
                continue
            if found.value == "n" and symbol not in config.symbols:
                continue
            changes[symbol] = (found.value, found.path, found.line, found.reason)
            note = f"{symbol}={found.value} from {found.path}:{found.line} ({found.reason})"
            if note not in notes:
                notes.append(note)
        return config.with_values(changes) if changes else config

    def files(self) -> dict[str, str]:
        paths = [*self._files, *self.extra_files]
        return {p: b for p in paths if (b := self.tree.blob_id(p))}


def _contradicted(arch: Arch, make_arch: str, values: Any) -> list[str]:
    """A warning for each symbol that makes the arch (its base config but for what
    it only assumes) that the tree's alldefconfig sets otherwise: a build for this
    ARCH always has it, so kstack's Kconfig model and the tree disagree, and the
    values that follow are suspect (2.6.24's x86_64 read as i386 this way)."""
    said = []
    for symbol, value in arch.base_config.items():
        found = values.get(symbol)
        if symbol in arch.assumed or found is None or found.value == value:
            continue
        said.append(
            f"this tree's alldefconfig for ARCH={make_arch} gives {symbol}={found.value}, "
            f"but every {arch.name} build has {symbol}={value} ({found.path}:{found.line}): "
            "the values below may be wrong"
        )
    return said


def _undefined(config: Config, make_arch: str, values: Any) -> list[str]:
    """A warning for the symbols the profile or ``--set`` asks for that no file of
    this tree's Kconfig defines: they are set as asked (headers may test them), but
    no build of this tree has them (``kasan`` before 4.0, ``4kstacks`` on x86_64)."""
    absent = [s for s in sorted(config.forced) if s.removeprefix("CONFIG_") not in values.defined]
    if not absent:
        return []
    said = ", ".join(f"{s}={config.forced[s]}" for s in absent)
    return [
        f"{said}: not a symbol of this tree's Kconfig for ARCH={make_arch}; set as asked, "
        "though no build of this tree can have it"
    ]


def answers(
    tree: Tree, questions: Iterable[Any], named: frozenset[str], names_key: bytes
) -> list[str]:
    """What ``tree``'s Kconfig answers each of ``questions`` (a cell's
    ``KconfigSource.questions``, or the same read back from JSON), as a digest of
    all that a cell's result can see of it (``_digest``); ``named``: the CONFIG_
    names whose definition the result shows (``names_key``: a short key for them).

    The cache's content key holds these instead of the blob of every Kconfig file
    read: on real history some Kconfig file changes at almost every tag, and what a
    cell reads of the answers seldom does.
    """
    out = []
    for question in questions:
        kind, srcarch, *rest = question
        try:
            if kind == "alldefconfig":
                make_arch, seed, forced, wanted = rest
                found = KCONFIG.alldefconfig(
                    tree, srcarch, make_arch, dict(seed), dict(forced), list(wanted)
                )
            else:
                user, asked = rest
                found = KCONFIG.values(tree, srcarch, dict(user), list(asked))
        except ExtractorError as err:
            out.append(f"error: {err.without_rev()}")
            continue
        out.append(_digest(kind, found, named, names_key))
    return out


def _digest(kind: str, values: Any, named: frozenset[str], names_key: bytes) -> str:
    """What a cell's result can see of a Kconfig answer, as one string.

    - ``decide`` (a "values" question) notes each symbol it changes with its
      value, file, line and reason: all of them count.
    - ``resolve`` (an "alldefconfig" question) makes the config from every value;
      of where a value came from, the result shows only the file and line of a
      symbol in a constant's chain or asked for (``named``); its notes
      give the first three warnings; which symbols the tree defines decides which
      of the arch table's values stand.

    Kept on the answer, per ``names_key``: answers are not changed once made, and
    the memo hands the same one to every cell of a tree.
    """
    if values is None:
        return "none"
    kept = values.digests
    found = kept.get((kind, names_key))
    if found is None:
        items = sorted(values.items())
        if kind == "alldefconfig":
            document: list[Any] = [
                [(s, v.value, *((v.path, v.line) if s in named else ())) for s, v in items],
                values.warnings[:3],
                sorted(values.defined),
            ]
        else:
            document = [[(s, v.value, v.path, v.line, v.reason) for s, v in items]]
        found = kept[(kind, names_key)] = hashlib.sha1(json.dumps(document).encode()).hexdigest()
    return str(found)


#: (srcarch, ARCH, seed) -> the symbols (without ``CONFIG_``) that cells of this
#: process needed: an alldefconfig decides these, not the thousands a tree defines
_WANTED: dict[tuple[Any, ...], set[str]] = {}


def defconfig_instead(
    tree: Tree,
    arch: Arch,
    profile: Config,
    kconfig: KconfigSource,
    error: str,
    notes: list[str],
) -> Config | None:
    """When the tree's alldefconfig does not build, its ``make defconfig``: the
    alldefconfig seeded with ``KBUILD_DEFCONFIG``'s file (``arch/<arch>/defconfig``
    before it). 2.6.12-2.6.15 arm's default machine, RiscPC, leaves the CPU to the
    user, so glue.h stops at ``#error``; 2.6.14 mips selects no machine, so no code
    model, and THREAD_SIZE_ORDER is left undefined. None without such a file."""
    found = default_defconfig(tree, kconfig.srcarch)
    if found is None or profile.kconfig_seed is None:
        return None
    path, symbols = found
    notes.append(
        f"this tree's alldefconfig does not build ({error}); its make defconfig is "
        f"used instead: the alldefconfig seeded with {path}"
    )
    seed = {**symbols, **profile.kconfig_seed}
    kconfig.extra_files = [path, f"arch/{kconfig.srcarch}/Makefile"]  # part of the cache key
    return dataclasses.replace(profile, kconfig_seed=seed)
