"""The demo repository: built from fixtures/, the same ids every time.

In: ``extractor.demo.build_demo_repo`` run into temporary directories.  Out:
checks on the tags, the tree tag, the Makefile versions and the commits that
a history tool is meant to find.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from extractor import demo
from extractor.errors import SourceError

TAGS = [
    "v2.6.11",
    "v2.6.20",
    "v2.6.25",
    "v3.2",
    "v3.14",
    "v3.15-rc1",
    "v3.15",
    "v4.4",
    "v4.10",
    "v4.20",
    "v5.0",
    "v5.15",
    "v6.12",
]
PAGE_64_TYPES = "arch/x86/include/asm/page_64_types.h"


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
    }
    result = subprocess.run(
        ["git", f"--git-dir={repo}", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout.strip()


def tag_targets(repo: Path) -> dict[str, tuple[str, str]]:
    """tag -> (tag object id, id of what it peels to)."""
    out = git(
        repo, "for-each-ref", "--format=%(refname:short) %(objectname) %(*objectname)", "refs/tags"
    )
    return {
        name: (obj, peeled) for name, obj, peeled in (line.split() for line in out.splitlines())
    }


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return demo.build_demo_repo(tmp_path_factory.mktemp("demo") / "linux.git")


def test_two_builds_give_the_same_ids(repo: Path, tmp_path: Path, monkeypatch) -> None:
    # a hostile user configuration must not leak into the build
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Someone Else\n\temail = else@example.com\n"
        "[init]\n\tdefaultBranch = trunk\n[core]\n\tautocrlf = true\n"
        "[tag]\n\tgpgSign = true\n[commit]\n\tgpgSign = true\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_AUTHOR_DATE", "1234567890 +0100")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Intruder")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    again = demo.build_demo_repo(tmp_path / "again.git")
    assert tag_targets(again) == tag_targets(repo)
    assert git(again, "rev-parse", "main") == git(repo, "rev-parse", "main")


def test_the_stream_is_stable() -> None:
    assert demo.fast_import_stream() == demo.fast_import_stream()


def test_every_tag_exists(repo: Path) -> None:
    assert sorted(tag_targets(repo)) == sorted(TAGS)


def test_tags_are_annotated(repo: Path) -> None:
    for tag in TAGS:
        assert git(repo, "cat-file", "-t", tag) == "tag", tag


def test_v2_6_11_points_at_a_tree(repo: Path) -> None:
    assert git(repo, "cat-file", "-t", "v2.6.11^{}") == "tree"
    body = git(repo, "cat-file", "-p", "v2.6.11")
    assert body.splitlines()[1] == "type tree"
    # it is the tree of the first commit, as v2.6.12-rc2 started from v2.6.11 in Linux
    first = git(repo, "rev-list", "--max-parents=0", "main")
    assert git(repo, "rev-parse", f"{first}^{{tree}}") == git(repo, "rev-parse", "v2.6.11^{}")


@pytest.mark.parametrize("tag", [t for t in TAGS if t != "v2.6.11"])
def test_other_tags_point_at_commits(repo: Path, tag: str) -> None:
    assert git(repo, "cat-file", "-t", f"{tag}^{{}}") == "commit"


def makefile_version(text: str) -> str:
    fields = dict(
        re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION) =[ \t]*(\S*)", text, re.M)
    )
    version = f"v{fields['VERSION']}.{fields['PATCHLEVEL']}"
    if fields["SUBLEVEL"] not in ("", "0"):
        version += f".{fields['SUBLEVEL']}"
    return version + fields["EXTRAVERSION"]


@pytest.mark.parametrize("tag", TAGS)
def test_makefile_version_matches_the_tag(repo: Path, tag: str) -> None:
    assert makefile_version(git(repo, "show", f"{tag}:Makefile")) == tag


def test_rc_tag_sits_between_its_releases(repo: Path) -> None:
    git(repo, "merge-base", "--is-ancestor", "v3.14", "v3.15-rc1")
    git(repo, "merge-base", "--is-ancestor", "v3.15-rc1", "v3.15")
    assert git(repo, "rev-parse", "v3.15-rc1^{}") != git(repo, "rev-parse", "v3.15^{}")


def test_history_is_linear_with_increasing_dates(repo: Path) -> None:
    assert git(repo, "rev-list", "--merges", "main") == ""
    dates = [int(d) for d in git(repo, "log", "--format=%ct", "main").split()]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"


def changed_files(repo: Path, old: str, new: str) -> list[str]:
    return git(repo, "diff", "--name-only", old, new).split()


@pytest.mark.parametrize("tag", ["v3.15", "v5.0", "v6.12"])
def test_release_after_a_chain_only_bumps_the_version(repo: Path, tag: str) -> None:
    assert changed_files(repo, f"{tag}^", tag) == ["Makefile"]


@pytest.mark.parametrize(
    ("older", "newer", "subject", "old_text", "new_text"),
    [
        ("v3.14", "v3.15", "x86_64: expand the kernel stack to 16 KiB",
         "#define THREAD_SIZE_ORDER\t1", "#define THREAD_SIZE_ORDER\t2"),
        ("v3.15", "v4.4", "x86_64, kasan: double the kernel stacks under KASAN",
         "#define THREAD_SIZE_ORDER\t2", "(2 + KASAN_STACK_ORDER)"),
        ("v4.20", "v5.0", "x86_64, kasan: quadruple the stacks under KASAN_EXTRA",
         "#define KASAN_STACK_ORDER\t1", "CONFIG_KASAN_EXTRA"),
    ],
)  # fmt: skip
def test_one_commit_changes_the_value(repo, older, newer, subject, old_text, new_text) -> None:
    """Exactly one commit in the range touches the line: the one a bisect must find."""
    commits = git(repo, "rev-list", "--reverse", f"{older}..{newer}").split()
    has_new = [new_text in git(repo, "show", f"{c}:{PAGE_64_TYPES}") for c in commits]
    first = has_new.index(True)
    assert all(has_new[first:])
    assert git(repo, "log", "-1", "--format=%s", commits[first]) == subject
    before = git(repo, "show", f"{commits[first]}^:{PAGE_64_TYPES}")
    assert old_text in before and new_text not in before


def test_an_existing_build_is_reused(repo: Path) -> None:
    marker = repo / demo.MARKER
    before = marker.stat().st_mtime_ns
    assert demo.build_demo_repo(repo) == repo
    assert marker.stat().st_mtime_ns == before


def test_a_stale_build_is_replaced(tmp_path: Path) -> None:
    dest = demo.build_demo_repo(tmp_path / "stale.git")
    (dest / demo.MARKER).write_text("0" * 64 + "\n")
    demo.build_demo_repo(dest)
    assert (dest / demo.MARKER).read_text().strip() == demo.content_hash()


def test_a_foreign_directory_is_left_alone(tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(SourceError, match="not a kstack demo repository"):
        demo.build_demo_repo(dest)
    assert (dest / "notes.txt").read_text() == "keep me"


def test_cache_path_follows_xdg(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = demo.demo_repo_path()
    assert path.parent == tmp_path / "kstack"
    assert path.name == f"demo-{demo.content_hash()[:16]}"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo.demo_repo_path().parent == tmp_path / "home" / ".cache" / "kstack"


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        ('path = "Makefile"\nreplace = ["no such text", "x"]', "does not contain"),
        ('path = "Makefile"\nappend = "a"\ndelete = true', "exactly one of"),
        ('path = "../escape"\ncontent = "x"', "plain relative path"),
        ('path = "missing.h"\nappend = "x"', "not in the tree"),
    ],
)
def test_bad_manifest_edits_are_source_errors(tmp_path: Path, edit: str, complaint: str) -> None:
    root = tmp_path / "fixtures"
    (root / "eras" / "e").mkdir(parents=True)
    (root / "eras" / "e" / "Makefile").write_text("VERSION = 1\n")
    (root / "history.toml").write_text(
        '[identity]\nname = "A"\nemail = "a@b.invalid"\n'
        '[[commit]]\nsnapshot = "e"\ndate = 2020-01-01T00:00:00Z\nmessage = "m"\n'
        f"[[commit.edit]]\n{edit}\n"
    )
    with pytest.raises(SourceError, match=complaint) as info:
        demo.load_history(root)
    assert "history.toml" in str(info.value)


def test_dates_must_increase(tmp_path: Path) -> None:
    root = tmp_path / "fixtures"
    (root / "eras" / "e").mkdir(parents=True)
    (root / "eras" / "e" / "Makefile").write_text("VERSION = 1\n")
    commit = '[[commit]]\nsnapshot = "e"\ndate = 2020-01-01T00:00:00Z\nmessage = "m"\n'
    (root / "history.toml").write_text(
        '[identity]\nname = "A"\nemail = "a@b.invalid"\n' + commit + commit
    )
    with pytest.raises(SourceError, match="dates must increase"):
        demo.load_history(root)
