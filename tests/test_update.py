"""`svcforge update`: 3-way updates, dry runs, version checks and every preflight error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from svcforge.cli import app
from svcforge.update import UPDATE_AVAILABLE_EXIT_CODE
from tests.releases import TemplateRepo, generate_at, make_template_repo, run_git, tree

CONTRIBUTING_LINE = "1. Branch from `main`; keep changes small and focused."


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """Template with the previous release and the candidate tagged (shared, read-only)."""
    return make_template_repo(tmp_path_factory.mktemp("template") / "svcforge")


@pytest.fixture
def own_repo(tmp_path: Path) -> TemplateRepo:
    """A template repository this test may add releases to."""
    return make_template_repo(tmp_path / "svcforge")


def svcforge(*args: str, env: dict[str, str] | None = None):
    """Invoke the CLI in-process."""
    return CliRunner().invoke(app, list(args), env=env)


def flat(text: str) -> str:
    return " ".join(text.split())


def state(project: Path) -> tuple[dict[str, bytes], str, str]:
    """Everything a failed preflight must leave as it was."""
    return (
        tree(project),
        run_git(project, "rev-parse", "HEAD"),
        run_git(project, "status", "--porcelain"),
    )


def test_update_of_an_unedited_project_equals_a_fresh_copy(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.previous, tmp_path / "svc")

    result = svcforge("update", str(project))

    assert result.exit_code == 0, result.output
    assert f"{repo.previous} -> {repo.candidate}" in flat(result.output)
    fresh = generate_at(repo, repo.candidate, tmp_path / "fresh")
    assert tree(project) == tree(fresh)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == repo.candidate


def test_edits_to_files_the_template_leaves_alone_survive_byte_for_byte(
    repo: TemplateRepo, tmp_path: Path
):
    project = generate_at(repo, repo.previous, tmp_path / "svc")
    old = tree(project)
    new = tree(generate_at(repo, repo.candidate, tmp_path / "fresh"))
    untouched = sorted(path for path in old if path.endswith(".py") and old[path] == new.get(path))
    assert untouched, "expected some files the template does not change"
    edited = {path: old[path] + f"\n# team edit to {path}\n".encode() for path in untouched[:5]}
    for path, content in edited.items():
        (project / path).write_bytes(content)
    (project / "docs" / "team-notes.md").write_text("Our own notes.\n")
    run_git(project, "add", "--all")
    run_git(project, "commit", "--quiet", "-m", "Team edits")

    result = svcforge("update", str(project))

    assert result.exit_code == 0, result.output
    for path, content in edited.items():
        assert (project / path).read_bytes() == content
    assert (project / "docs" / "team-notes.md").read_text() == "Our own notes.\n"


def test_a_conflicting_edit_is_predicted_then_reported_with_its_own_exit_code(
    own_repo: TemplateRepo, tmp_path: Path
):
    project = generate_at(own_repo, own_repo.candidate, tmp_path / "svc")
    own_repo.release(
        "v99.0.0", "template/CONTRIBUTING.md", CONTRIBUTING_LINE, "1. Branch from `main`."
    )
    contributing = project / "CONTRIBUTING.md"
    contributing.write_text(
        contributing.read_text().replace(CONTRIBUTING_LINE, "1. Work on short-lived branches.")
    )
    run_git(project, "commit", "--quiet", "-am", "Our branching rule")
    before = state(project)

    planned = svcforge("update", str(project), "--dry-run", "--json")

    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output)
    assert plan["target"] == "v99.0.0"
    # README.md shows the template version, so every release changes it.
    assert plan["changed_by_template"] == ["CONTRIBUTING.md", "README.md"]
    assert plan["likely_conflicts"] == ["CONTRIBUTING.md"]
    assert "CONTRIBUTING.md" in plan["customised"]
    assert state(project) == before

    result = svcforge("update", str(project))

    assert result.exit_code == 7, result.output
    assert "CONTRIBUTING.md" in result.output
    assert "<<<<<<<" in contributing.read_text()
    assert run_git(project, "diff", "--name-only", "--diff-filter=U").split() == ["CONTRIBUTING.md"]


def test_set_changes_an_answer_and_equals_a_fresh_generation_plus_team_edits(
    repo: TemplateRepo, tmp_path: Path
):
    project = generate_at(repo, repo.candidate, tmp_path / "svc", python_version="3.12")
    team_line = "\n## Team rules\n\nPair on migrations.\n"
    with (project / "CONTRIBUTING.md").open("a") as file:
        file.write(team_line)
    run_git(project, "commit", "--quiet", "-am", "Team rules")

    result = svcforge("update", str(project), "--set", "python_version=3.13", "--no-lock")

    assert result.exit_code == 0, result.output
    fresh = generate_at(repo, repo.candidate, tmp_path / "fresh", python_version="3.13")
    with (fresh / "CONTRIBUTING.md").open("a") as file:
        file.write(team_line)
    assert tree(project) == tree(fresh)
    assert "python:3.13-slim" in (project / "Dockerfile").read_text()


def test_check_tells_whether_a_newer_release_exists(repo: TemplateRepo, tmp_path: Path):
    old = generate_at(repo, repo.previous, tmp_path / "old")
    current = generate_at(repo, repo.candidate, tmp_path / "current")

    behind = svcforge("update", str(old), "--check", "--json")
    level = svcforge("update", str(current), "--check")

    assert behind.exit_code == UPDATE_AVAILABLE_EXIT_CODE
    assert json.loads(behind.output) == {
        "current": repo.previous,
        "latest": repo.candidate,
        "update_available": True,
        "source": str(repo.path),
    }
    assert level.exit_code == 0, level.output
    assert "Up to date" in level.output


def test_plain_copier_update_works_on_generated_projects(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.previous, tmp_path / "svc")

    proc = subprocess.run(
        ["copier", "update", "--defaults", "--vcs-ref", repo.candidate],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert tree(project) == tree(generate_at(repo, repo.candidate, tmp_path / "fresh"))


def test_not_a_generated_project(tmp_path: Path):
    (tmp_path / "README.md").write_text("hello\n")

    result = svcforge("update", str(tmp_path))

    assert result.exit_code == 2
    assert "is not a project generated by svcforge" in flat(result.output)
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


def test_unresolvable_template_source_says_how_to_set_it(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.previous, tmp_path / "svc")
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(repo.path), "/nowhere/svcforge"))
    run_git(project, "commit", "--quiet", "-am", "Template moved")
    before = state(project)

    result = svcforge("update", str(project))

    assert result.exit_code == 4
    assert "/nowhere/svcforge" in flat(result.output)
    assert "SVCFORGE_TEMPLATE" in flat(result.output)
    assert state(project) == before

    fixed = svcforge("update", str(project), env={"SVCFORGE_TEMPLATE": str(repo.path)})

    assert fixed.exit_code == 0, fixed.output
    recorded = yaml.safe_load(answers.read_text())
    assert (recorded["_src_path"], recorded["_commit"]) == (str(repo.path), repo.candidate)


def test_dirty_tree_is_refused_with_the_files_listed(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.previous, tmp_path / "svc")
    (project / "Makefile").write_text("changed\n")
    (project / "scratch.txt").write_text("draft\n")
    before = state(project)

    result = svcforge("update", str(project))

    assert result.exit_code == 8
    output = flat(result.output)
    assert "uncommitted changes" in output
    assert "Makefile" in output
    assert "scratch.txt" in output
    assert "git stash -u" in output
    assert state(project) == before


def test_downgrade_is_refused(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.candidate, tmp_path / "svc")
    before = state(project)

    result = svcforge("update", str(project), "--to", repo.previous)

    assert result.exit_code == 2
    assert "older" in flat(result.output)
    assert state(project) == before


def test_project_outside_git_is_refused(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.previous, tmp_path / "svc")
    subprocess.run(["rm", "-rf", str(project / ".git")], check=True)
    before = tree(project)

    result = svcforge("update", str(project))

    assert result.exit_code == 2
    assert "not the root of a git repository" in flat(result.output)
    assert tree(project) == before


def test_invalid_set_value_is_rejected_and_changes_nothing(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.previous, tmp_path / "svc")
    before = state(project)

    result = svcforge("update", str(project), "--set", "package_name=json")

    assert result.exit_code == 3
    assert "standard-library module" in flat(result.output)
    assert state(project) == before
