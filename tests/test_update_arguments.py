"""Bad `svcforge update` arguments are refused with the real reason, and change nothing.

Every failure is checked byte for byte: files, HEAD (no commit left behind), `git status`
and the staged diff.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from svcforge.cli import app
from tests.releases import (
    TemplateRepo,
    exact_state,
    generate_at,
    make_template_repo,
    previous_release,
    run_git,
)

pytestmark = pytest.mark.xdist_group("update-arguments")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    return make_template_repo(tmp_path_factory.mktemp("template") / "svcforge")


@pytest.fixture(scope="module")
def project(repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project at the release candidate; every test here must leave it unchanged."""
    root = tmp_path_factory.mktemp("project") / "svc"
    return generate_at(repo, repo.candidate, root, project_name="Example Service")


@pytest.fixture
def moved_source(repo: TemplateRepo, tmp_path: Path) -> dict[str, str]:
    """SVCFORGE_TEMPLATE naming a clone elsewhere: a source the update would record."""
    clone = tmp_path / "elsewhere"
    shutil.copytree(repo.path, clone, symlinks=True)
    return {"SVCFORGE_TEMPLATE": str(clone)}


def update(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["update", *args], env=env)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_an_unknown_set_key_is_refused(project: Path, moved_source: dict[str, str]):
    before = exact_state(project)

    result = update(str(project), "--set", "databse=postgres", env=moved_source)

    assert result.exit_code == 2, result.output
    output = flat(result.output)
    assert "--set databse: the template" in output
    assert "has no such question" in output
    assert "python_version" in output  # the questions are listed
    assert "Nothing in" in output
    assert exact_state(project) == before


@pytest.mark.parametrize(
    ("assignment", "reason"),
    [
        pytest.param("python_version=3.10", "3.10", id="not-a-choice"),
        pytest.param("package_name=json", "standard-library module", id="validator"),
    ],
)
def test_an_invalid_set_value_is_refused_by_the_templates_own_rules(
    project: Path, moved_source: dict[str, str], assignment: str, reason: str
):
    before = exact_state(project)

    result = update(str(project), "--set", assignment, "--dry-run", env=moved_source)
    applied = update(str(project), "--set", assignment, env=moved_source)

    assert result.exit_code == applied.exit_code == 3, result.output
    assert reason in flat(result.output)
    assert reason in flat(applied.output)
    assert exact_state(project) == before


@pytest.mark.parametrize(
    "ref",
    [
        "v9.9.9",
        "0123456789abcdef0123456789abcdef01234567",
        "--upload-pack=touch pwned",
        "main\nv0.1.0",
    ],
)
def test_a_ref_that_does_not_exist_says_so_and_leaves_no_commit(
    project: Path, moved_source: dict[str, str], ref: str
):
    before = exact_state(project)

    result = update(str(project), "--to", ref, env=moved_source)

    assert result.exit_code == 2, result.output
    output = flat(result.output)
    assert "Unknown template version" in output
    assert "has no tag, branch or commit" in output
    assert "Invalid answer" not in output
    assert exact_state(project) == before
    assert not (project / "pwned").exists()


def test_a_downgrade_by_commit_or_branch_is_refused_like_one_by_tag(
    repo: TemplateRepo, project: Path
):
    before = exact_state(project)
    _, commit = previous_release()
    run_git(repo.path, "branch", "-f", "old-line", commit)

    by_tag = update(str(project), "--to", repo.previous)
    by_commit = update(str(project), "--to", commit)
    by_short_commit = update(str(project), "--dry-run", "--to", commit[:10])
    by_branch = update(str(project), "--to", "old-line")

    for result in (by_tag, by_commit, by_short_commit, by_branch):
        assert result.exit_code == 2, result.output
        assert "Downgrade refused" in result.output
        assert "older" in flat(result.output)
    assert exact_state(project) == before


def test_a_missing_commit_gives_one_answer_from_check_dry_run_and_update(
    project: Path, tmp_path: Path
):
    root = tmp_path / "svc"
    shutil.copytree(project, root, symlinks=True)
    answers = root / ".copier-answers.yml"
    answers.write_text(
        "".join(line for line in answers.read_text().splitlines(True) if "_commit" not in line)
    )
    run_git(root, "commit", "--quiet", "-am", "Lose the template version")
    before = exact_state(root)

    results = [update(str(root), *args) for args in (["--check"], ["--dry-run"], [])]

    assert {result.exit_code for result in results} == {2}
    first_lines = {result.output.splitlines()[0] for result in results}
    assert len(first_lines) == 1, first_lines
    assert "_commit" in results[0].output
    assert exact_state(root) == before
