"""Real kernel headers for the real-data tier, from Debian's archive, cached.

In: the kernel series to cover (``("6.1", "6.12")``) and how many builds of each.
Out: a bare git repository with one commit and one ``v<version>`` tag per
``linux-headers-<abi>-common`` package, plus the unpacked trees those tags came from.

Nothing here is committed to kstack: packages are found with ``apt-cache search`` (old
builds drop out of the index, so names are never hard-coded), fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` into a cache outside the checkout:
``$KSTACK_DEBIAN_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/kstack/debian``.

``python -m tests.realdata.debian`` warms the cache and prints the repository and tags.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

DEFAULT_SERIES = ("6.1", "6.12")
DEFAULT_PER_SERIES = 2

# Only the arch-independent "-common" packages hold every arch's headers; the "-rt"
# flavours end in "-common-rt" and are left out by the anchor.
PACKAGE_PATTERN = r"^linux-headers-.*-common$"
MANIFEST_NAME = "kstack-manifest.json"
MANIFEST_FORMAT = 1

# Fixed identity and dates, so that the same trees always give the same commit ids.
_COMMIT_EPOCH = 1_600_000_000
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "kstack realdata",
    "GIT_AUTHOR_EMAIL": "realdata@kstack.invalid",
    "GIT_COMMITTER_NAME": "kstack realdata",
    "GIT_COMMITTER_EMAIL": "realdata@kstack.invalid",
}
# Settings that would change what `git add` records; pinned so the user's config
# (global or system, both also switched off through the environment) cannot matter.
_GIT_CONFIG = (
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.eol=lf",
    "core.symlinks=true",
    "core.filemode=true",
    "core.ignorecase=false",
    "core.precomposeunicode=false",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "core.hooksPath=" + os.devnull,
    "core.excludesFile=" + os.devnull,
    "gc.auto=0",
    "init.defaultBranch=main",
)


class DebianTierError(RuntimeError):
    """The Debian headers could not be found, fetched, unpacked or put in git."""


def cache_dir() -> Path:
    """The cache root: ``$KSTACK_DEBIAN_CACHE`` or ``$XDG_CACHE_HOME/kstack/debian``."""
    explicit = os.environ.get("KSTACK_DEBIAN_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(xdg).expanduser() / "kstack" / "debian"


def _run(
    argv: Sequence[str], cwd: Path | str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool, turning a missing binary or a failure into a DebianTierError."""
    try:
        proc = subprocess.run(
            list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as err:
        raise DebianTierError(
            f"{argv[0]} is not installed; the real-data tier needs a Debian-like system "
            "with apt-get and dpkg-deb"
        ) from err
    if proc.returncode != 0:
        raise DebianTierError(
            f"`{' '.join(argv)}` failed with status {proc.returncode}:\n"
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc


def _version_key(version: str) -> tuple[int, ...]:
    """Numeric order for version-ish strings: ``6.1.192`` < ``6.12.5``, ``0-9`` < ``0-56``."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _upstream(debian_version: str) -> str:
    """``1:6.12.115-2~deb12u1`` -> ``6.12.115``: drop the epoch and the Debian revision."""
    version = debian_version.split(":", 1)[-1]
    return version.rsplit("-", 1)[0] if "-" in version else version


def _search() -> list[tuple[str, str]]:
    """(package, upstream version) for every headers-common package apt knows."""
    out = _run(["apt-cache", "search", "--names-only", "--full", PACKAGE_PATTERN]).stdout
    found: list[tuple[str, str]] = []
    for record in out.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in record.splitlines() if ": " in line and line[0] != " "
        )
        if "Package" in fields and "Version" in fields:
            found.append((fields["Package"], _upstream(fields["Version"])))
    return found


def _apt_update() -> None:
    if os.geteuid() != 0:
        raise DebianTierError(
            "apt knows no linux-headers-*-common package and `apt-get update` needs root; "
            "run it once, or set KSTACK_DEBIAN_CACHE to a warmed cache"
        )
    _run(["apt-get", "update", "-q"])


def discover(
    series: Sequence[str] = DEFAULT_SERIES, per_series: int = DEFAULT_PER_SERIES
) -> list[str]:
    """The newest ``per_series`` headers-common packages of each series, newest first.

    Builds are ordered by upstream version, then by the Debian ABI number in the name.
    Two ABIs can carry the same upstream version (6.1.0-55 and -56 are both 6.1.192);
    only the newer is kept, since each becomes a ``v<version>`` tag.
    """
    packages = _search()
    if not packages or not all(any(v.startswith(s + ".") for _, v in packages) for s in series):
        _apt_update()
        packages = _search()
    chosen: list[str] = []
    for wanted in series:
        in_series = [(n, v) for n, v in packages if v.startswith(wanted + ".")]
        in_series.sort(key=lambda nv: (_version_key(nv[1]), _version_key(nv[0])), reverse=True)
        seen: set[str] = set()
        picked = []
        for name, version in in_series:
            if version not in seen:
                seen.add(version)
                picked.append(name)
        if len(picked) < per_series:
            raise DebianTierError(
                f"apt offers {len(picked)} linux-headers-*-common build(s) of {wanted} "
                f"({', '.join(picked) or 'none'}), {per_series} wanted"
            )
        chosen.extend(picked[:per_series])
    return chosen


def _deb_for(name: str, cache: Path) -> Path | None:
    """The cached ``<name>_<version>_<arch>.deb``, if any (package names hold no glob
    metacharacters: Debian allows only ``[a-z0-9+.-]``)."""
    debs = sorted(cache.glob(f"{name}_*.deb"))
    return debs[-1] if debs else None


def _tree_root(unpacked: Path) -> Path:
    roots = sorted((unpacked / "usr" / "src").glob("linux-headers-*-common"))
    if len(roots) != 1:
        raise DebianTierError(f"{unpacked}: expected one usr/src/linux-headers-*-common")
    return roots[0]


def fetch(names: Sequence[str], cache: Path | None = None) -> list[Path]:
    """Download (unless cached) and unpack each package; return the header tree roots."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if _deb_for(n, cache) is None]
    if missing:
        # Download into a scratch dir that apt may write to, then move: a .deb in the
        # cache is always complete.
        with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as scratch:
            os.chmod(scratch, 0o755)
            argv = ["apt-get", "download", "-q"]
            if os.geteuid() == 0:
                # As root apt drops to the `_apt` user, which cannot write here.
                argv += ["-o", "APT::Sandbox::User=root"]
            _run([*argv, *missing], cwd=scratch)
            for downloaded in Path(scratch).glob("*.deb"):
                downloaded.rename(cache / downloaded.name)
    roots = []
    for name in names:
        deb = _deb_for(name, cache)
        if deb is None:
            raise DebianTierError(f"apt-get download left no {name}_*.deb in {cache}")
        target = cache / "unpacked" / name
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{name}-"))
            try:
                _run(["dpkg-deb", "-x", str(deb), str(partial)])
                partial.rename(target)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
        roots.append(_tree_root(target))
    return roots


def kernel_version(tree: Path) -> str:
    """The upstream version the tree's Makefile declares, e.g. ``6.1.192``."""
    fields: dict[str, str] = {}
    for line in (tree / "Makefile").read_text(errors="replace").splitlines()[:20]:
        m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)", line)
        if m:
            fields.setdefault(m.group(1), m.group(2))
    if not {"VERSION", "PATCHLEVEL"} <= fields.keys():
        raise DebianTierError(f"{tree}/Makefile: no VERSION/PATCHLEVEL lines")
    version = f"{fields['VERSION']}.{fields['PATCHLEVEL']}"
    if fields.get("SUBLEVEL"):
        version += f".{fields['SUBLEVEL']}"
    return version + fields.get("EXTRAVERSION", "")


def _git(repo: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    argv = ["git", f"--git-dir={repo}"]
    for setting in _GIT_CONFIG:
        argv += ["-c", setting]
    return _run([*argv, *args], env=_git_env() | (env or {}), cwd=cwd).stdout.strip()


def _git_env() -> dict[str, str]:
    """The caller's environment minus any GIT_* steering, plus a fixed identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return env | {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **_GIT_IDENTITY}


def _manifest(tags: dict[str, Path]) -> dict[str, object]:
    return {"format": MANIFEST_FORMAT, "tags": {t: str(p) for t, p in tags.items()}}


def _read_manifest(repo_dir: Path) -> dict[str, Path] | None:
    try:
        data = json.loads((repo_dir / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    if data.get("format") != MANIFEST_FORMAT:
        return None
    return {t: Path(p) for t, p in data["tags"].items()}


def build_repo(trees: Sequence[Path], repo_dir: Path) -> dict[str, Path]:
    """A bare repo at ``repo_dir``: one commit per tree in version order, tag ``v<version>``.

    Rebuilt only when the set of trees differs from the manifest stored inside it. The
    branch ``main`` points at the newest tree. Returns {tag: tree} oldest first.
    """
    by_version = sorted(
        ((kernel_version(t), Path(t)) for t in trees), key=lambda vt: _version_key(vt[0])
    )
    tags = {f"v{v}": t for v, t in by_version}
    if len(tags) != len(by_version):
        versions = [v for v, _ in by_version]
        raise DebianTierError(f"two trees declare the same kernel version: {versions}")
    if _read_manifest(repo_dir) == tags:
        return tags
    repo_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=repo_dir.parent, prefix=f".{repo_dir.name}-"))
    try:
        repo = scratch / "repo.git"
        _run(["git", "init", "-q", "--bare", "--initial-branch=main", str(repo)], env=_git_env())
        index = scratch / "index"
        parent: str | None = None
        for i, (tag, tree) in enumerate(tags.items()):
            date = f"{_COMMIT_EPOCH + i * 86400} +0000"
            env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(tree)}
            env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
            index.unlink(missing_ok=True)
            # -f: the kernel's .gitignore files must not hide headers from the commit.
            _git(repo, "add", "-A", "-f", env=env, cwd=tree)
            tree_id = _git(repo, "write-tree", env=env)
            argv = ["commit-tree", tree_id, "-m", f"Linux {tag[1:]} ({tree.name})"]
            if parent:
                argv += ["-p", parent]
            parent = _git(repo, *argv, env=env)
            _git(repo, "update-ref", f"refs/tags/{tag}", parent)
        if parent:
            _git(repo, "update-ref", "refs/heads/main", parent)
        (repo / MANIFEST_NAME).write_text(json.dumps(_manifest(tags), indent=1) + "\n")
        if repo_dir.exists():
            shutil.rmtree(repo_dir)
        repo.rename(repo_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tags


@contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """Serialise preparers (pytest-xdist workers, a CI warm-up running alongside)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure(
    series: Sequence[str] = DEFAULT_SERIES,
    per_series: int = DEFAULT_PER_SERIES,
    cache: Path | None = None,
) -> tuple[Path, dict[str, Path]]:
    """Discover, fetch, unpack and commit; everything cached. Returns (repo, {tag: tree}).

    When apt cannot be asked (offline, no apt-cache) but an earlier run left a complete
    repository covering the series, that repository is reused.
    """
    cache = cache or cache_dir()
    repo_dir = cache / "repo.git"
    with _locked(cache):
        try:
            names = discover(series, per_series)
        except DebianTierError:
            previous = _read_manifest(repo_dir)
            if previous and _covers(previous, series, per_series):
                return repo_dir, previous
            raise
        trees = fetch(names, cache)
        return repo_dir, build_repo(trees, repo_dir)


def _covers(tags: dict[str, Path], series: Sequence[str], per_series: int) -> bool:
    if not all(tree.is_dir() for tree in tags.values()):
        return False
    return all(sum(t.startswith(f"v{s}.") for t in tags) >= per_series for s in series)


def main(argv: Sequence[str] = ()) -> int:
    series = tuple(argv) or DEFAULT_SERIES
    start = time.monotonic()
    try:
        repo_dir, tags = ensure(series)
    except DebianTierError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(repo_dir)
    for tag, tree in tags.items():
        print(f"{tag}\t{tree}")
    print(f"ready in {time.monotonic() - start:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
