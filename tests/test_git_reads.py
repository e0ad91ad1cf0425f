"""Reading trees straight from git objects gives what a checkout would.

In: a small repository whose tags add, change, remove and link files and
directories, one step at a time. Out: checks that, read through one
``GitObjects`` from tag to tag (so every memo, the read-ahead and the
incremental directory listings are used), each answer equals the answer of a
``DirectoryTree`` over a checkout of the same tag; and that the object
reader reports missing and oversized objects and stays in step after them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import badinput
import pytest

from extractor.errors import EscapeError, ExtractorError, LimitError, SourceError
from extractor.source import DirectoryTree
from extractor.source_git import GitObjects

ASM = "arch/x86/include/asm"


def git(repo: Path, *args: str) -> str:
    return badinput.git(repo, "-c", "user.name=t", "-c", "user.email=t@t", *args)


def write(root: Path, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


def link(root: Path, path: str, target: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    if (root / path).is_symlink() or (root / path).exists():
        (root / path).unlink()
    os.symlink(target, root / path)


def remove(root: Path, path: str) -> None:
    (root / path).unlink()


# each step changes the work tree, is committed and tagged v<n>; the asm
# directory changes at nearly every step, as in real histories
STEPS = [
    ("base", lambda r: [write(r, f"{ASM}/h{i}.h", f"#define H{i} {i}\n") for i in range(40)]
     + [write(r, "include/linux/types.h", "#define T 1\n")]),
    ("change one", lambda r: write(r, f"{ASM}/h3.h", "#define H3 33\n")),
    ("change two, add one", lambda r: [write(r, f"{ASM}/h5.h", "/* */\n"),
                                       write(r, f"{ASM}/h7.h", "x\n"),
                                       write(r, f"{ASM}/new.h", "#define NEW 1\n")]),
    ("remove one", lambda r: remove(r, f"{ASM}/h9.h")),
    ("unchanged asm", lambda r: write(r, "include/linux/types.h", "#define T 2\n")),
    ("a file becomes a directory", lambda r: [remove(r, f"{ASM}/h11.h"),
                                              write(r, f"{ASM}/h11.h/inner.h", "y\n")]),
    ("a link to a file", lambda r: link(r, f"{ASM}/linked.h", "h3.h")),
    ("the link's target changes, not the link",
     lambda r: write(r, f"{ASM}/h3.h", "#define H3 3\n")),
    ("a link to a file in another directory",
     lambda r: link(r, f"{ASM}/types.h", "../../../../include/linux/types.h")),
    ("that file changes", lambda r: write(r, "include/linux/types.h", "#define T 3\n")),
    ("a link to a directory", lambda r: link(r, "include/asm", f"../{ASM}")),
    ("the link goes, a plain file takes its name", lambda r: [remove(r, f"{ASM}/linked.h"),
                                                              write(r, f"{ASM}/linked.h", "z\n")]),
    ("a dangling link", lambda r: link(r, f"{ASM}/dangling.h", "nowhere.h")),
]  # fmt: skip

#: paths asked of every tag: files, directories, links, missing ones
PATHS = [
    f"{ASM}/h3.h",
    f"{ASM}/h9.h",
    f"{ASM}/h11.h",
    f"{ASM}/h11.h/inner.h",
    f"{ASM}/linked.h",
    f"{ASM}/types.h",
    f"{ASM}/dangling.h",
    f"{ASM}/new.h",
    "include/asm/h3.h",
    "include/asm/types.h",
    "include/asm",
    "include/linux/types.h",
    "include/linux/missing.h",
    "include/./linux/../linux/types.h",
    ASM,
    "",
]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The repository, and a directory of checkouts, one per tag."""
    base = tmp_path_factory.mktemp("reads")
    repo = base / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for number, (what, step) in enumerate(STEPS):
        step(repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", what)
        git(repo, "tag", "-a", f"v{number}", "-m", what)  # annotated: tag -> commit -> tree
        checkout = base / "checkouts" / f"v{number}"
        checkout.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", f"v{number}"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive, check=True)
    return repo, base / "checkouts"


def answers(tree, path: str) -> tuple:
    """What every stage may ask of a path, errors included."""

    def ask(question):
        try:
            return question()
        except EscapeError:
            return "escape"
        except ExtractorError as err:
            return type(err).__name__

    return (
        ask(lambda: tree.exists(path)),
        ask(lambda: tree.is_dir(path)),
        ask(lambda: tree.blob_id(path)),
        ask(lambda: tree.read(path)),
        ask(lambda: tree.listdir(path)),
        ask(lambda: dict(tree.file_ids(path))),
        ask(lambda: tree.names_starting(path, "h1")),
        ask(lambda: tree.names_starting(path, "linked")),
    )


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_git_trees_answer_as_checkouts_do(history, order):
    repo, checkouts = history
    tags = [f"v{n}" for n in range(len(STEPS))]
    if order == "backward":
        tags.reverse()
    with GitObjects(repo) as objects:
        for window in range(0, len(tags), 4):  # read ahead as a scan does
            objects.peel([bytes.fromhex(objects.target(t)) for t in tags[window : window + 4]])
            for tag in tags[window : window + 4]:
                tree = objects.resolve(tag)
                tree.warm()
                directory = DirectoryTree(checkouts / tag)
                for path in PATHS:
                    assert answers(tree, path) == answers(directory, path), (tag, path)


def test_a_missing_object_is_reported_and_reading_goes_on(history):
    repo, _ = history
    with GitObjects(repo) as objects:
        tree = objects.resolve("v1")
        with pytest.raises(SourceError, match="is missing from the repository"):
            objects.read_object(b"\x01" * 20, "v1", "x.h")
        assert tree.read(f"{ASM}/h3.h") == b"#define H3 33\n"


def test_an_oversized_object_is_refused_and_reading_goes_on(history):
    repo, _ = history
    with GitObjects(repo) as objects:
        tree = objects.resolve("v1")
        assert tree.blob_id(f"{ASM}/h3.h") and tree.blob_id(f"{ASM}/h5.h")  # trees read
        objects.max_object_bytes = tree.max_file_bytes = 13
        with pytest.raises(LimitError, match="14 bytes, over the 13-byte limit"):
            tree.read(f"{ASM}/h3.h")  # "#define H3 33\n"
        assert tree.read(f"{ASM}/h5.h") == b"#define H5 5\n"  # the reader is still in step
        objects.max_object_bytes = 1 << 20
        tree.max_file_bytes = 1 << 20
        assert tree.read(f"{ASM}/h3.h") == b"#define H3 33\n"


def test_many_objects_read_in_one_go_come_back_in_order(history):
    repo, _ = history
    with GitObjects(repo) as objects:
        tree = objects.resolve("v0")
        blobs = [tree.blob_id(f"{ASM}/h{i}.h") for i in range(40)]
        ids = [bytes.fromhex(b) for b in blobs if b] * 60  # more than one write's worth
        answers = objects._read(ids, "v0", ASM)
        assert len(answers) == len(ids) > objects._batch.PER_WRITE
        assert [a[1] for a in answers[:40]] == [f"#define H{i} {i}\n".encode() for i in range(40)]
        assert answers[40:80] == answers[:40]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("blob", "revision points at a blob, not a commit or tree"),
        ("tree", None),
        ("tag-of-tag", None),
    ],
)
def test_tags_are_peeled_to_their_trees(history, tmp_path, target, message):
    repo, _ = history
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--mirror", str(repo), str(clone))
    tree_id = git(clone, "rev-parse", "v1^{tree}").strip()
    if target == "blob":
        obj = git(clone, "rev-parse", f"v1:{ASM}/h3.h").strip()
        git(clone, "tag", "t", obj)
    elif target == "tree":
        git(clone, "tag", "t", tree_id)
    else:
        git(clone, "tag", "-a", "t", "-m", "again", "v1")
    with GitObjects(clone) as objects:
        objects.peel([bytes.fromhex(objects.target(t)) for t in ("t", "v0", "v1")])
        if message:
            with pytest.raises(SourceError, match=message):
                objects.resolve("t")
        else:
            assert objects.resolve("t").tree_id == tree_id
