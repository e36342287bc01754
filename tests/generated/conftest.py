"""Generated projects shared by the tests of this folder (one per Python version).

Each project is rendered and installed once per test session; every test of the same
project runs on the same pytest-xdist worker (xdist_group), so the cost is paid once.
"""

from __future__ import annotations

import pytest

from tests.generated.support import GeneratedProject, find_python, render

DEFAULT_VERSION = "3.13"
MIN_VERSION = "3.11"


def _project(tmp_path_factory: pytest.TempPathFactory, python_version: str) -> GeneratedProject:
    dest = tmp_path_factory.mktemp(f"golden-{python_version}") / "example-service"
    render(dest, {"python_version": python_version})
    project = GeneratedProject(dest, python=find_python(python_version), package="example_service")
    project.sync()
    return project


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    """The project generated with every default answer, installed."""
    return _project(tmp_path_factory, DEFAULT_VERSION)


@pytest.fixture(scope="session")
def oldest_python_project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    """The default project for the oldest supported Python, installed."""
    return _project(tmp_path_factory, MIN_VERSION)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of one generated project on one xdist worker."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "default_project" in fixtures:
            item.add_marker(pytest.mark.xdist_group("default_project"))
        elif "oldest_python_project" in fixtures:
            item.add_marker(pytest.mark.xdist_group("oldest_python_project"))
