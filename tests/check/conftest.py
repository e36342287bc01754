"""Projects for the ``svcforge check`` tests: rendered from this checkout, never installed.

Static checks need no virtualenv, so these are renders plus `uv lock` (about 3 s each), shared
by every test of the session in one xdist worker at a time (each worker renders its own).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.generated.support import render
from tests.matrix import template_matrix

#: The combinations every check test sees: the first three of the covering set are the
#: defaults, everything on and everything off.
_CHECKED = template_matrix().covering_set()[:3]


@pytest.fixture(scope="session")
def rendered_projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``defaults``, ``everything on`` and ``everything off``, rendered once per worker."""
    projects = {}
    for combination in _CHECKED:
        dest = tmp_path_factory.mktemp(combination.why.replace(" ", "-")) / "example-service"
        render(dest, dict(combination.data))
        # As `svcforge new` leaves it: locked (a plain render has no uv.lock).
        subprocess.run(["uv", "lock", "--quiet"], cwd=dest, check=True, timeout=300)
        projects[combination.why] = dest
    return projects


@pytest.fixture
def service_copy(rendered_projects: dict[str, Path], tmp_path: Path) -> Path:
    """A private copy of the default project, for a test that breaks one standard in it."""
    copy = tmp_path / "example-service"
    shutil.copytree(rendered_projects["defaults"], copy, symlinks=True)
    return copy
