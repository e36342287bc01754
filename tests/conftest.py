"""Shared fixtures: keep this small and generic."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _pyenv_pythons() -> list[str]:
    """Installed pyenv CPython versions >= 3.11, oldest first (empty without pyenv)."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not versions.is_dir():
        return []
    found = [p.name for p in versions.iterdir() if re.fullmatch(r"3\.\d+\.\d+", p.name)]
    found = [v for v in found if tuple(map(int, v.split("."))) >= (3, 11)]
    return sorted(found, key=lambda v: tuple(map(int, v.split("."))))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The svcforge checkout (template + CLI) under test."""
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make tests independent of the machine's git/uv/template settings.

    Commits need an identity on fresh machines; uv must never download an
    interpreter and must see every pyenv version (uv finds pyenv's shims, which
    fail for versions pyenv does not expose); a developer's SVCFORGE_TEMPLATE
    must not redirect the tests.
    """
    for var in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{var}_NAME", "svcforge tests")
        monkeypatch.setenv(f"{var}_EMAIL", "tests@example.com")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    # pyenv's shim exports PYENV_VERSION=<one version> into python itself: extend it.
    current = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    wanted = current + [v for v in _pyenv_pythons() if v not in current]
    if wanted:
        monkeypatch.setenv("PYENV_VERSION", ":".join(wanted))
    monkeypatch.delenv("SVCFORGE_TEMPLATE", raising=False)
    monkeypatch.delenv("SVCFORGE_TEMPLATE_REF", raising=False)
    # Keep Rich output plain so messages can be matched as text.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
