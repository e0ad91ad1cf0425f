"""Build the demo kernel history as a git repository.

In: the fixture manifest (``fixtures/history.toml``) and the model kernel trees
under ``fixtures/eras/``.  Out: a tagged git repository, the same bytes every
time.

The history is written by ``git fast-import`` from a stream made here: fixed
dates, a fixed identity, sorted paths, and a git process that sees none of the
user's configuration, so two builds anywhere give the same commit ids.  Like
Linux's own ``v2.6.11``, a tag may point straight at a tree instead of a
commit; fast-import cannot write that, so ``git mktag`` does.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from extractor.errors import Location, SourceError

__all__ = [
    "build_demo_repo",
    "content_hash",
    "demo_repo_path",
    "fast_import_stream",
    "fixtures_root",
]

#: part of the content hash: bump it when the stream layout changes, so that
#: repositories cached by an older kstack are rebuilt
STREAM_FORMAT = "kstack demo stream 1"
MANIFEST = "history.toml"
ERAS = "eras"
#: a file in the repository's git directory holding the content hash
MARKER = "kstack-demo"
BRANCH = "refs/heads/main"

_MANIFEST_AT = Location(path=f"fixtures/{MANIFEST}")
_TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SAFE_PATH = re.compile(r"[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*")
_EDIT_ACTIONS = ("replace", "append", "content", "from_snapshot", "delete")

# Settings that could change what git writes or make it ask for input.  The
# environment below already hides the user's files; these pin the rest.
_GIT_CONFIG = (
    "-c", "core.autocrlf=false",
    "-c", "core.safecrlf=false",
    "-c", "gc.auto=0",
    "-c", "init.defaultBranch=main",
    "-c", "i18n.commitEncoding=UTF-8",
)  # fmt: skip


@dataclass(frozen=True)
class DemoCommit:
    """One commit of the demo history, fully resolved."""

    tree: dict[str, bytes]
    message: str
    when: str  # "<seconds> <+hhmm>", git's raw date format
    tags: tuple[str, ...]
    tree_tags: tuple[str, ...]


@dataclass(frozen=True)
class DemoHistory:
    identity: str  # "Name <email>"
    commits: tuple[DemoCommit, ...]


def fixtures_root() -> Path:
    """The fixtures directory: packaged in a wheel, at the top of a checkout."""
    candidates = []
    try:
        packaged = resources.files("extractor.fixtures")
    except (ModuleNotFoundError, TypeError):
        packaged = None
    if isinstance(packaged, Path):
        candidates.append(packaged)
    candidates.append(Path(__file__).resolve().parent.parent / "fixtures")
    for root in candidates:
        if (root / MANIFEST).is_file():
            return root
    raise SourceError("the demo fixtures are missing (no fixtures/history.toml)", _MANIFEST_AT)


def _fixture_files(root: Path) -> list[tuple[str, Path]]:
    files = [(MANIFEST, root / MANIFEST)]
    for path in (root / ERAS).rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            files.append((path.relative_to(root).as_posix(), path))
    return sorted(files)


def content_hash(root: Path | None = None) -> str:
    """A sha256 over the manifest, every era file and the stream format."""
    root = root or fixtures_root()
    digest = hashlib.sha256(STREAM_FORMAT.encode() + b"\0")
    for rel, path in _fixture_files(root):
        data = path.read_bytes()
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def demo_repo_path() -> Path:
    """Where the demo repository is cached: ``$XDG_CACHE_HOME/kstack/demo-<hash>``."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return base / "kstack" / f"demo-{content_hash()[:16]}"


# --------------------------------------------------------------------------
# the manifest


def _fail(message: str) -> SourceError:
    return SourceError(message, _MANIFEST_AT)


def _read_snapshot(root: Path, name: str) -> dict[str, bytes]:
    era = root / ERAS / name
    if not name or "/" in name or not era.is_dir():
        raise _fail(f"snapshot {name!r} is not a directory under fixtures/{ERAS}/")
    tree = {}
    for path in era.rglob("*"):
        if path.is_symlink() or not path.is_file() or "__pycache__" in path.parts:
            continue
        tree[path.relative_to(era).as_posix()] = path.read_bytes()
    if not tree:
        raise _fail(f"snapshot {name!r} is empty")
    return tree


def _apply_edit(root: Path, tree: dict[str, bytes], edit: dict, where: str) -> None:
    path = edit.get("path")
    if not isinstance(path, str) or not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        raise _fail(f"{where}: edit needs a plain relative path, got {path!r}")
    unknown = set(edit) - {"path", *_EDIT_ACTIONS}
    actions = [key for key in _EDIT_ACTIONS if key in edit]
    if unknown or len(actions) != 1:
        raise _fail(f"{where}: edit of {path} needs exactly one of {', '.join(_EDIT_ACTIONS)}")
    action, value = actions[0], edit[actions[0]]
    if action == "content":
        tree[path] = str(value).encode()
        return
    if action == "from_snapshot":
        source = _read_snapshot(root, str(value))
        if path not in source:
            raise _fail(f"{where}: snapshot {value!r} has no {path}")
        tree[path] = source[path]
        return
    if path not in tree:
        raise _fail(f"{where}: {action} of {path}, which is not in the tree")
    if action == "delete":
        del tree[path]
    elif action == "append":
        tree[path] += str(value).encode()
    else:
        pair = isinstance(value, list) and len(value) == 2
        if not pair or not all(isinstance(v, str) for v in value):
            raise _fail(f"{where}: replace in {path} wants [old, new]")
        old, new = (v.encode() for v in value)
        if old not in tree[path]:
            raise _fail(f"{where}: {path} does not contain {value[0]!r}")
        tree[path] = tree[path].replace(old, new)


def _raw_date(value: object, where: str) -> tuple[int, str]:
    delta = value.utcoffset() if isinstance(value, datetime) else None
    if not isinstance(value, datetime) or delta is None:
        raise _fail(f"{where}: date needs an offset, like 2014-06-08T12:00:00Z")
    offset = int(delta.total_seconds()) // 60
    sign = "-" if offset < 0 else "+"
    seconds = int(value.timestamp())
    return seconds, f"{seconds} {sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"


def _tag_names(entry: dict, key: str, where: str) -> tuple[str, ...]:
    names = entry.get(key, [])
    if not isinstance(names, list) or not all(
        isinstance(n, str) and _TAG_NAME.fullmatch(n) for n in names
    ):
        raise _fail(f"{where}: {key} must be a list of tag names")
    return tuple(names)


def load_history(root: Path | None = None) -> DemoHistory:
    """Read the manifest and resolve every commit's tree."""
    root = root or fixtures_root()
    try:
        manifest = tomllib.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise _fail(f"cannot read the manifest: {err}") from err
    ident = manifest.get("identity", {})
    if not all(isinstance(ident.get(k), str) and ident.get(k) for k in ("name", "email")):
        raise _fail("[identity] needs name and email")
    entries = manifest.get("commit", [])
    if not entries:
        raise _fail("the manifest has no [[commit]]")

    commits, tree, last, seen_tags = [], None, None, set()
    for number, entry in enumerate(entries, 1):
        message = entry.get("message")
        where = f"commit {number} ({str(message).splitlines()[0] if message else '?'})"
        if not isinstance(message, str) or not message.strip():
            raise _fail(f"{where}: a commit needs a message")
        if "snapshot" in entry:
            tree = _read_snapshot(root, str(entry["snapshot"]))
        elif tree is None:
            raise _fail(f"{where}: the first commit needs a snapshot")
        else:
            tree = dict(tree)
        for edit in entry.get("edit", []):
            _apply_edit(root, tree, edit, where)
        seconds, when = _raw_date(entry.get("date"), where)
        if last is not None and seconds <= last:
            raise _fail(f"{where}: dates must increase from commit to commit")
        last = seconds
        tags, tree_tags = _tag_names(entry, "tags", where), _tag_names(entry, "tree_tags", where)
        for name in tags + tree_tags:
            if name in seen_tags:
                raise _fail(f"{where}: tag {name} is given twice")
            seen_tags.add(name)
        text = message.strip("\n") + "\n"
        commits.append(DemoCommit(dict(tree), text, when, tags, tree_tags))
    return DemoHistory(f"{ident['name']} <{ident['email']}>", tuple(commits))


# --------------------------------------------------------------------------
# the fast-import stream


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _tag_message(name: str) -> bytes:
    return f"Linux {name.removeprefix('v')}\n".encode()


def _stream(history: DemoHistory) -> bytes:
    out = bytearray()
    for mark, commit in enumerate(history.commits, 1):
        who = f"{history.identity} {commit.when}"
        out += f"commit {BRANCH}\nmark :{mark}\nauthor {who}\ncommitter {who}\n".encode()
        out += _data(commit.message.encode())
        if mark > 1:
            out += f"from :{mark - 1}\n".encode()
        out += b"deleteall\n"
        for path in sorted(commit.tree):
            out += f"M 100644 inline {path}\n".encode() + _data(commit.tree[path])
        out += b"\n"
    for mark, commit in enumerate(history.commits, 1):
        for name in commit.tags:
            who = f"{history.identity} {commit.when}"
            out += f"tag {name}\nfrom :{mark}\ntagger {who}\n".encode()
            out += _data(_tag_message(name))
    out += b"done\n"
    return bytes(out)


def fast_import_stream(root: Path | None = None) -> bytes:
    """The ``git fast-import`` input for the whole demo history (no tree tags)."""
    return _stream(load_history(root))


# --------------------------------------------------------------------------
# running git


def git_env(home: Path) -> dict[str, str]:
    """An environment in which git sees none of the user's or the system's settings."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "LANG": "C",
        "TZ": "UTC",
    }


def _git(args: list[str], home: Path, git_dir: Path | None = None, stdin: bytes = b"") -> str:
    command = ["git", *_GIT_CONFIG]
    if git_dir is not None:
        command.append(f"--git-dir={git_dir}")
    command += args
    env = git_env(home)
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, env=env, check=False)
    except OSError as err:
        raise SourceError(f"cannot run git: {err}") from err
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
        raise SourceError(f"git {args[0]} failed while building the demo repository: {detail}")
    return result.stdout.decode()


def _marker_matches(dest: Path, digest: str) -> bool:
    try:
        return (dest / MARKER).read_text().strip() == digest
    except OSError:
        return False


def _write_repo(history: DemoHistory, repo: Path, home: Path, marks: Path) -> None:
    _git(["init", "--bare", "--quiet", str(repo)], home)
    _git(
        ["fast-import", "--quiet", "--done", "--date-format=raw", f"--export-marks={marks}"],
        home,
        repo,
        _stream(history),
    )
    commit_ids = dict(line.split() for line in marks.read_text().splitlines())
    for mark, commit in enumerate(history.commits, 1):
        for name in commit.tree_tags:
            tree = _git(["rev-parse", "--verify", f"{commit_ids[f':{mark}']}^{{tree}}"], home, repo)
            tag = (
                f"object {tree.strip()}\ntype tree\ntag {name}\n"
                f"tagger {history.identity} {commit.when}\n\n"
            ).encode() + _tag_message(name)
            tag_id = _git(["mktag"], home, repo, tag).strip()
            _git(["update-ref", f"refs/tags/{name}", tag_id, ""], home, repo)
    _git(["symbolic-ref", "HEAD", BRANCH], home, repo)


def build_demo_repo(dest: Path) -> Path:
    """Build the demo repository (bare) at ``dest``, or reuse it if current.

    A repository built from the same fixtures is kept as it is; one from older
    fixtures is replaced.  Any other non-empty ``dest`` is left alone and is an
    error.
    """
    root = fixtures_root()
    digest = content_hash(root)
    dest = Path(dest)
    if _marker_matches(dest, digest):
        return dest
    if dest.exists() or dest.is_symlink():
        if (dest / MARKER).is_file() and not dest.is_symlink():
            shutil.rmtree(dest)  # ours, from other fixtures
        elif dest.is_dir() and not dest.is_symlink() and not any(dest.iterdir()):
            dest.rmdir()
        else:
            raise SourceError(
                "exists and is not a kstack demo repository; remove it or pick another path",
                Location(path=str(dest)),
            )
    history = load_history(root)  # a bad manifest fails before git runs
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.", dir=dest.parent) as scratch:
        work = Path(scratch)
        (work / "home").mkdir()
        repo = work / "repo.git"
        _write_repo(history, repo, work / "home", work / "marks")
        (repo / MARKER).write_text(digest + "\n")
        try:
            repo.rename(dest)
        except OSError as err:
            if not _marker_matches(dest, digest):  # not another build winning a race
                raise SourceError(f"cannot move the demo repository into place: {err}") from err
    return dest
