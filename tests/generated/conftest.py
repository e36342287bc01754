"""Generated projects shared by the tests of this folder (one per Python version).

Each project is rendered and installed once per test session; every test of the same
project runs on the same pytest-xdist worker (xdist_group), so the cost is paid once.
"""

from __future__ import annotations

import pytest

from tests.generated.support import GeneratedProject, find_python, render

DEFAULT_VERSION = "3.13"
MIN_VERSION = "3.11"


def _project(
    tmp_path_factory: pytest.TempPathFactory, python_version: str, **answers: str
) -> GeneratedProject:
    dest = tmp_path_factory.mktemp(f"golden-{python_version}") / "example-service"
    render(dest, {"python_version": python_version, **answers})
    package = answers.get("package_name", "example_service")
    project = GeneratedProject(dest, python=find_python(python_version), package=package)
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


@pytest.fixture(scope="session")
def custom_names_project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    """A project whose package name is not derived from its slug, on Python 3.12."""
    return _project(
        tmp_path_factory,
        "3.12",
        project_name="Billing API",
        package_name="billing",
        description="Invoices and payments for the shop.",
    )


@pytest.fixture(scope="session")
def longest_names_project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    """Every name at its maximum length: generated lines must still fit and stay formatted."""
    return _project(
        tmp_path_factory,
        "3.13",
        project_name="N" * 50,
        project_slug="s" * 40,
        package_name="p" * 30,
        description=" ".join(
            ["A description long enough to overflow any line it were pasted into."] * 3
        ),
        author_name="A" * 60,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of one generated project on one xdist worker."""
    projects = (
        "default_project",
        "oldest_python_project",
        "custom_names_project",
        "longest_names_project",
    )
    for item in items:
        callspec = getattr(item, "callspec", None)
        requested = callspec.params.get("project") if callspec else None
        fixtures = getattr(item, "fixturenames", ())
        for name in projects:
            if requested == name or (requested is None and name in fixtures):
                item.add_marker(pytest.mark.xdist_group(name))
                break
