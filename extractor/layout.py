"""Layout stage: where an arch's headers are at one revision, as kbuild sees them.

In: a ``Tree``, an ``Arch`` and a ``Config``.
Out: a ``Layout`` that resolves ``#include`` names to headers the way the
kernel build would at that revision:

- the era: ``arch/<srcarch>/include/asm`` (from 2.6.28), ``include/asm-x86``
  (2.6.24-2.6.27) or ``include/asm-<arch>`` reached through the ``asm`` link
  the build created (before 2.6.24; no tree contains that link);
- kbuild's include order, then the compiler's own directory last;
- the files a build generates and a source tree lacks: ``generated/autoconf.h``
  from the config, ``asm/X.h`` wrappers for headers only ``asm-generic`` has,
  and the few compiler headers (``stdarg.h`` ...) that old trees pull in.

An include name is tried against each directory in the compiler's order, and
each candidate is normalized against its own directory: arm64's
``#include "../../arm/include/asm/opcodes.h"`` misses next to its includer and
is found through ``arch/arm64/include``, as gcc finds it. Nothing outside the
tree is ever read: a candidate that climbs out of it is skipped, and when no
candidate inside the tree exists, or the include is absolute, ``EscapeError``
names the include.
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass, field

from .arches import Arch
from .config import Config
from .errors import EscapeError, LayoutError, Location
from .kbuild import arch_includes
from .source import Tree, blob_id, normalize

#: shown as the directory of kstack's stand-ins for the compiler's headers
COMPILER_DIR = "<compiler>"
#: shown as the directory of empty stand-ins for headers a build generates
MISSING_DIR = "<missing>"
#: where ``locate`` places an include whose only candidates leave the tree
REFUSED_DIR = "<refused>"

# The compiler's own headers that kernel headers may include (kbuild adds
# gcc's include directory with -isystem). Only the declarations matter here.
COMPILER_HEADERS: dict[str, str] = {
    "stdarg.h": (
        "#ifndef _KSTACK_STDARG_H\n#define _KSTACK_STDARG_H\n"
        "typedef __builtin_va_list va_list;\n"
        "#define va_start(ap, last) __builtin_va_start(ap, last)\n"
        "#define va_arg(ap, type) __builtin_va_arg(ap, type)\n"
        "#define va_end(ap) __builtin_va_end(ap)\n"
        "#define va_copy(d, s) __builtin_va_copy(d, s)\n#endif\n"
    ),
    "stddef.h": (
        "#ifndef _KSTACK_STDDEF_H\n#define _KSTACK_STDDEF_H\n"
        "#define offsetof(t, m) __builtin_offsetof(t, m)\n#endif\n"
    ),
    "stdbool.h": (
        "#ifndef _KSTACK_STDBOOL_H\n#define _KSTACK_STDBOOL_H\n"
        "#define bool _Bool\n#define true 1\n#define false 0\n#endif\n"
    ),
    "stdint.h": "#ifndef _KSTACK_STDINT_H\n#define _KSTACK_STDINT_H\n#endif\n",
    "limits.h": "#ifndef _KSTACK_LIMITS_H\n#define _KSTACK_LIMITS_H\n#endif\n",
    "float.h": "#ifndef _KSTACK_FLOAT_H\n#define _KSTACK_FLOAT_H\n#endif\n",
}

#: gcc's own target headers that arch headers include (intrinsics): kstack has
#: no stand-in text for them, and reads them as empty with a warning
COMPILER_ONLY_HEADERS = frozenset(
    {"larchintrin.h", "arm_neon.h", "arm_acle.h", "altivec.h", "immintrin.h", "x86intrin.h"}
)

#: why a header read as an empty stand-in is not in the tree, as warnings say it
GENERATED_KIND = "a build generates it"
COMPILER_KIND = "a compiler header kstack does not model"

#: the compiler version claimed when the tree does not choose headers by it
MODERN_GCC = (12, 2, 0)


@dataclass(frozen=True)
class Header:
    """One header as the preprocessor will read it."""

    #: tree-relative path, or ``<compiler>/x.h`` / ``<missing>/x.h`` for stand-ins
    path: str
    text: bytes
    #: "tree", "generated" (kstack wrote it as kbuild would), "compiler" or
    #: "missing" (an empty stand-in)
    origin: str = "tree"
    #: for a missing one, why the tree lacks it (``GENERATED_KIND`` ...)
    missing_kind: str | None = None

    @property
    def blob(self) -> str:
        return blob_id(self.text)


#: (layout shape, include) -> the paths the include tries, and whether one that
#: would leave the tree was skipped: the same for every tag
_LOCATED: dict[tuple[object, ...], tuple[list[tuple[str, str]], bool]] = {}


@dataclass
class Layout:
    tree: Tree
    arch: Arch
    config: Config
    #: "arch" (from 2.6.28), "asm-x86" (2.6.24-2.6.27) or "asm-<arch>" (older)
    era: str
    #: where ``<asm/...>`` resolves: the arch's own asm directory in the tree
    asm_dir: str
    #: kbuild's -I directories, tree-relative, in search order
    include_dirs: list[str]
    #: headers the build force-includes before every file
    force_includes: list[str]
    #: (major, minor, patchlevel) of gcc that the tree is told it is built with
    gcc: tuple[int, int, int]
    warnings: list[str] = field(default_factory=list)
    #: links the old build created inside the tree (``include/asm-arm/arch`` ->
    #: ``include/asm-arm/arch-versatile``): link path -> target
    links: dict[str, str] = field(default_factory=dict)
    #: the arch Makefiles read for per-config include dirs: path -> blob id
    makefiles: dict[str, str] = field(default_factory=dict)
    #: the directory under arch/ the build's ``$(ARCH)`` names (``_era``)
    arch_dir: str = ""
    _generated: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def rev(self) -> str | None:
        return self.tree.rev

    @property
    def model(self) -> str:
        """The data model ("LP64" or "ILP32") the config's target has."""
        return self.arch.data_model(self.config.symbols)

    def predefined(self) -> dict[str, str]:
        """Compiler builtins for the config's target, and config macros, as ``-D``
        would give them."""
        major, minor, patch = self.gcc
        return {
            **self.arch.predefined(self.config.symbols),
            "__GNUC__": str(major),
            "__GNUC_MINOR__": str(minor),
            "__GNUC_PATCHLEVEL__": str(patch),
            **self.config.macros(),
        }

    # -- include resolution ------------------------------------------------

    def _alias(self, path: str) -> str:
        """The legacy ``include/asm`` link, which the build created and no tree has."""
        if self.era != "arch" and (path == "include/asm" or path.startswith("include/asm/")):
            path = self.asm_dir + path[len("include/asm") :]
        for link, target in self.links.items():
            if path == link or path.startswith(link + "/"):
                return target + path[len(link) :]
        return path

    def _read(self, path: str) -> Header | None:
        real = self._alias(path)
        data = self.tree.read(real)
        if data is not None:
            return Header(real, data)
        text = self._generated.get(path)
        if text is None:
            text = self._generate(path)
        if text is not None:
            return Header(path, text.encode(), "generated")
        return None

    def _generate(self, path: str) -> str | None:
        """What kbuild would have generated at ``path``, if anything."""
        if not self._would_generate(path):
            return None
        if path.endswith("/autoconf.h"):
            return self.config.autoconf()
        name = path.rsplit("/asm/", 1)[1]
        return f"/* generated by kstack as kbuild would */\n#include <asm-generic/{name}>\n"

    def _candidates(self, name: str, quoted: bool, includer: str | None) -> tuple[list[str], bool]:
        """The paths inside the tree an ``#include`` of ``name`` tries, in the
        compiler's order, and whether a candidate that would leave the tree
        was skipped.

        Each candidate is its directory joined with the name and normalized on
        its own: ``..`` climbs from that directory, as the compiler's open()
        does in a build where every search directory exists.
        """
        if name.startswith("/"):
            raise EscapeError(f"#include of absolute path {name!r} refused", Location(self.rev))
        directories: list[str] = []
        if quoted and includer is not None and not includer.startswith("<"):
            directories.append(posixpath.dirname(includer))
        directories += self.include_dirs
        paths: list[str] = []
        skipped = False
        for directory in directories:
            try:
                paths.append(normalize(posixpath.join(directory, name), self.rev))
            except EscapeError:
                skipped = True  # never read
        return paths, skipped

    def _refused(self, name: str, paths: list[str]) -> EscapeError:
        """Nothing inside the tree answers an include that has a candidate outside it."""
        if not paths:
            return EscapeError(
                f"#include {name!r} resolves outside the tree; refused", Location(self.rev)
            )
        searched = ", ".join(dict.fromkeys(paths))
        return EscapeError(
            f"#include {name!r} not found in the tree (searched: {searched}); "
            "a candidate outside the tree was not read",
            Location(self.rev),
        )

    def _compiler_header(self, name: str) -> str | None:
        """kstack's stand-in text for the compiler's own ``name``, if it has one."""
        return COMPILER_HEADERS.get(posixpath.normpath(name))

    def find(self, name: str, *, quoted: bool, includer: str | None) -> Header | None:
        """The header ``#include`` of ``name`` reaches, or None if nothing does."""
        paths, skipped = self._candidates(name, quoted, includer)
        for path in paths:
            header = self._read(path)
            if header is not None:
                return header
        if skipped:
            raise self._refused(name, paths)
        text = self._compiler_header(name)
        if text is not None:
            return Header(f"{COMPILER_DIR}/{name}", text.encode(), "compiler")
        return None

    def locate(self, name: str, *, quoted: bool, includer: str | None) -> str:
        """Where ``find`` would resolve ``name``, without reading any file."""
        local = quoted and includer is not None and not includer.startswith("<")
        key = (
            self.era,
            self.asm_dir,
            tuple(self.include_dirs),
            tuple(self.links.items()),
            name,
            posixpath.dirname(includer) if local and includer else None,
        )
        located = _LOCATED.get(key)
        if located is None:
            paths, skipped = self._candidates(name, quoted, includer)
            located = ([(path, self._alias(path)) for path in paths], skipped)
            if len(_LOCATED) > 50_000:
                _LOCATED.clear()
            _LOCATED[key] = located
        candidates, skipped = located
        for path, real in candidates:
            if self.tree.exists(real):
                return real
            if path in self._generated or self._would_generate(path):
                return path
        if skipped:
            return f"{REFUSED_DIR}/{name}"
        if self._compiler_header(name) is not None:
            return f"{COMPILER_DIR}/{name}"
        return self.stand_in(name).path

    def _would_generate(self, path: str) -> bool:
        if path in ("include/generated/autoconf.h", "include/linux/autoconf.h"):
            return True
        if self.era != "arch":
            return False
        base = f"arch/{self.arch.srcarch}/include/generated/"
        for generated, generic in (
            ("asm/", "include/asm-generic/"),
            ("uapi/asm/", "include/uapi/asm-generic/"),
        ):
            if path.startswith(base + generated):
                return self.tree.exists(generic + path[len(base + generated) :])
        return False

    def stand_in(self, name: str) -> Header:
        """An empty header for one the tree lacks: one the build would generate,
        or one of the compiler's own that kstack has no text for."""
        if posixpath.normpath(name) in COMPILER_ONLY_HEADERS:
            return Header(f"{COMPILER_DIR}/{name}", b"", "missing", COMPILER_KIND)
        return Header(f"{MISSING_DIR}/{name}", b"", "missing", GENERATED_KIND)


def _era(tree: Tree, arch: Arch) -> tuple[str, str, str]:
    """The era, where ``<asm/...>`` resolves, and the directory under arch/ the
    build's ``$(ARCH)`` names: before the merges, the legacy headers' own
    (arch/ppc64 at 2.6.14, arch/x86_64 before 2.6.24), else the srcarch."""
    modern = f"arch/{arch.srcarch}/include/asm"
    if tree.is_dir(modern):
        return "arch", modern, arch.srcarch
    present = [legacy for legacy in arch.legacy_asm if tree.is_dir(f"include/{legacy}")]
    # the link pointed at include/asm-X for a build of ARCH=X: where the tree has
    # arch/X, that one (2.6.14 has include/asm-powerpc, for the merge to come, but
    # builds ppc64 with arch/ppc64 and include/asm-ppc64); a headers-only tree has
    # no arch/, and the first the build preferred is taken
    built = [legacy for legacy in present if tree.is_dir(f"arch/{legacy[4:]}")]
    if present:
        legacy = (built or present)[0]
        return legacy, f"include/{legacy}", legacy[4:] if built else arch.srcarch
    looked = ", ".join([modern, *(f"include/{name}" for name in arch.legacy_asm)])
    raise LayoutError(
        f"no {arch.name} headers at this revision (looked for {looked})", Location(tree.rev)
    )


_COMPILER_GCC = re.compile(r"compiler-gcc([1-9][0-9]*)\.h")


def _claimed_gcc(tree: Tree, warnings: list[str]) -> tuple[int, int, int]:
    """The newest gcc the tree has a ``compiler-gccN.h`` for, or a modern one."""
    # not a listing: include/linux has thousands of entries and changes at
    # nearly every tag
    versions = [
        int(match.group(1))
        for name in tree.names_starting("include/linux", "compiler-gcc")
        if (match := _COMPILER_GCC.fullmatch(name))
        and 2 <= int(match.group(1)) <= 12
        and tree.exists(f"include/linux/{name}")
    ]
    if not versions:
        return MODERN_GCC
    newest = max(versions)
    warnings.append(
        f"claimed gcc {newest}: the newest include/linux/compiler-gcc{newest}.h this tree has"
    )
    return (newest, 0, 0)


def make_layout(tree: Tree, arch: Arch, config: Config) -> Layout:
    """The include layout of ``arch`` at this revision (``LayoutError`` if absent)."""
    era, asm_dir, arch_dir = _era(tree, arch)
    warnings: list[str] = []
    if era == "arch":
        base = f"arch/{arch.srcarch}/include"
        include_dirs = [
            base,
            f"{base}/generated",
            "include",
            f"{base}/uapi",
            f"{base}/generated/uapi",
            "include/uapi",
            "include/generated/uapi",
        ]
    else:
        include_dirs = ["include"]
    extra = arch_includes(tree, arch.srcarch, config.symbols, arch_dir)
    warnings += extra.warnings
    if extra.found:  # the arch Makefile says which directories this config adds
        include_dirs += [d for d in extra.include_dirs if d not in include_dirs]
    else:  # a headers package without the Makefile lines: the arch table's dirs
        include_dirs += [
            f"{asm_dir}/{mach}" for mach in arch.mach_dirs if tree.is_dir(f"{asm_dir}/{mach}")
        ]
    force = ["linux/kconfig.h"] if tree.exists("include/linux/kconfig.h") else []
    return Layout(
        tree=tree,
        arch=arch,
        config=config,
        era=era,
        asm_dir=asm_dir,
        include_dirs=include_dirs,
        force_includes=force,
        gcc=_claimed_gcc(tree, warnings),
        warnings=warnings,
        links=extra.links,
        makefiles=extra.files,
        arch_dir=arch_dir,
    )


_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)


@functools.lru_cache(maxsize=4096)
def textual_includes(text: bytes) -> tuple[tuple[bool, str], ...]:
    """Every ``#include`` line of a header, taken or not: (quoted, name); once per text."""
    return tuple(
        (m.group(1) == b'"', m.group(2).decode("utf-8", "replace")) for m in _INCLUDE.finditer(text)
    )


@dataclass(frozen=True)
class Mention:
    """Where a header names a macro: a ``#define``, an enum member, or a use."""

    path: str
    line: int
    defines: bool
    #: the line declares it as an enum member (``NAME,`` or ``NAME = 3,`` alone)
    enumerator: bool = False


_ENUMERATOR = re.compile(rb"^\s*([A-Za-z_]\w*)\s*(=[^,;{}()]*)?,?\s*(/\*.*\*/|//.*)?\s*$")


def mentions(
    layout: Layout, names: set[str], directories: list[str], only: list[str] | None = None
) -> dict[str, list[Mention]]:
    """Scan the headers under ``directories`` (not recursively), or the ``only``
    paths, for ``names``.

    This finds headers that define a constant but are not on the include path
    of the arch's entry headers (old trees keep some in processor.h), and
    names that are declared but are not macros (an enum member).
    """
    found: dict[str, list[Mention]] = {}
    if not names:
        return found
    paths = list(only or [])
    for directory in directories:
        paths += [f"{directory}/{n}" for n in layout.tree.listdir(directory) if n.endswith(".h")]
    asked = frozenset(names)
    for path in paths:
        blob = layout.tree.blob_id(path) or ""
        key = (path, blob, asked)
        known = _MENTIONS.get(key) if blob else None
        if known is None:
            known = mentions_in(path, layout.tree.read(path) or b"", names) or _NONE
            if blob:
                if len(_MENTIONS) >= MAX_MENTIONS:
                    _MENTIONS.clear()
                _MENTIONS[key] = known
        for name, seen in known.items():
            found.setdefault(name, []).extend(seen)
    return found


#: (path, blob id, names) -> what ``mentions_in`` found there. A cell that misses a
#: name scans every header of its asm directory for it; they seldom change from
#: tag to tag, and the other arches of a tree ask the same
_MENTIONS: dict[tuple[str, str, frozenset[str]], dict[str, list[Mention]]] = {}
MAX_MENTIONS = 20_000
#: what most headers say of the names (shared, never changed)
_NONE: dict[str, list[Mention]] = {}


def mentions_in(
    path: str, data: bytes, names: set[str] | frozenset[str]
) -> dict[str, list[Mention]]:
    """Where one header's text names any of ``names`` (see ``mentions``)."""
    encoded, words = _words(frozenset(names))
    found: dict[str, list[Mention]] = {}
    if not any(n in data for n in encoded) or not words.search(data):
        return found
    for match in words.finditer(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        text = data[start : end if end >= 0 else len(data)]
        define = _DEFINE.match(text)
        enumerator = _ENUMERATOR.match(text)
        found.setdefault(match.group(1).decode(), []).append(
            Mention(
                path,
                data.count(b"\n", 0, match.start()) + 1,
                bool(define and define.group(1) == match.group(1)),
                bool(enumerator and enumerator.group(1) == match.group(1)),
            )
        )
    return found


@functools.lru_cache(maxsize=64)
def _words(names: frozenset[str]) -> tuple[list[bytes], re.Pattern[bytes]]:
    encoded = [n.encode() for n in sorted(names)]
    return encoded, re.compile(rb"\b(" + b"|".join(re.escape(n) for n in encoded) + rb")\b")
