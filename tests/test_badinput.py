"""kstack on trees nobody vetted: one row per hostile input (built by ``badinput``).

Each row runs the real CLI in a subprocess and says what must come out: the
exit status, the one ``kstack: rev:path:line: message`` line per failure on
stderr, and the value of each constant, or why it is unknown. Whatever the
row, there is never a traceback, never exit 70, never a number where the
answer is unknown, and never a value read from outside the tree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import badinput
import pytest
from badinput import ASM, OUTSIDE_VALUE, PAGE_64_TYPES, SHELL_TAGS

P64 = PAGE_64_TYPES
PAGE_TYPES = f"{ASM}/page_types.h"
BASE = {"THREAD_SIZE": 16384, "THREAD_SIZE_ORDER": 2, "PAGE_SIZE": 4096}

#: a value a constant must have (int), or the reason it is unknown (a pattern)
Cell = Mapping[str, "int | str"]


@dataclass(frozen=True)
class Expect:
    status: int
    #: one stderr line each: (location, message pattern); "" for no location
    errors: tuple[tuple[str, str], ...] = ()
    #: "rev config" -> its constants, or the ``error.kind`` of a failed cell
    cells: Mapping[str, Cell | str] = field(default_factory=dict)
    #: a pattern stdout must match (for the table format)
    shows: str | None = None


def ok(rev: str | None = "v1", config: str = "default", **values: int | str) -> Expect:
    return Expect(0, cells={f"{rev or '(dir)'} {config}": {**BASE, **values}})


def fails(where: str, message: str) -> Expect:
    return Expect(2, errors=((where, message),))


def both(name: str, where: str, message: str) -> dict[str, Expect]:
    """The row read from git objects at v1, and the row read as a directory."""
    return {name: fails(f"v1:{where}", message), f"{name}-dir": fails(where, message)}


MISSING = r"^the objects of this revision are missing \(a shallow clone\?\)$"
NO_X86 = r"^no x86_64 headers at this revision \(looked for arch/x86/include/asm, "
NO_WORK_TREE = (
    r"^\$TMP/{path}: a git repository with no work tree to read; name its revisions "
    r"\(--rev, --tags; for diff, A and B\)$"
)


def not_read(*searched: str) -> str:
    """The refusal of an include that only a candidate outside the tree answers."""
    return (
        rf" not found in the tree \(searched: {', '.join(searched)}\); "
        "a candidate outside the tree was not read$"
    )


UP = r"(\.\./){5}"  # from arch/x86/include/asm to the directory holding the tree

ROWS: dict[str, Expect] = {
    "base": ok(),
    "base-dir": ok(None),
    # the path is not a tree
    "path-regular-file": fails("", r"^\$TMP/linux\.tar: not a directory or a git repository$"),
    "path-regular-file-rev": fails("", r"^\$TMP/linux\.tar: not a directory or a git repository$"),
    "path-missing": fails("", r"^\$TMP/nowhere: no such file or directory$"),
    "path-missing-tags": fails("", r"^\$TMP/nowhere: no such file or directory$"),
    "path-dir-not-repo-rev": fails("", r"^\$TMP/tree: not a directory or a git repository$"),
    # repositories
    "empty-repo-head": fails("HEAD", r"^unknown revision 'HEAD'$"),
    "empty-repo-tags": fails("", r"^no tag matches \* in \$TMP/repo$"),
    "rc-tags-only": fails(
        "", r"^no tag matches v1\* in \$TMP/repo but -rc tags, which need --rc \(v1-rc1, v1-rc2\)$"
    ),
    "bare-repo-tags": ok(),
    "bare-repo-as-directory": fails("", NO_WORK_TREE.format(path="repo\\.git")),
    "dot-git-as-directory": fails("", NO_WORK_TREE.format(path="work/\\.git")),
    "bare-repo-diff-one-rev": fails("", NO_WORK_TREE.format(path="repo\\.git")),
    "shallow-missing-tag-object": fails("v1", MISSING),
    "shallow-missing-commit": fails("v2", MISSING),
    "shallow-batch": Expect(
        3,
        errors=(("v1", MISSING), ("v2", MISSING)),
        cells={
            "v1 default": "source",
            "v2 default": "source",
            "v3 default": {**BASE, "THREAD_SIZE": 32768, "THREAD_SIZE_ORDER": 3},
        },
    ),
    # revisions
    "tag-to-tree": ok("v2.6.11-tree"),
    "tag-to-blob": fails("v-blob", r"^revision points at a blob, not a commit or tree$"),
    "unknown-rev": fails("v9.9", r"^unknown revision 'v9\.9'$"),
    "unknown-rev-two-configs": fails("v9.9", r"^unknown revision 'v9\.9'$"),
    "unknown-rev-like-an-option": fails("--output=$TMP/PWNED", r"^unknown revision '--output="),
    "no-x86-headers": fails("v1", NO_X86),
    "tag-shell-metacharacters": Expect(0, cells={f"{tag} default": BASE for tag in SHELL_TAGS}),
    "tag-shell-metacharacters-rev": ok(SHELL_TAGS[1]),
    "tag-not-utf8": Expect(0, shows=r"(?m)^v2\\udcff +x86_64 +default +16384 +2 +4096$"),
    "tag-not-utf8-packed": Expect(0, shows=r"(?m)^v2\\udcff +x86_64 +default +16384 +2 +4096$"),
    "ref-is-a-fifo": ok(),
    "batch-one-broken": Expect(
        3,
        errors=((f"v2:{P64}:3", r"^#error this tag is broken$"),),
        cells={"v1 default": BASE, "v2 default": "preprocess", "v3 default": BASE},
    ),
    # header bytes
    "binary-header": fails(f"v1:{P64}", r"^binary file \(contains NUL bytes\), not a header$"),
    "crlf-header": ok(),
    "crlf-header-dir": ok(None),
    "invalid-utf8-comment": ok(),
    "huge-header": fails(
        f"v1:{P64}",
        r"^file is \d+ bytes, over the 8388608-byte limit \(raise it with --limit-file-size\)$",
    ),
    "huge-header-dir": fails(
        P64, r"^file is \d+ bytes, over the 8388608-byte limit \(raise it with --limit-file-size\)$"
    ),
    "huge-header-raised-dir": ok(None),
    # a FIFO is not a file: absent (a build would generate it), never opened
    "fifo-header-dir": Expect(0, cells={"(dir) default": {"PAGE_SIZE": 4096}}),
    # preprocessor errors
    "unterminated-if": fails(f"v1:{P64}:1", r"^Unterminated #ifndef _ASM_X86_PAGE_64_DEFS_H$"),
    "stray-endif": fails(f"v1:{P64}:6", r"^Misplaced #endif$"),
    "error-chosen-config": fails(f"v1:{P64}:4", r"^#error KASAN is not supported$"),
    "error-other-config": ok(),
    "error-one-of-two-configs": Expect(
        3,
        errors=((f"v1:{P64}:4", r"^#error KASAN is not supported$"),),
        cells={"v1 default": BASE, "v1 kasan": "preprocess"},
    ),
    "bad-directive": fails(f"v1:{P64}:3", r"^invalid preprocessing directive #frobnicate$"),
    "bad-if": fails(f"v1:{P64}:3", r"^cannot evaluate #if 1 \+: "),
    # no number: unknown, with the reason shown, and exit 0
    "self-referential": ok(THREAD_SIZE=r"THREAD_SIZE"),
    "mutually-recursive": ok(THREAD_SIZE=r"\b[AB]\b", THREAD_SIZE_ORDER=r"\b[AB]\b"),
    "string-macro": ok(THREAD_SIZE=r"string", THREAD_SIZE_ORDER=r"string"),
    "division-by-zero": ok(THREAD_SIZE=r"division by zero", THREAD_SIZE_ORDER=r"division by zero"),
    "division-by-zero-table": Expect(
        0,
        shows=r"(?m)^v1 +x86_64 +default +\? +\? +4096$(.|\n)*"
        r"^v1 x86_64 default: THREAD_SIZE unknown: division by zero$",
    ),
    "modulo-by-zero": ok(THREAD_SIZE=r"by zero", THREAD_SIZE_ORDER=r"by zero"),
    "shift-by-width": ok(THREAD_SIZE=r"shift count 64 >= width"),
    "shift-beyond-width": ok(THREAD_SIZE=r"shift count 200 >= width"),
    "negative-shift": ok(THREAD_SIZE=r"negative"),
    # bounds
    "include-chain-10000": fails(
        f"v1:{ASM}/deep/d196.h:1",
        r"^#include nested more than 200 deep \(raise it with --limit-include-depth\)$",
    ),
    "include-chain-2000-raised": fails(
        re.compile(rf"v1:{ASM}/deep/d\d+\.h:1"),  # where Python's own stack ran out
        r"^preprocessing nested too deeply for kstack \(lower --limit-include-depth ",
    ),
    "include-cycle": fails(
        f"v1:{ASM}/a.h:1",
        r"^#include nested more than 200 deep \(raise it with --limit-include-depth\)$",
    ),
    "include-self-guarded": ok(),
    "macro-chain-1000": fails(
        "v1",
        r"^macro expansion nested more than 400 deep \(raise it with --limit-expansion-depth\)$",
    ),
    "macro-doubling-40": fails(
        "v1", r"^preprocessing took longer than 1 s \(raise it with --limit-seconds\)$"
    ),
    # escapes: refused, naming the include or the link
    "include-dotdot-etc-passwd": fails(
        f"v1:{P64}:3",
        r"^#include '\.\./\.\./\.\./\.\./etc/passwd'" + not_read("etc/passwd", "arch/etc/passwd"),
    ),
    "include-absolute-etc-passwd": fails(
        f"v1:{P64}:3", r"^#include of absolute path '/etc/passwd' refused$"
    ),
    # (``outside/evil.h`` inside the tree, through arch/x86/include/generated/uapi)
    **both(
        "include-dotdot-outside",
        f"{P64}:3",
        rf"^#include '{UP}outside/evil\.h'" + not_read(r"outside/evil\.h"),
    ),
    "include-angle-dotdot-outside": fails(
        f"v1:{P64}:3",
        rf"^#include 'asm/{UP}outside/evil\.h'"
        + not_read(r"outside/evil\.h", r"arch/outside/evil\.h"),
    ),
    "include-macro-dotdot-outside": fails(
        f"v1:{P64}:4", rf"^#include '{UP}outside/evil\.h'" + not_read(r"outside/evil\.h")
    ),
    "has-include-dotdot-outside": fails(
        f"v1:{P64}:3", rf"^#include '{UP}outside/evil\.h'" + not_read(r"outside/evil\.h")
    ),
    **both(
        "include-absolute-outside",
        f"{P64}:3",
        r"^#include of absolute path '\$TMP/outside/evil\.h' refused$",
    ),
    **both(
        "symlink-absolute-outside",
        f"{PAGE_TYPES}:7",
        rf"^{P64} is a symbolic link to '?\$TMP/outside/evil\.h'?, outside the tree$",
    ),
    **both(
        "symlink-relative-outside",
        f"{PAGE_TYPES}:7",
        rf"^{P64} is a symbolic link to '?(\$TMP/|{UP})outside/evil\.h'?, outside the tree$",
    ),
    **both(
        "symlink-dir-outside",
        "include/linux",
        r"^include/linux is a symbolic link to '?(\$TMP/|\.\./\.\./)outside'?, outside the tree$",
    ),
    "symlink-inside": ok(),
    "symlink-inside-dir": ok(None),
    **both("symlink-loop", f"{PAGE_TYPES}:7", r"^too many symbolic links$"),
}


def test_every_case_has_a_row() -> None:
    assert sorted(ROWS) == sorted(badinput.CASES)


def _check_stderr(stderr: str, expect: Expect) -> None:
    lines = stderr.splitlines()
    assert len(lines) == len(expect.errors), f"one line per failure expected:\n{stderr}"
    for line, (where, message) in zip(lines, expect.errors, strict=True):
        assert line.startswith("kstack: "), line
        rest = line[len("kstack: ") :]
        if isinstance(where, re.Pattern):
            found = where.match(rest)
            assert found and rest[found.end() : found.end() + 2] == ": ", line
            rest = rest[found.end() + 2 :]
        elif where:
            assert rest.startswith(f"{where}: "), f"location should be {where!r}: {line}"
            rest = rest[len(where) + 2 :]
        assert re.search(message, rest), f"{message!r} not in {line!r}"


def _check_cells(stdout: str, expect: Expect) -> None:
    document = json.loads(stdout)
    cells = {f"{r['rev'] or '(dir)'} {r['config']}": r for r in document["results"]}
    assert sorted(cells) == sorted(expect.cells)
    for key, result in cells.items():
        wanted = expect.cells[key]
        if isinstance(wanted, str):
            assert result["error"] is not None and result["error"]["kind"] == wanted, result
            assert result["error"]["rev"] == result["rev"], result["error"]
            assert not result["constants"]
            continue
        assert result["error"] is None, result["error"]
        numbers = {n: c["value"] for n, c in result["constants"].items() if c["value"] is not None}
        # a number only where the row expects exactly that number
        assert numbers == {n: v for n, v in wanted.items() if isinstance(v, int)}, key
        for name, reason in wanted.items():
            if isinstance(reason, str):
                constant = result["constants"][name]
                assert constant["status"] == "unknown", constant
                assert constant["reason"] and re.search(reason, constant["reason"]), constant


def _values(stdout: str) -> list[int]:
    """Every number a JSON report gives."""
    if not stdout.startswith("{"):
        return []
    results = json.loads(stdout)["results"]
    return [c["value"] for r in results for c in r["constants"].values() if c["value"] is not None]


@dataclass
class Outcome:
    run: badinput.Run
    process: subprocess.CompletedProcess[str]
    tmp: Path


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every selected row built and run up front, a few at a time (each is a process)."""
    names = [
        item.callspec.params["name"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    ]
    dirs = {name: tmp_path_factory.mktemp(name) for name in names}

    def one(name: str) -> Outcome | BaseException:
        try:
            run = badinput.build(name, dirs[name])
            env = badinput.kstack_env(dirs[name])
            return Outcome(run, badinput.run_kstack(run.args, run.cwd, env), dirs[name])
        except Exception as err:  # reported by the row, not by the fixture
            return err

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


@pytest.mark.parametrize("name", list(ROWS))
def test_bad_input(name: str, outcomes: dict[str, Outcome | BaseException]) -> None:
    expect = ROWS[name]
    outcome = outcomes[name]
    if isinstance(outcome, BaseException):
        raise outcome
    run, process = outcome.run, outcome.process
    stdout, stderr = process.stdout, process.stderr
    for text in (str(outcome.tmp), os.path.realpath(outcome.tmp)):
        stderr = stderr.replace(text, "$TMP")

    assert process.returncode != 70, f"internal error:\n{stderr}"
    assert "Traceback" not in stdout + stderr
    assert process.returncode == expect.status, stderr
    _check_stderr(stderr, expect)
    if expect.cells:
        _check_cells(stdout, expect)
    elif expect.status == 2:
        assert stdout == "", "a failed single tree prints no table"
    if expect.shows:
        assert re.search(expect.shows, stdout), stdout
    # nothing from outside the tree, and nothing a tag name would have run
    assert OUTSIDE_VALUE not in _values(stdout)
    assert "outside/evil.h" not in stdout
    for marker in run.markers:
        assert not marker.exists(), f"{marker.name} was created: a command ran"
