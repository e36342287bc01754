"""Upgrade paths: a project generated at the previous release, updated to the candidate,
still passes all of its own checks (issue: upgrade-proven releases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from svcforge.cli import app
from tests.generated.support import GeneratedProject, find_python
from tests.releases import TemplateRepo, generate_at, make_template_repo

pytestmark = pytest.mark.slow

UPGRADE_PATHS = {
    "default answers, Python 3.13": {},
    "custom names, Python 3.12": {
        "project_name": "Billing API",
        "package_name": "billing",
        "python_version": "3.12",
    },
    "oldest Python, 3.11": {"python_version": "3.11", "author_name": "Payments Team"},
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """The previous release and the candidate, tagged in a temporary clone."""
    return make_template_repo(tmp_path_factory.mktemp("template") / "svcforge")


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(answers, id=name, marks=pytest.mark.xdist_group(f"upgrade-{name}"))
        for name, answers in UPGRADE_PATHS.items()
    ],
)
def test_upgrade_from_previous_release_passes_the_project_checks(
    repo: TemplateRepo, tmp_path: Path, answers: dict[str, str]
) -> None:
    root = generate_at(repo, repo.previous, tmp_path / "service", **answers)

    result = CliRunner().invoke(app, ["update", str(root), "--no-lock"])

    assert result.exit_code == 0, result.output
    assert f"{repo.previous} -> {repo.candidate}" in " ".join(result.output.split())
    project = GeneratedProject(
        root,
        python=find_python(answers.get("python_version", "3.13")),
        package=answers.get("package_name", "example_service"),
    )
    project.sync()
    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")
    project.uv_run("mypy")
    project.uv_run("lint-imports")
    outcome = project.uv_run("pytest", "--cov", "-q", "-p", "no:cacheprovider")
    assert "Required test coverage of 80" in outcome.stdout
