"""`svcforge update`: 3-way updates, version checks and every preflight error.

The dry run's predictions, conflicts and kept files are in test_update_scenarios.py,
bad arguments in test_update_arguments.py, interrupts in test_update_interrupts.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from svcforge.cli import app
from svcforge.update import UPDATE_AVAILABLE_EXIT_CODE
from tests.releases import TemplateRepo, exact_state, generate_at, make_template_repo, run_git, tree

#: The answers v0.1.0 defaulted to (later versions derive the name from the folder).
NAMES = {"project_name": "Example Service"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """Template with the previous release and the candidate tagged (shared, read-only)."""
    return make_template_repo(tmp_path_factory.mktemp("template") / "svcforge")


@pytest.fixture(scope="module")
def pristine(repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project at the previous release, never changed: tests update copies of it."""
    return generate_at(repo, repo.previous, tmp_path_factory.mktemp("pristine") / "svc", **NAMES)


@pytest.fixture(scope="module")
def fresh(repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a project generated directly at the candidate."""
    return tree(
        generate_at(repo, repo.candidate, tmp_path_factory.mktemp("fresh") / "svc", **NAMES)
    )


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the pristine project (.git included) for this test to change."""
    root = tmp_path / "svc"
    shutil.copytree(pristine, root, symlinks=True)
    return root


def svcforge(*args: str, env: dict[str, str] | None = None):
    """Invoke the CLI in-process."""
    return CliRunner().invoke(app, list(args), env=env)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_update_of_an_unedited_project_equals_a_fresh_copy(
    repo: TemplateRepo, project: Path, fresh: dict[str, bytes]
):
    result = svcforge("update", str(project), "--no-lock")

    assert result.exit_code == 0, result.output
    assert f"{repo.previous} -> {repo.candidate}" in flat(result.output)
    assert tree(project) == fresh
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == repo.candidate
    # Nothing is committed or staged: the team reviews the update.
    assert run_git(project, "rev-list", "--count", "HEAD") == "1\n"
    assert run_git(project, "diff", "--cached") == ""
    assert "git add -A && git commit" in flat(result.output)


def test_edits_to_files_the_template_leaves_alone_survive_byte_for_byte(
    project: Path, fresh: dict[str, bytes]
):
    old = tree(project)
    untouched = sorted(
        path for path in old if path.endswith(".py") and old[path] == fresh.get(path)
    )
    assert untouched, "expected some files the template does not change"
    edited = {path: old[path] + f"\n# team edit to {path}\n".encode() for path in untouched[:5]}
    for path, content in edited.items():
        (project / path).write_bytes(content)
    (project / "docs" / "team-notes.md").write_text("Our own notes.\n")
    run_git(project, "add", "--all")
    run_git(project, "commit", "--quiet", "-m", "Team edits")

    result = svcforge("update", str(project), "--no-lock")

    assert result.exit_code == 0, result.output
    for path, content in edited.items():
        assert (project / path).read_bytes() == content
    assert (project / "docs" / "team-notes.md").read_text() == "Our own notes.\n"


def test_set_changes_an_answer_and_equals_a_fresh_generation_plus_team_edits(
    repo: TemplateRepo, tmp_path: Path
):
    project = generate_at(repo, repo.candidate, tmp_path / "svc", python_version="3.12", **NAMES)
    team_line = "\n## Team rules\n\nPair on migrations.\n"
    with (project / "CONTRIBUTING.md").open("a") as file:
        file.write(team_line)
    run_git(project, "commit", "--quiet", "-am", "Team rules")

    result = svcforge("update", str(project), "--set", "python_version=3.13", "--no-lock")

    assert result.exit_code == 0, result.output
    fresh = generate_at(
        repo, repo.candidate, tmp_path / "f" / "svc", python_version="3.13", **NAMES
    )
    with (fresh / "CONTRIBUTING.md").open("a") as file:
        file.write(team_line)
    assert tree(project) == tree(fresh)
    assert "python:3.13-slim" in (project / "Dockerfile").read_text()


def test_check_tells_whether_a_newer_release_exists(
    repo: TemplateRepo, pristine: Path, tmp_path: Path
):
    current = generate_at(repo, repo.candidate, tmp_path / "current", **NAMES)

    behind = svcforge("update", str(pristine), "--check", "--json")
    level = svcforge("update", str(current), "--check")

    assert behind.exit_code == UPDATE_AVAILABLE_EXIT_CODE
    assert json.loads(behind.stdout) == {
        "current": repo.previous,
        "latest": repo.candidate,
        "update_available": True,
        "source": str(repo.path),
    }
    assert level.exit_code == 0, level.output
    assert "Up to date" in level.output


def test_an_up_to_date_project_says_nothing_changed(repo: TemplateRepo, tmp_path: Path):
    current = generate_at(repo, repo.candidate, tmp_path / "current", **NAMES)
    before = exact_state(current)

    result = svcforge("update", str(current))

    assert result.exit_code == 0, result.output
    assert f"Already up to date with template version {repo.candidate}; nothing changed" in flat(
        result.output
    )
    assert exact_state(current) == before


def test_plain_copier_update_works_on_generated_projects(
    repo: TemplateRepo, project: Path, fresh: dict[str, bytes]
):
    proc = subprocess.run(
        ["copier", "update", "--defaults", "--vcs-ref", repo.candidate],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert tree(project) == fresh


def test_not_a_generated_project(tmp_path: Path):
    (tmp_path / "README.md").write_text("hello\n")

    result = svcforge("update", str(tmp_path))

    assert result.exit_code == 2
    assert "is not a project generated by svcforge" in flat(result.output)
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


def test_unresolvable_template_source_says_how_to_set_it(repo: TemplateRepo, project: Path):
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(repo.path), "/nowhere/svcforge"))
    run_git(project, "commit", "--quiet", "-am", "Template moved")
    before = exact_state(project)

    result = svcforge("update", str(project))

    assert result.exit_code == 4
    assert "/nowhere/svcforge" in flat(result.output)
    assert "SVCFORGE_TEMPLATE" in flat(result.output)
    assert exact_state(project) == before

    fixed = svcforge("update", str(project), "--no-lock", env={"SVCFORGE_TEMPLATE": str(repo.path)})

    assert fixed.exit_code == 0, fixed.output
    recorded = yaml.safe_load(answers.read_text())
    assert (recorded["_src_path"], recorded["_commit"]) == (str(repo.path), repo.candidate)
    # Recorded with the update, for review, not in a commit of its own.
    assert run_git(project, "rev-parse", "HEAD") == before["head"]


def test_dirty_tree_is_refused_with_the_files_listed(project: Path):
    (project / "Makefile").write_text("changed\n")
    (project / "scratch notes é.txt").write_text("draft\n")
    before = exact_state(project)

    result = svcforge("update", str(project))

    assert result.exit_code == 8
    output = flat(result.output)
    assert "uncommitted changes" in output
    assert "Makefile" in output
    assert "scratch notes é.txt" in output  # the real name, not git's quoting
    assert "git stash -u" in output
    assert "git add -A && git commit" in output
    assert exact_state(project) == before


def test_downgrade_is_refused(repo: TemplateRepo, tmp_path: Path):
    project = generate_at(repo, repo.candidate, tmp_path / "svc", **NAMES)
    before = exact_state(project)

    result = svcforge("update", str(project), "--to", repo.previous)

    assert result.exit_code == 2
    assert "older" in flat(result.output)
    assert exact_state(project) == before


def test_project_outside_git_is_refused(project: Path):
    shutil.rmtree(project / ".git")
    before = tree(project)

    result = svcforge("update", str(project))

    assert result.exit_code == 2
    assert "not the root of a git repository" in flat(result.output)
    assert tree(project) == before
