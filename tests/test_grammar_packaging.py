"""The C expression grammar ships in the wheel and loads from an installed copy.

grammars/ sits at the top of the repo, beside extractor/, and pyproject.toml
maps it to the package extractor.grammars. A source checkout finds the file by
path; an installed wheel must find it as package data. This builds the wheel,
installs it into a fresh venv and evaluates from a directory outside the
repo, the way a user would. It needs PyPI (build isolation, dependencies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Top-level entries that are not part of the package and are large
# (benchmarks) or live (caches, .venv, other builds).
NOT_BUILT = {".git", ".venv", "benchmarks", "tests", "build", "dist", ".hypothesis"}
CACHES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def not_built(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == ROOT
    return {n for n in names if n in CACHES or top and (n in NOT_BUILT or n.endswith(".egg-info"))}


PROBE = """
import pathlib, sys
import extractor.evaluate as evaluate
value = evaluate.evaluate("1<<3", evaluate.LP64).value
print(value, evaluate.grammar_is_packaged(), pathlib.Path(evaluate.__file__).resolve())
"""


def run(*command: str | Path, cwd: Path | None = None) -> str:
    return completed(*command, cwd=cwd).stdout


def completed(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and what building it printed on stderr."""
    # Build from a copy: an in-tree build leaves build/ and *.egg-info behind
    # in a work tree that others are using.
    source = tmp_path_factory.mktemp("source") / "kstack"
    shutil.copytree(ROOT, source, ignore=not_built)
    out = tmp_path_factory.mktemp("wheel")
    command = (sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, source)
    printed = completed(*command).stderr
    (built,) = out.glob("kstack-*.whl")
    return built, printed


@pytest.fixture(scope="module")
def wheel(build: tuple[Path, str]) -> Path:
    return build[0]


@pytest.mark.slow
def test_building_the_wheel_warns_nothing(build: tuple[Path, str]) -> None:
    """The README's first command builds kstack: setuptools' deprecations (a license
    given as a table) and its package-discovery warnings (a directory shipped as
    data that Python could import) would greet every new user."""
    # (a Python warning's category ends in "Warning"; pip's own notes about the
    # machine's index, "WARNING: Location ... is ignored", are not the build's)
    assert "Warning" not in build[1], build[1][-4000:]


@pytest.mark.slow
def test_wheel_carries_the_fixtures(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "extractor/fixtures/history.toml" in names
    eras = {n.split("/")[3] for n in names if n.startswith("extractor/fixtures/eras/")}
    assert len(eras) == len(list((ROOT / "fixtures" / "eras").iterdir())), sorted(eras)


@pytest.mark.slow
def test_wheel_carries_the_grammar(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "extractor/grammars/c_expr.lark" in names
    assert "extractor/evaluate.py" in names


@pytest.mark.slow
def test_installed_wheel_loads_the_grammar_as_package_data(wheel: Path, tmp_path: Path) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    value, packaged, module = run(python, "-c", PROBE, cwd=outside).split()
    assert value == "8"
    assert packaged == "True"
    assert Path(module).is_relative_to(environment.resolve())


def test_source_checkout_falls_back_to_the_grammar_file(tmp_path: Path) -> None:
    """A plain checkout (the package imported from the repo, not installed) still
    finds grammars/c_expr.lark; run in a subprocess so that it holds whether or
    not this test session imports an installed copy."""
    root = Path(__file__).resolve().parent.parent
    probe = (
        # an editable install's finder would map extractor.grammars anyway: drop it
        "import sys; sys.meta_path = [f for f in sys.meta_path "
        "if '__editable__' not in getattr(f, '__module__', '')]; "
        "sys.path.insert(0, sys.argv[1]); "
        "import extractor.evaluate as e; "
        "print(e.evaluate('1 << 3', e.LP64).value, e.grammar_is_packaged(), e.__file__)"
    )
    value, packaged, module = run(sys.executable, "-c", probe, root, cwd=tmp_path).split()
    assert value == "8"
    assert packaged == "False"
    assert Path(module).resolve() == root / "extractor" / "evaluate.py"
