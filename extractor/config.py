"""Kernel configs: named profiles, ``--set`` overrides and ``.config`` files.

In: a profile name (``default``, ``kasan``, ...), ``CONFIG_FOO=value`` strings,
and optionally a kernel ``.config``.
Out: a ``Config``: a name for reports and the symbols, which become the
preprocessor macros that ``generated/autoconf.h`` would hold in a real build.

A ``.config`` is complete: a symbol it leaves out, or marks ``# ... is not set``,
is n, exactly as in the ``autoconf.h`` kbuild makes from it. So the arch table's
base config and Kconfig-default ints are used only for profiles without a file,
and a config made from a file is never completed from the tree's Kconfig either.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .arches import ARCHES, Arch
from .errors import ConfigError, Location

#: profiles every arch has; an arch may add its own in ``Arch.profiles``
PROFILES: dict[str, dict[str, str]] = {
    "default": {},
    # A real build that enables KASAN selects a mode; generic is the default
    # one, and from 5.11 arm64's stack doubling tests the mode, not KASAN.
    "kasan": {"CONFIG_KASAN": "y", "CONFIG_KASAN_GENERIC": "y"},
    "kasan-extra": {"CONFIG_KASAN": "y", "CONFIG_KASAN_GENERIC": "y", "CONFIG_KASAN_EXTRA": "y"},
    "4kstacks": {"CONFIG_4KSTACKS": "y"},
}

_SYMBOL = re.compile(r"^CONFIG_[A-Za-z0-9_]+$")
_SET_LINE = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET_LINE = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")
#: an unquoted value a .config can hold: a bool or tristate, or an int or hex number
_VALUE = re.compile(r"[ymn]|-?[0-9]+|0[xX][0-9a-fA-F]+")


class NotingLookups(dict[str, str]):
    """A mapping that notes every name looked up in it (``read``), found or not."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __contains__(self, name: object) -> bool:
        self.read.add(str(name))
        return dict.__contains__(self, name)

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return dict.get(self, name, default)


#: a config's symbols as the layout and the target macros read them: a few by name,
#: besides ``autoconf.h`` (``scan`` decides the ones read that Kconfig left undecided)
WatchedSymbols = NotingLookups


@dataclass(frozen=True)
class Config:
    """One kernel configuration: what reports call it and its symbols."""

    name: str
    symbols: Mapping[str, str] = field(default_factory=dict)
    #: symbols whose values are the arch table's Kconfig defaults, not chosen by the
    #: user (a tree's own Kconfig files may give them another value)
    derived: frozenset[str] = frozenset()
    #: where a value came from when Kconfig decided it: symbol -> (path, line, reason)
    origins: Mapping[str, tuple[str, int, str]] = field(default_factory=dict)
    #: symbols whose values are the arch table's assumptions (``Arch.assumed``):
    #: a real config may set them otherwise, so a result that depends on one says so
    assumed: frozenset[str] = frozenset()
    #: made from a ``.config``: every symbol it leaves out is n, none is looked up
    complete: bool = False
    #: where the tree has Kconfig files, this config is the tree's alldefconfig
    #: seeded with these symbols (the arch's: powerpc64's PPC64=y), as KCONFIG_ALLCONFIG
    #: would; None when a config file makes the config complete
    kconfig_seed: Mapping[str, str] | None = None
    #: the profile's symbols and ``--set`` values: they hold whatever Kconfig says
    forced: Mapping[str, str] = field(default_factory=dict)

    def with_values(self, values: Mapping[str, tuple[str, str, int, str]]) -> Config:
        """This config with Kconfig-decided values: symbol -> (value, path, line, reason)."""
        symbols = dict(self.symbols)
        origins = dict(self.origins)
        for symbol, (value, path, line, reason) in values.items():
            symbols[symbol] = value
            origins[symbol] = (path, line, reason)
        return dataclasses.replace(
            self,
            symbols=symbols,
            derived=self.derived - set(values),
            origins=origins,
            assumed=self.assumed - set(values),
        )

    def macros(self) -> dict[str, str]:
        """The macros ``generated/autoconf.h`` defines for these symbols."""
        out: dict[str, str] = {}
        for symbol, value in sorted(self.symbols.items()):
            if value == "y":
                out[symbol] = "1"
            elif value == "m":
                out[symbol + "_MODULE"] = "1"
            elif value != "n":
                out[symbol] = value
        return out

    def autoconf(self) -> str:
        """The text of ``generated/autoconf.h`` for this config."""
        lines = [f"/* generated by kstack for config {self.name} */"]
        lines += [f"#define {name} {value}" for name, value in self.macros().items()]
        return "\n".join(lines) + "\n"


def parse_assignment(text: str, where: Location | None = None) -> tuple[str, str]:
    """``CONFIG_FOO=y`` (or ``FOO=y``) into ``("CONFIG_FOO", "y")``."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not name.startswith("CONFIG_"):
        name = "CONFIG_" + name
    if not sep or not _SYMBOL.match(name) or not value.strip():
        raise ConfigError(f"expected CONFIG_NAME=y|n|m|<value>, got {text!r}", where or Location())
    value = value.strip()
    if value.startswith('"') and not (len(value) >= 2 and value.endswith('"')):
        raise ConfigError(f"unterminated string in {text!r}", where or Location())
    if not (value.startswith('"') or _VALUE.fullmatch(value)):
        # (a .config holds nothing else: `=no` or `=yes` would be a defined macro, on)
        raise ConfigError(
            f"{name}={value}: a value is y, n, m, a number or a quoted string",
            where or Location(),
        )
    return name, value


def read_config_file(path: Path) -> dict[str, str]:
    """The symbols of a kernel ``.config`` (``# X is not set`` becomes ``n``)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ConfigError(
            f"cannot read config file: {err.strerror}", Location(None, str(path))
        ) from err
    symbols: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        unset = _UNSET_LINE.match(line)
        if unset:
            symbols[unset.group(1)] = "n"
        elif line and not line.startswith("#"):
            if not _SET_LINE.match(line):
                raise ConfigError(
                    f"not a config line: {line[:60]!r}", Location(None, str(path), number)
                )
            name, value = parse_assignment(line, Location(None, str(path), number))
            symbols[name] = value
    return symbols


#: the version a .config says it was made for, in its header: "# Linux/x86 6.1.0
#: Kernel Configuration" (and "# Linux/x86_64 2.6.36 ..."), or, before 2.6.33,
#: "# Linux kernel version: 2.6.28"
_MADE_FOR = re.compile(
    r"^# Linux(?:/\S+)? (\d+)\.(\d+)(?:\.(\d+))?\S* Kernel Configuration\s*$"
    r"|^# Linux kernel version: (\d+)\.(\d+)(?:\.(\d+))?"
)


def config_file_version(path: Path) -> tuple[int, ...] | None:
    """The kernel version a .config's header says it was made for (None: it says
    none, as a file written by hand does not)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            head = [line.rstrip("\n") for _, line in zip(range(12), lines, strict=False)]
    except OSError:
        return None
    for line in head:
        found = _MADE_FOR.match(line)
        if found is not None:
            groups = found.groups()
            return tuple(int(n or 0) for n in (groups[:3] if groups[0] else groups[3:]))
    return None


def release(version: tuple[int, ...]) -> tuple[int, ...]:
    """The release a version belongs to: 2.6.28.10 and 2.6.28 are 2.6.28; from 3.0,
    3.0.10 and 3.0 are 3.0 (its third number is the stable update)."""
    return tuple(version[:3]) if version[0] < 3 else tuple(version[:2])


def another_release(made: tuple[int, ...], version: tuple[int, ...] | None) -> bool:
    """Whether a .config made for Linux ``made`` is read at a tree of another
    release (a tree that states no version is not)."""
    return version is not None and release(made) != release(version)


def dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in version)


#: source arch -> the symbol every .config made for it sets (its Kconfig's own entry)
ARCH_SYMBOLS = {
    "x86": "CONFIG_X86",
    "arm": "CONFIG_ARM",
    "arm64": "CONFIG_ARM64",
    "mips": "CONFIG_MIPS",
    "powerpc": "CONFIG_PPC",
    "s390": "CONFIG_S390",
    "riscv": "CONFIG_RISCV",
    "loongarch": "CONFIG_LOONGARCH",
}


#: arch -> the symbol every .config made for it sets, in every era (i386's X86_32
#: came in 2.6.16, s390's S390 after 2.6.12: neither is asked for); a file that
#: leaves it out reads it as n, and x86_64's headers then take the 32-bit branches
IDENTITY = {
    "x86_64": "CONFIG_X86_64",
    "arm64": "CONFIG_ARM64",
    "arm": "CONFIG_ARM",
    "powerpc64": "CONFIG_PPC64",
    "powerpc": "CONFIG_PPC",
    "mips": "CONFIG_MIPS",
    "riscv": "CONFIG_RISCV",
    "loongarch": "CONFIG_LOONGARCH",
}


def check_config_arch(path: Path, symbols: Mapping[str, str], arch: Arch) -> None:
    """A usage error when the .config at ``path`` is not one of ``arch``'s:

    - it sets another source arch's own symbol (an arm64 config read for x86_64
      gives numbers, and they are wrong: 16K pages);
    - it says otherwise than every build of ``arch`` does of a symbol that makes
      it (an x86_64 config given for i386: ``make ARCH=i386`` builds 32-bit
      whatever the file says, but read as it stands, with i386's compiler, it
      gave THREAD_SIZE 16384 on 6.12, which no i386 build has);
    - it leaves out the symbol every config of ``arch`` sets (``IDENTITY``): a
      file is the whole config, and CONFIG_4KSTACKS=y alone made x86_64 a 32-bit
      build (THREAD_SIZE 4096 at 2.6.30).
    """
    for srcarch, symbol in ARCH_SYMBOLS.items():
        if srcarch != arch.srcarch and symbols.get(symbol) == "y":
            line = _line_of(path, f"{symbol}=y")
            raise ConfigError(
                f"a .config for {srcarch} ({symbol}=y), given for {arch.name}: "
                f"name its arch (--arch, or --config-file ARCH=FILE)",
                Location(None, str(path), line),
            )
    clash = _contradiction(symbols, arch)
    if clash is not None:
        raise _clash_error(path, symbols, arch, clash)
    own = IDENTITY.get(arch.name)
    if own is not None and symbols.get(own) != "y":
        raise ConfigError(
            f"not a whole .config for {arch.name}: it does not set {own}=y, as every "
            f"{arch.name} .config does (a file is the whole config, and what it leaves "
            "out is n); to add a few symbols to a profile, use --set",
            Location(None, str(path)),
        )


def _clash_error(
    path: Path, symbols: Mapping[str, str], arch: Arch, clash: tuple[str, str, str]
) -> ConfigError:
    """The error for a file that says ``symbol=said`` where every ``arch`` build has
    ``value``: it names the sibling arch the file fits, if one does."""
    symbol, said, value = clash
    line = _line_of(path, f"{symbol}={said}")
    if line is None and said == "n":
        line = _line_of(path, f"# {symbol} is not set")
    fits = _fitting(symbols, arch)
    where = Location(None, str(path), line)
    if fits:
        return ConfigError(
            f"a .config for {' or '.join(fits)} ({symbol}={said}), given for {arch.name}, "
            f"whose builds have {symbol}={value}: name its arch (--arch {fits[0]}, "
            "or --config-file ARCH=FILE)",
            where,
        )
    return ConfigError(
        f"this .config has {symbol}={said}, but every {arch.name} build has "
        f"{symbol}={value}: a .config for an arch kstack does not model",
        where,
    )


def _fitting(symbols: Mapping[str, str], arch: Arch) -> list[str]:
    """The other arches of ``arch``'s source arch that ``symbols`` do not contradict."""
    return [
        other.name
        for other in ARCHES.values()
        if other.srcarch == arch.srcarch and other is not arch
        and _contradiction(symbols, other) is None
    ]  # fmt: skip


def _contradiction(symbols: Mapping[str, str], arch: Arch) -> tuple[str, str, str] | None:
    """The first symbol that makes ``arch`` (its base config, but for what it only
    assumes) that ``symbols`` set otherwise, as (symbol, value set, ``arch``'s), or
    one that makes a sibling arch (same source arch) and not this one set y."""
    for symbol, value in arch.base_config.items():
        said = symbols.get(symbol)
        if symbol not in arch.assumed and said is not None and said != value:
            return symbol, said, value
    for other in ARCHES.values():
        if other.srcarch != arch.srcarch or other is arch:
            continue
        for symbol, value in other.base_config.items():
            if (
                value == "y"
                and symbol not in other.assumed
                and symbol not in arch.base_config
                and symbols.get(symbol) == "y"
            ):
                return symbol, "y", "n"
    return None


def _line_of(path: Path, line: str) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((n for n, text in enumerate(lines, 1) if text.strip() == line), None)


def profile_names(arch: Arch) -> list[str]:
    return sorted({*PROFILES, *arch.profiles})


def make_config(
    profile: str,
    arch: Arch,
    *,
    sets: tuple[str, ...] | list[str] = (),
    file_symbols: Mapping[str, str] | None = None,
    kconfig: Mapping[str, str] | None = None,
) -> Config:
    """A profile for ``arch``, with a ``.config``'s symbols and ``--set`` on top.

    ``kconfig`` holds values of Kconfig int/hex symbols that the build would
    have derived (the arch table's defaults when the tree has no Kconfig).
    With ``file_symbols`` (a ``.config``, even an empty one) neither those nor the
    arch's base config apply: the file is the whole config, as it is for kbuild.
    """
    if profile in arch.profiles:
        chosen = arch.profiles[profile]
    elif profile in PROFILES:
        chosen = PROFILES[profile]
    else:
        known = ", ".join(profile_names(arch))
        raise ConfigError(f"unknown config profile {profile!r} (known: {known})")
    overrides = dict(parse_assignment(item) for item in sets)
    clash = _contradiction(overrides, arch)
    if clash is not None:
        # (as a file that says so is: the number would be another arch's, or none's)
        symbol, said, value = clash
        fits = _fitting(overrides, arch)
        raise ConfigError(
            f"--set {symbol}={said}: every {arch.name} build has {symbol}={value}"
            + (f"; for {fits[0]}, use --arch {fits[0]}" if fits else "")
        )
    name = profile
    if file_symbols is not None:
        name += "+file"
    if sets:
        name += "+" + ",".join(s.removeprefix("CONFIG_") for s in sets)
    if file_symbols is not None:
        return Config(
            name,
            {**chosen, **file_symbols, **overrides},
            complete=True,
            forced={**chosen, **overrides},
        )
    symbols: dict[str, str] = dict(kconfig or {})
    # what makes a sibling arch (CONFIG_X86_64 beside i386) is explicitly off, so
    # that neither a header nor the tree's Kconfig defaults can turn it on
    for sibling in ARCHES.values():
        if sibling.srcarch == arch.srcarch:
            symbols.update({s: "n" for s in sibling.base_config if s not in arch.base_config})
    symbols.update(arch.base_config)
    symbols.update(chosen)
    symbols.update(overrides)
    chosen_here = set(chosen) | set(overrides)
    derived = frozenset(k for k, v in (kconfig or {}).items() if symbols.get(k) == v)
    assumed = frozenset(s for s in arch.assumed if symbols.get(s) == arch.base_config[s])
    # A profile's symbols hold whatever the tree's Kconfig says, as --set does: a
    # seed would not take where a compiler probe ($(shell), never run) hides the
    # prompt, and `kasan` would then silently build without KASAN.
    return Config(
        name,
        symbols,
        derived - chosen_here,
        assumed=assumed - chosen_here,
        kconfig_seed=dict(arch.kconfig_seed),
        forced={**chosen, **overrides},
    )
