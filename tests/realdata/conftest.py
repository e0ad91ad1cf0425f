"""Fixtures for the real-data tier: Debian's kernel headers, fetched once and cached.

Without apt or a network the tier cannot run. Under CI (``$CI`` set) that fails the
run; elsewhere the tests skip, and the run ends with a banner saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from .debian import DebianTierError, ensure
from .linux_source import ensure_source

_skipped: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _not_run(message: str) -> NoReturn:
    """Fail under CI, where the tier must run; elsewhere skip, and say so at the end."""
    if _in_ci():
        pytest.fail(f"{message}\n(CI is set, so this is an error, not a skip)", pytrace=False)
    _skipped.append(message)
    pytest.skip(f"REAL-DATA TIER NOT RUN: {message}")


@pytest.fixture(scope="session")
def debian_repo() -> tuple[Path, dict[str, Path]]:
    """(bare repo with one ``v<version>`` tag per Debian headers tree, {tag: tree})."""
    try:
        return ensure()
    except DebianTierError as err:
        _not_run(f"real-data tier: Debian kernel headers unavailable: {err}")


def _source(series: str) -> Path:
    try:
        return ensure_source(series)
    except DebianTierError as err:
        _not_run(f"real-data tier: Debian linux-source-{series} unavailable: {err}")


@pytest.fixture(scope="session")
def linux_source_6_1() -> Path:
    """The unpacked Debian ``linux-source-6.1`` tree (Kconfig, Makefiles, kernel/fork.c)."""
    return _source("6.1")


@pytest.fixture(scope="session")
def linux_source_6_12() -> Path:
    """The unpacked Debian ``linux-source-6.12`` tree (Kconfig, Makefiles, kernel/fork.c)."""
    return _source("6.12")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.section("real-data tier NOT RUN", sep="!", yellow=True, bold=True)
        terminalreporter.line(_skipped[0], yellow=True)
        terminalreporter.line("warm the cache with: python -m tests.realdata.debian", yellow=True)
