"""Full Linux source trees for the real-data tier, from Debian's archive, cached.

In: a kernel series (``"6.1"``, ``"6.12"``).
Out: the root of an unpacked ``linux-source-<series>`` tree: every arch's headers, the
Kconfig files, the Makefiles and scripts that ``make alldefconfig`` needs, and
``kernel/fork.c``.

Like the headers tier (``debian.py``), nothing is committed: the package is found with
``apt-cache search`` (``apt-get update`` first when the index lacks it), fetched with
``apt-get download``, unpacked with ``dpkg-deb -x`` and ``tar`` into the same cache
(``$KSTACK_DEBIAN_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/kstack/debian``), under
``source/<package>_<version>/``. A second call reuses the unpacked tree.

``python -m tests.realdata.linux_source 6.12`` warms the cache and prints the root.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from .debian import DebianTierError, _apt_update, _locked, _run, _upstream, cache_dir

SOURCE_SERIES = ("6.1", "6.12")


def _candidate(series: str) -> tuple[str, str] | None:
    """(package, upstream version) of ``linux-source-<series>``, if apt knows it."""
    name = f"linux-source-{series}"
    out = _run(["apt-cache", "search", "--names-only", "--full", f"^{name}$"]).stdout
    for record in out.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in record.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Package") == name and "Version" in fields:
            return name, _upstream(fields["Version"])
    return None


def _previous(cache: Path, series: str) -> Path | None:
    """An earlier run's unpacked tree of the series (used when apt cannot be asked)."""
    found = sorted((cache / "source").glob(f"linux-source-{series}_*/linux-source-{series}"))
    return found[-1] if found else None


def ensure_source(series: str, cache: Path | None = None) -> Path:
    """The unpacked ``linux-source-<series>`` tree root, fetched and unpacked once."""
    cache = cache or cache_dir()
    with _locked(cache):
        try:
            found = _candidate(series)
            if found is None:
                _apt_update()
                found = _candidate(series)
        except DebianTierError:
            previous = _previous(cache, series)
            if previous is not None:
                return previous
            raise
        if found is None:
            raise DebianTierError(f"apt knows no linux-source-{series} package")
        name, version = found
        target = cache / "source" / f"{name}_{version}"
        root = target / name
        if (root / "Makefile").is_file():
            return root
        debs = cache / "source-debs"
        debs.mkdir(parents=True, exist_ok=True)
        deb = next(iter(sorted(debs.glob(f"{name}_{version}*_all.deb"))), None)
        if deb is None:
            with tempfile.TemporaryDirectory(dir=debs, prefix=".download-") as scratch:
                os.chmod(scratch, 0o755)
                argv = ["apt-get", "download", "-q"]
                if os.geteuid() == 0:
                    argv += ["-o", "APT::Sandbox::User=root"]
                _run([*argv, name], cwd=scratch)
                for downloaded in Path(scratch).glob("*.deb"):
                    deb = debs / downloaded.name
                    downloaded.rename(deb)
        if deb is None:
            raise DebianTierError(f"apt-get download left no {name}_*.deb in {debs}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{name}-"))
        try:
            _run(["dpkg-deb", "-x", str(deb), str(partial / "deb")])
            tarballs = sorted((partial / "deb" / "usr" / "src").glob(f"{name}.tar.*"))
            if len(tarballs) != 1:
                raise DebianTierError(f"{deb}: expected one usr/src/{name}.tar.*")
            (partial / "tree").mkdir()
            _run(["tar", "-xf", str(tarballs[0]), "-C", str(partial / "tree")])
            if not (partial / "tree" / name / "Makefile").is_file():
                raise DebianTierError(f"{tarballs[0]}: no {name}/Makefile inside")
            if target.exists():
                shutil.rmtree(target)
            (partial / "tree").rename(target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return root


def main(argv: list[str]) -> int:
    for series in argv or SOURCE_SERIES:
        try:
            print(ensure_source(series))
        except DebianTierError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
