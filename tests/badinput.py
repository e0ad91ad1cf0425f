"""Hostile inputs for kstack, built fresh in a temporary directory.

In: a case name and an empty directory.
Out: a ``Run``: the arguments after ``kstack`` that point it at the case, the
directory to run it in, and the file outside the tree that must never be read.

Every case starts from ``base_tree()``, a kernel-shaped tree of a few headers
(THREAD_SIZE = 16384 on x86_64), and changes one thing. Git cases are written
by ``git fast-import`` with a fixed identity and dates, by a git that sees none
of the user's configuration, so every run builds the same objects. Nothing is
checked in but this text: the binary, CRLF and 20 MB headers are made here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ASM = "arch/x86/include/asm"
PAGE_64_TYPES = f"{ASM}/page_64_types.h"
#: what the file outside the tree defines; an escape that was not refused shows it
OUTSIDE_VALUE = 1
TIMEOUT = 60  # seconds, for every git command here

IDENTITY = "kstack tests <kstack@example.org>"
EPOCH = 1_500_000_000  # the first commit's date; each next one a day later


@dataclass(frozen=True)
class Link:
    """A symbolic link in a tree, to ``target`` as written."""

    target: str


Files = dict[str, "bytes | Link"]


def base_tree() -> Files:
    """The smallest tree that kstack folds like a kernel: THREAD_SIZE = 16384."""
    return {
        f"{ASM}/page.h": (
            b"#ifndef _ASM_X86_PAGE_H\n"
            b"#define _ASM_X86_PAGE_H\n"
            b"#include <asm/page_types.h>\n"
            b"#endif\n"
        ),
        f"{ASM}/page_types.h": (
            b"#ifndef _ASM_X86_PAGE_DEFS_H\n"
            b"#define _ASM_X86_PAGE_DEFS_H\n"
            b"#include <linux/const.h>\n"
            b"#define PAGE_SHIFT 12\n"
            b"#define PAGE_SIZE (1UL << PAGE_SHIFT)\n"
            b"#ifdef CONFIG_X86_64\n"
            b"#include <asm/page_64_types.h>\n"
            b"#endif\n"
            b"#endif\n"
        ),
        PAGE_64_TYPES: page_64_types(),
        f"{ASM}/thread_info.h": (
            b"#ifndef _ASM_X86_THREAD_INFO_H\n"
            b"#define _ASM_X86_THREAD_INFO_H\n"
            b"#include <asm/page.h>\n"
            b"#include <linux/types.h>\n"
            b"#endif\n"
        ),
        "include/linux/const.h": (
            b"#ifndef _LINUX_CONST_H\n"
            b"#define _LINUX_CONST_H\n"
            b"#define __AC(X, Y) (X##Y)\n"
            b"#define _AC(X, Y) __AC(X, Y)\n"
            b"#endif\n"
        ),
        "include/linux/types.h": (
            b"#ifndef _LINUX_TYPES_H\n"
            b"#define _LINUX_TYPES_H\n"
            b"typedef unsigned long size_t;\n"
            b"#endif\n"
        ),
    }


def page_64_types(*middle: bytes, order: bytes = b"2", size: bytes | None = None) -> bytes:
    """``page_64_types.h``; ``middle`` lines go at line 3, before the defines."""
    size = size if size is not None else b"(PAGE_SIZE << THREAD_SIZE_ORDER)"
    return (
        b"#ifndef _ASM_X86_PAGE_64_DEFS_H\n"
        b"#define _ASM_X86_PAGE_64_DEFS_H\n"
        + b"".join(line + b"\n" for line in middle)
        + b"#define THREAD_SIZE_ORDER "
        + order
        + b"\n"
        b"#define THREAD_SIZE " + size + b"\n"
        b"#endif\n"
    )


def with_page_64_types(*middle: bytes, **kwargs: bytes) -> Files:
    return {**base_tree(), PAGE_64_TYPES: page_64_types(*middle, **kwargs)}


# --- materialising trees -------------------------------------------------------


def git_env(home: Path) -> dict[str, str]:
    """A git that reads no configuration but the repository's own."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
        "TZ": "UTC",
    }


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), "-c", "init.defaultBranch=main", "-c", "gc.auto=0", *args],
        input=stdin,
        capture_output=True,
        env=git_env(repo),
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode().strip()


def write_dir(root: Path, files: Files) -> Path:
    for path, content in sorted(files.items()):
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            os.symlink(content.target, full)
        else:
            full.write_bytes(content)
    return root


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


@dataclass
class Commit:
    files: Files
    tags: tuple[str, ...] = ()
    message: str = "tree"


def fast_import_stream(commits: list[Commit]) -> bytes:
    """Commits on ``main``, each a whole tree, with annotated tags."""
    out: list[bytes] = []
    for number, commit in enumerate(commits, 1):
        when = b"%d +0000" % (EPOCH + 86400 * number)
        out += [b"commit refs/heads/main\n", b"mark :%d\n" % number]
        out += [b"committer " + IDENTITY.encode() + b" " + when + b"\n"]
        out.append(_data(commit.message.encode()))
        if number > 1:
            out.append(b"from :%d\n" % (number - 1))
        out.append(b"deleteall\n")
        for path, content in sorted(commit.files.items()):
            if isinstance(content, Link):
                out += [b"M 120000 inline " + path.encode() + b"\n", _data(content.target.encode())]
            else:
                out += [b"M 100644 inline " + path.encode() + b"\n", _data(content)]
        for tag in commit.tags:
            out += [b"tag " + tag.encode() + b"\n", b"from :%d\n" % number]
            out += [b"tagger " + IDENTITY.encode() + b" " + when + b"\n", _data(tag.encode())]
    return b"".join(out)


def make_repo(path: Path, commits: list[Commit], *, bare: bool = False) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", *(["--bare"] if bare else []))
    git(path, "fast-import", "--quiet", "--date-format=raw", stdin=fast_import_stream(commits))
    return path


def tag_object(repo: Path, name: str, target: str, kind: str) -> str:
    """An annotated tag named ``name`` pointing at any object (``git mktag``)."""
    body = f"object {target}\ntype {kind}\ntag {name}\ntagger {IDENTITY} {EPOCH} +0000\n\n{name}\n"
    sha = git(repo, "mktag", stdin=body.encode())
    git(repo, "update-ref", f"refs/tags/{name}", sha)
    return sha


# --- cases -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """How to run kstack on one case: ``kstack <args>`` in ``cwd``."""

    args: tuple[str, ...]
    cwd: Path
    #: a header outside the tree defining THREAD_SIZE as OUTSIDE_VALUE
    outside: Path | None = None
    #: files that must not exist after the run (a command injected somewhere ran)
    markers: tuple[Path, ...] = field(default=())


Builder = Callable[[Path], Run]
#: a tree, or a function of the case directory that makes one (for absolute links)
Content = Files | Callable[[Path], Files]
CASES: dict[str, Builder] = {}


def case(name: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        CASES[name] = builder
        return builder

    return register


def build(name: str, tmp: Path) -> Run:
    """Build case ``name`` under the empty directory ``tmp``."""
    return CASES[name](tmp)


def outside_header(tmp: Path) -> Path:
    """``tmp/outside/evil.h``: next to the tree, never inside it."""
    evil = tmp / "outside" / "evil.h"
    evil.parent.mkdir(parents=True, exist_ok=True)
    text = b"#define THREAD_SIZE %d\n#define PAGE_SIZE %d\n" % (OUTSIDE_VALUE, OUTSIDE_VALUE)
    evil.write_bytes(text)
    (evil.parent / "const.h").write_bytes(text)  # for a linked include/linux
    return evil


def in_dir(content: Content, *extra: str) -> Builder:
    """Read as a directory: ``kstack scan tmp/tree``."""

    def builder(tmp: Path) -> Run:
        evil = outside_header(tmp)
        files = content(tmp) if callable(content) else content
        tree = write_dir(tmp / "tree", files)
        return Run(("scan", str(tree), "--format", "json", *extra), tmp, evil)

    return builder


def in_git(content: Content, *extra: str) -> Builder:
    """Read from git objects: ``kstack scan tmp/repo --rev v1``."""

    def builder(tmp: Path) -> Run:
        evil = outside_header(tmp)
        files = content(tmp) if callable(content) else content
        repo = make_repo(tmp / "repo", [Commit(files, ("v1",))])
        return Run(("scan", str(repo), "--rev", "v1", "--format", "json", *extra), tmp, evil)

    return builder


def both(name: str, content: Content, *extra: str) -> None:
    """Register ``name`` read from git objects and ``name-dir`` read as a directory."""
    CASES[name] = in_git(content, *extra)
    CASES[f"{name}-dir"] = in_dir(content, *extra)


both("base", base_tree())

# -- the path is not a tree


@case("path-regular-file")
def _regular_file(tmp: Path) -> Run:
    (tmp / "linux.tar").write_bytes(b"not a tree\n")
    return Run(("scan", str(tmp / "linux.tar")), tmp)


@case("path-regular-file-rev")
def _regular_file_rev(tmp: Path) -> Run:
    (tmp / "linux.tar").write_bytes(b"not a tree\n")
    return Run(("scan", str(tmp / "linux.tar"), "--rev", "HEAD"), tmp)


@case("path-missing")
def _missing(tmp: Path) -> Run:
    return Run(("scan", str(tmp / "nowhere")), tmp)


@case("path-missing-tags")
def _missing_tags(tmp: Path) -> Run:
    return Run(("scan", str(tmp / "nowhere"), "--tags", "*"), tmp)


@case("path-dir-not-repo-rev")
def _not_repo(tmp: Path) -> Run:
    tree = write_dir(tmp / "tree", base_tree())
    return Run(("scan", str(tree), "--rev", "HEAD"), tmp)


# -- repositories that are empty, bare, shallow


def _empty_repo(tmp: Path) -> Path:
    (tmp / "repo").mkdir()
    git(tmp / "repo", "init", "-q")
    return tmp / "repo"


@case("empty-repo-head")
def _empty_head(tmp: Path) -> Run:
    return Run(("scan", str(_empty_repo(tmp)), "--rev", "HEAD"), tmp)


@case("empty-repo-tags")
def _empty_tags(tmp: Path) -> Run:
    return Run(("scan", str(_empty_repo(tmp)), "--tags", "*"), tmp)


@case("rc-tags-only")
def _rc_only(tmp: Path) -> Run:
    commits = [Commit(base_tree(), (tag,)) for tag in ("v1-rc1", "v1-rc2")]
    return Run(("scan", str(make_repo(tmp / "repo", commits)), "--tags", "v1*"), tmp)


@case("bare-repo-tags")
def _bare_tags(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo.git", [Commit(base_tree(), ("v1",))], bare=True)
    return Run(("scan", str(repo), "--tags", "*", "--format", "json"), tmp)


@case("bare-repo-as-directory")
def _bare_dir(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo.git", [Commit(base_tree(), ("v1",))], bare=True)
    return Run(("scan", str(repo)), tmp)


@case("dot-git-as-directory")
def _dot_git_dir(tmp: Path) -> Run:
    work = make_repo(tmp / "work", [Commit(base_tree(), ("v1",))])
    return Run(("scan", str(work / ".git")), tmp)


@case("bare-repo-diff-one-rev")
def _bare_diff(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo.git", [Commit(base_tree(), ("v1",))], bare=True)
    return Run(("diff", str(repo), "v1"), tmp)


def history(tmp: Path, name: str = "full.git") -> Path:
    """Three commits tagged v1 v2 v3: THREAD_SIZE_ORDER 1, 2, 3."""
    commits = [
        Commit({**base_tree(), PAGE_64_TYPES: page_64_types(order=b"%d" % n)}, (f"v{n}",))
        for n in (1, 2, 3)
    ]
    return make_repo(tmp / name, commits, bare=True)


def shallow(tmp: Path) -> Path:
    """A ``--depth 1`` clone of ``history``, then tags written for objects it lacks."""
    full = history(tmp)
    clone = tmp / "shallow.git"
    git(tmp, "clone", "-q", "--bare", "--depth", "1", "--no-local", f"file://{full}", str(clone))
    # v1 names its tag object, v2 its commit; the clone has neither
    for tag, target in (("v1", "refs/tags/v1"), ("v2", "refs/tags/v2^{commit}")):
        ref = clone / "refs" / "tags" / tag
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(git(full, "rev-parse", target) + "\n")
    return clone


@case("shallow-missing-tag-object")
def _shallow_v1(tmp: Path) -> Run:
    return Run(("scan", str(shallow(tmp)), "--rev", "v1"), tmp)


@case("shallow-missing-commit")
def _shallow_v2(tmp: Path) -> Run:
    return Run(("scan", str(shallow(tmp)), "--rev", "v2"), tmp)


@case("shallow-batch")
def _shallow_batch(tmp: Path) -> Run:
    return Run(("scan", str(shallow(tmp)), "--tags", "*", "--format", "json"), tmp)


# -- what a revision names


@case("tag-to-tree")
def _tag_tree(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), ("v1",))])
    tag_object(repo, "v2.6.11-tree", git(repo, "rev-parse", "main^{tree}"), "tree")
    return Run(("scan", str(repo), "--rev", "v2.6.11-tree", "--format", "json"), tmp)


@case("tag-to-blob")
def _tag_blob(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), ("v1",))])
    tag_object(repo, "v-blob", git(repo, "rev-parse", f"main:{PAGE_64_TYPES}"), "blob")
    return Run(("scan", str(repo), "--rev", "v-blob"), tmp)


@case("unknown-rev")
def _unknown_rev(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), ("v1",))])
    return Run(("scan", str(repo), "--rev", "v9.9"), tmp)


@case("unknown-rev-two-configs")
def _unknown_rev_configs(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), ("v1",))])
    args = ("scan", str(repo), "--rev", "v9.9", "--config", "default", "--config", "kasan")
    return Run(args, tmp)


@case("unknown-rev-like-an-option")
def _option_rev(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), ("v1",))])
    marker = tmp / "PWNED"
    return Run(("scan", str(repo), f"--rev=--output={marker}"), tmp, markers=(marker,))


@case("no-x86-headers")
def _no_x86(tmp: Path) -> Run:
    files = {p: c for p, c in base_tree().items() if not p.startswith("arch/")}
    repo = make_repo(tmp / "repo", [Commit(files, ("v1",))])
    return Run(("scan", str(repo), "--rev", "v1"), tmp)


#: tag names git accepts that a shell would run
SHELL_TAGS = (
    "v4.4;touch${IFS}PWNED",
    "$(touch${IFS}PWNED)",
    "`touch${IFS}PWNED`",
    "v1|touch>PWNED",
)


def _shell_tags(tmp: Path) -> tuple[Path, tuple[Path, ...]]:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), SHELL_TAGS)])
    return repo, (tmp / "PWNED", repo / "PWNED")


@case("tag-shell-metacharacters")
def _shell_batch(tmp: Path) -> Run:
    repo, markers = _shell_tags(tmp)
    return Run(("scan", str(repo), "--tags", "*", "--format", "json"), tmp, markers=markers)


@case("tag-shell-metacharacters-rev")
def _shell_rev(tmp: Path) -> Run:
    repo, markers = _shell_tags(tmp)
    args = ("scan", str(repo), "--rev", SHELL_TAGS[1], "--format", "json")
    return Run(args, tmp, markers=markers)


@case("tag-not-utf8")
def _tag_bytes(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), ("v1",))])
    # os.fsencode turns the lone surrogate back into the byte 0xff
    git(repo, "update-ref", "refs/tags/v2\udcff", git(repo, "rev-parse", "v1^{commit}"))
    return Run(("scan", str(repo), "--tags", "*"), tmp)


@case("tag-not-utf8-packed")
def _tag_bytes_packed(tmp: Path) -> Run:
    run = _tag_bytes(tmp)
    git(tmp / "repo", "pack-refs", "--all")  # GitPython cannot read this packed-refs
    return run


@case("ref-is-a-fifo")
def _fifo_ref(tmp: Path) -> Run:
    repo = make_repo(tmp / "repo", [Commit(base_tree(), ("v1",))])
    os.mkfifo(repo / ".git" / "refs" / "tags" / "v2")  # reading it would block (git tag -l does)
    return Run(("scan", str(repo), "--tags", "*", "--format", "json"), tmp)


@case("batch-one-broken")
def _batch(tmp: Path) -> Run:
    broken = with_page_64_types(b"#error this tag is broken")
    commits = [Commit(base_tree(), ("v1",)), Commit(broken, ("v2",)), Commit(base_tree(), ("v3",))]
    repo = make_repo(tmp / "repo", commits)
    return Run(("scan", str(repo), "--tags", "*", "--format", "json"), tmp)


# -- header bytes

CASES["binary-header"] = in_git(with_page_64_types(b"\0\x01\x02\0"))
both("crlf-header", {p: c.replace(b"\n", b"\r\n") for p, c in base_tree().items()})
CASES["invalid-utf8-comment"] = in_git(with_page_64_types(b"/* caf\xe9 \xff\xfe \xc3\x28 */"))
_HUGE = with_page_64_types(b"/*" + (b"padding " * 125 + b"\n") * 20_000 + b"*/")  # 20 MB
CASES["huge-header"] = in_git(_HUGE)
CASES["huge-header-dir"] = in_dir(_HUGE)
CASES["huge-header-raised-dir"] = in_dir(_HUGE, "--limit-file-size", "30000000")


@case("fifo-header-dir")
def _fifo(tmp: Path) -> Run:
    run = in_dir({p: c for p, c in base_tree().items() if p != PAGE_64_TYPES})(tmp)
    os.mkfifo(tmp / "tree" / PAGE_64_TYPES)  # opening it for reading would block
    return run


# -- preprocessor errors

CASES["unterminated-if"] = in_git(with_page_64_types(b"#ifdef CONFIG_X86_64", b"#if 1"))
CASES["stray-endif"] = in_git(with_page_64_types(b"#endif"))
_ERROR = with_page_64_types(b"#ifdef CONFIG_KASAN", b"#error KASAN is not supported", b"#endif")
CASES["error-chosen-config"] = in_git(_ERROR, "--config", "kasan")
CASES["error-other-config"] = in_git(_ERROR, "--config", "default")
CASES["error-one-of-two-configs"] = in_git(_ERROR, "--config", "default", "--config", "kasan")
CASES["bad-directive"] = in_git(with_page_64_types(b"#frobnicate 1"))
CASES["bad-if"] = in_git(with_page_64_types(b"#if 1 +", b"#endif"))

# -- values that have no number

CASES["self-referential"] = in_git(with_page_64_types(size=b"THREAD_SIZE"))
CASES["mutually-recursive"] = in_git(with_page_64_types(b"#define A B", b"#define B A", order=b"A"))
CASES["string-macro"] = in_git(with_page_64_types(order=b'"2"'))
CASES["division-by-zero"] = in_git(with_page_64_types(order=b"(2 / (PAGE_SHIFT - 12))"))
CASES["division-by-zero-table"] = in_git(
    with_page_64_types(order=b"(2 / (PAGE_SHIFT - 12))"),
    "--format",
    "table",  # the last wins
)
CASES["modulo-by-zero"] = in_git(with_page_64_types(order=b"(2 % 0)"))
CASES["shift-by-width"] = in_git(with_page_64_types(size=b"(PAGE_SIZE << 64)"))
CASES["shift-beyond-width"] = in_git(with_page_64_types(size=b"(PAGE_SIZE << 200)"))
CASES["negative-shift"] = in_git(with_page_64_types(size=b"(PAGE_SIZE << -1)"))

# -- include graphs


def include_chain(depth: int) -> Files:
    """page_64_types.h includes deep/d0.h, which includes d1.h ... d<depth>.h."""
    files = with_page_64_types(b'#include "deep/d0.h"')
    for n in range(depth):
        files[f"{ASM}/deep/d{n}.h"] = b'#include "d%d.h"\n' % (n + 1)
    files[f"{ASM}/deep/d{depth}.h"] = b"#define DEEPEST 1\n"
    return files


CASES["include-chain-10000"] = in_git(include_chain(10_000))
CASES["include-chain-2000-raised"] = in_git(include_chain(2000), "--limit-include-depth", "5000")
CASES["include-cycle"] = in_git(
    {
        **with_page_64_types(b'#include "a.h"'),
        f"{ASM}/a.h": b'#include "b.h"\n',
        f"{ASM}/b.h": b'#include "a.h"\n',
    }
)
CASES["include-self-guarded"] = in_git(with_page_64_types(b'#include "page_64_types.h"'))


def macro_chain(depth: int) -> Files:
    """THREAD_SIZE_ORDER is M0, M0 is M1 ... M<depth> is 2."""
    lines = [b"#define M%d M%d" % (n, n + 1) for n in range(depth)] + [b"#define M%d 2" % depth]
    return with_page_64_types(*lines, order=b"M0")


def macro_doubling(depth: int) -> Files:
    """THREAD_SIZE_ORDER expands to 2**depth copies of 0: D0 is (D1 + D1) ..."""
    lines = [b"#define D%d (D%d + D%d)" % (n, n + 1, n + 1) for n in range(depth)]
    return with_page_64_types(*lines, b"#define D%d 0" % depth, order=b"(2 + D0)")


CASES["macro-chain-1000"] = in_git(macro_chain(1000))
CASES["macro-doubling-40"] = in_git(macro_doubling(40), "--limit-seconds", "1")

# -- escapes: each one reaches tmp/outside/evil.h, which defines THREAD_SIZE 1

_UP = b"../" * 5  # from arch/x86/include/asm up to the directory holding the tree
# include names are resolved by the layout, the same for both kinds of tree
CASES["include-dotdot-etc-passwd"] = in_git(
    with_page_64_types(b'#include "../../../../etc/passwd"')
)
CASES["include-absolute-etc-passwd"] = in_git(with_page_64_types(b"#include </etc/passwd>"))
both("include-dotdot-outside", with_page_64_types(b'#include "' + _UP + b'outside/evil.h"'))
CASES["include-angle-dotdot-outside"] = in_git(
    with_page_64_types(b"#include <asm/" + _UP + b"outside/evil.h>")
)
CASES["include-macro-dotdot-outside"] = in_git(
    with_page_64_types(b'#define EVIL "' + _UP + b'outside/evil.h"', b"#include EVIL")
)
CASES["has-include-dotdot-outside"] = in_git(
    with_page_64_types(b'#if __has_include("' + _UP + b'outside/evil.h")', b"#endif")
)
both(
    "include-absolute-outside",
    lambda tmp: with_page_64_types(b"#include <" + bytes(outside_header(tmp)) + b">"),
)
both(
    "symlink-absolute-outside",
    lambda tmp: {**base_tree(), PAGE_64_TYPES: Link(str(outside_header(tmp)))},
)
both(
    "symlink-relative-outside",
    {**base_tree(), PAGE_64_TYPES: Link("../" * 5 + "outside/evil.h")},
)
both(
    "symlink-dir-outside",
    {
        **{p: c for p, c in base_tree().items() if not p.startswith("include/linux/")},
        "include/linux": Link("../../outside"),
    },
)
both(
    "symlink-inside",  # a link that stays in the tree is followed
    {
        **base_tree(),
        PAGE_64_TYPES: Link("../../../../include/real_page_64_types.h"),
        "include/real_page_64_types.h": page_64_types(),
    },
)
both(
    "symlink-loop",
    {**base_tree(), PAGE_64_TYPES: Link("loop.h"), f"{ASM}/loop.h": Link("page_64_types.h")},
)


# --- running kstack ------------------------------------------------------------------


def kstack_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment for a kstack run: no user git config, a private cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(tmp / "home"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        LC_ALL="C.UTF-8",
        PYTHONIOENCODING="utf-8",  # strict, as on most desktops
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def run_kstack(
    args: tuple[str, ...] | list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python -m extractor <args>``; a hang fails the caller by TimeoutExpired."""
    return subprocess.run(
        [sys.executable, "-m", "extractor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )


# --- repositories for the process and temporary-file checks -----------------------


def broken_batch(tmp: Path, tags: int = 20) -> Path:
    """``tags`` tags, every third one with an ``#error``, and a tag pointing at a blob.

    Enough tags that ``-j 2`` runs them on worker processes.
    """
    broken = with_page_64_types(b"#error this tag is broken")
    commits = [Commit(broken if n % 3 == 2 else base_tree(), (f"v1.{n}",)) for n in range(tags)]
    repo = make_repo(tmp / "batch", commits, bare=True)
    tag_object(repo, "v1.999", git(repo, "rev-parse", f"main:{PAGE_64_TYPES}"), "blob")
    return repo


def slow_batch(tmp: Path, tags: int = 16, lines: int = 24_000) -> Path:
    """``tags`` tags whose headers each take a while to preprocess, all different:
    ``lines`` directive lines each (a comment's empty lines cost nothing to skip)."""
    padding = b"#ifdef SLOW_PADDING\n#endif\n" * (lines // 2)
    commits = [
        Commit(
            {**base_tree(), PAGE_64_TYPES: page_64_types(padding, order=b"%d" % (n % 7 + 1))},
            (f"v2.{n}",),
        )
        for n in range(tags)
    ]
    return make_repo(tmp / "slow", commits, bare=True)


# --- a tree whose build machinery would run commands -----------------------------

#: scripts the tree and its repository name, each touching its own marker if run
TRAPS = (
    "scripts/setlocalversion.sh",
    "scripts/checksyscalls.sh",
    "filter-smudge",
    "filter-clean",
    "filter-process",
    "diff-textconv",
    "diff-external",
    "fsmonitor",
    "pager",
    "editor",
    "askpass",
)
#: hooks that git commands could run
HOOKS = (
    "pre-commit",
    "post-checkout",
    "post-merge",
    "post-rewrite",
    "reference-transaction",
    "pre-auto-gc",
    "post-index-change",
    "fsmonitor-watchman",
)
#: programs a kernel build runs: found first on PATH, they leave a marker
BUILD_TOOLS = ("make", "gcc", "cc", "cpp", "ld", "as", "perl", "bc", "flex", "bison", "bash")


@dataclass(frozen=True)
class Trapped:
    """A kernel work tree and repository whose every command leaves a marker."""

    repo: Path
    #: empty, as long as nothing ran
    markers: Path
    #: to put first on PATH: make, gcc, ... that leave a marker
    bin_dir: Path


def _trap(directory: Path, markers: Path, name: str) -> Path:
    """An executable that leaves ``markers/<name>`` behind if anything runs it."""
    name = name.replace("/", "-")
    script = directory / name
    script.write_text(f"#!/bin/sh\ntouch '{markers / name}'\ncat >/dev/null 2>&1 </dev/null\n")
    script.chmod(0o755)
    return script


def trapped_tree(tmp: Path) -> Trapped:
    """A git work tree (commits tagged v1 and v2, THREAD_SIZE 16384 then 32768).

    Its Makefile and Kconfig ``$(shell ...)`` and its scripts would touch a
    marker if run; its ``.git/config``, hooks and ``.gitattributes`` name
    filter, textconv, external diff, fsmonitor, pager, editor and askpass
    commands that would do the same; ``bin_dir`` holds a make, gcc, perl ...
    that would too. kstack must read the headers and leave ``markers`` empty.
    """
    markers, scripts_dir, bin_dir = tmp / "markers", tmp / "scripts", tmp / "bin"
    for directory in (markers, scripts_dir, bin_dir):
        directory.mkdir()
    scripts = {name: _trap(scripts_dir, markers, name) for name in TRAPS}
    for tool in BUILD_TOOLS:
        _trap(bin_dir, markers, f"path-{tool}").rename(bin_dir / tool)
    touch = f"touch {markers}"
    files: Files = {
        **base_tree(),
        "Makefile": (
            f"VERSION = 4\nPATCHLEVEL = 4\nX := $(shell {touch}/Makefile)\n"
            f"all:\n\t{touch}/Makefile\n"
        ).encode(),
        "Kconfig": (
            f'mainmenu "$(shell,{touch}/Kconfig)"\n'
            f'source "arch/$(shell,{touch}/Kconfig-source)/Kconfig"\n'
        ).encode(),
        "arch/x86/Kconfig": f"config X86_64\n\tdef_bool $(shell,{touch}/Kconfig-x86)\n".encode(),
        "scripts/setlocalversion.sh": scripts["scripts/setlocalversion.sh"].read_bytes(),
        "scripts/checksyscalls.sh": scripts["scripts/checksyscalls.sh"].read_bytes(),
        ".gitattributes": b"* filter=trap diff=trap\n",
    }
    second = {**files, PAGE_64_TYPES: page_64_types(order=b"3")}
    repo = make_repo(tmp / "linux", [Commit(files, ("v1",)), Commit(second, ("v2",))])
    # the files of v1 on disk, written before the traps are armed
    git(repo, "checkout", "-q", "-f", "v1")
    for script in ("scripts/setlocalversion.sh", "scripts/checksyscalls.sh"):
        (repo / script).chmod(0o755)
    config = {
        "filter.trap.smudge": scripts["filter-smudge"],
        "filter.trap.clean": scripts["filter-clean"],
        "filter.trap.process": scripts["filter-process"],
        "filter.trap.required": "true",
        "diff.trap.textconv": scripts["diff-textconv"],
        "diff.external": scripts["diff-external"],
        "core.fsmonitor": scripts["fsmonitor"],
        "core.pager": scripts["pager"],
        "core.editor": scripts["editor"],
        "core.askPass": scripts["askpass"],
        "core.hooksPath": repo / ".git" / "hooks",
    }
    for key, value in config.items():
        git(repo, "config", key, str(value))
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in HOOKS:
        _trap(hooks, markers, f"hook-{hook}").rename(hooks / hook)
    return Trapped(repo, markers, bin_dir)
