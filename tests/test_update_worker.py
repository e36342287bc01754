"""svcforge's Copier worker: an update reuses svcforge's renders and equals plain Copier's.

`svcforge.update.worker` copies the renders svcforge made for its checks instead of letting
Copier render the same versions again, and asks git for ``core.fileMode`` once per render
instead of once per file. Each test runs the worker's update and ``copier.run_update`` on
two copies of one project and compares everything git and the file system see.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import copier
import pytest
from copier._main import Worker

from svcforge.answers import public_answers, read_answers
from svcforge.update.rendering import render_version
from svcforge.update.worker import update
from tests.releases import TemplateRepo, generate_at, make_template_repo, run_git, tree

NAMES = {"project_name": "Example Service"}
NEW_RELEASE = "v99.0.0"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """The candidate, and a release after it that changes a line a team edits too."""
    repo = make_template_repo(tmp_path_factory.mktemp("template") / "svcforge")
    repo.edit(
        "template/CONTRIBUTING.md",
        lambda text: text.replace("# Contributing", "# How to contribute", 1),
    )
    repo.edit("template/Dockerfile.jinja", lambda text: "# Built by CI.\n" + text)
    repo.tag(NEW_RELEASE)
    return repo


def plain_copier_update(project: Path, vcs_ref: str) -> None:
    """What svcforge asked Copier for before the worker existed."""
    copier.run_update(
        project,
        data={},
        defaults=True,
        overwrite=True,
        skip_answered=True,
        conflict="inline",
        vcs_ref=vcs_ref,
        unsafe=False,
        quiet=True,
    )


def git_state(root: Path) -> dict[str, object]:
    """Files (with their executable bits), the index with its conflict stages, the status."""
    modes = {
        str(path.relative_to(root)): bool(path.stat().st_mode & stat.S_IXUSR)
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }
    return {
        "files": tree(root),
        "executable": modes,
        "index": run_git(root, "ls-files", "--stage"),
        "status": run_git(root, "status", "--porcelain", "--untracked-files=all"),
    }


@pytest.fixture
def count_renders(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Count the renders Copier makes (a render copied from svcforge's is not one)."""
    made: list[Path] = []
    original: Callable[[Any], None] = Worker._render_template

    def counted(worker: Any) -> None:
        made.append(worker.dst_path)
        original(worker)

    monkeypatch.setattr(Worker, "_render_template", counted)
    return lambda: len(made)


def test_the_update_copies_both_renders_and_equals_plain_copier(
    repo: TemplateRepo, tmp_path: Path, count_renders: Callable[[], int]
):
    project = generate_at(repo, repo.candidate, tmp_path / "svcforge" / "svc", **NAMES)
    contributing = project / "CONTRIBUTING.md"
    contributing.write_text(contributing.read_text().replace("# Contributing", "# Read me", 1))
    (project / "Dockerfile").unlink()
    (project / "NOTES.md").write_text("The team's own notes.\n")
    run_git(project, "add", "--all")
    run_git(project, "commit", "--quiet", "-m", "The team's changes")
    other = tmp_path / "copier" / "svc"
    shutil.copytree(project, other, symlinks=True)
    answers = public_answers(read_answers(project))
    scratch = tmp_path / "scratch"
    old = render_version(str(repo.path), repo.candidate, answers, scratch / "old" / "svc")
    new = render_version(str(repo.path), NEW_RELEASE, answers, scratch / "new" / "svc")
    before = count_renders()

    update(project, data={}, vcs_ref=NEW_RELEASE, renders=[old.reusable, new.reusable])

    # Only the render into the project itself: both scratch renders were copies.
    assert count_renders() - before == 1
    plain_copier_update(other, NEW_RELEASE)
    assert git_state(project) == git_state(other)
    assert "<<<<<<< before updating" in contributing.read_text()
    assert "UU CONTRIBUTING.md" in run_git(project, "status", "--porcelain")


def _tiny_template(root: Path) -> Path:
    """A template whose v2.0.0 makes a script executable; nothing else changes."""
    root.mkdir()
    (root / "copier.yml").write_text("name:\n  type: str\n  default: demo\n")
    # The answers file Copier's update reads the version and the answers from.
    answers = root / "{{ _copier_conf.answers_file }}.jinja"
    answers.write_text("{{ _copier_answers | to_nice_yaml -}}\n")
    script = root / "tool.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    run_git(root, "init", "--quiet")
    run_git(root, "add", "--all")
    run_git(root, "commit", "--quiet", "-m", "v1")
    run_git(root, "tag", "v1.0.0")
    script.chmod(0o755)
    run_git(root, "add", "--all")
    run_git(root, "commit", "--quiet", "-m", "v2")
    run_git(root, "tag", "v2.0.0")
    return root


def test_an_index_that_ignores_file_modes_still_gets_the_new_executable_bit(tmp_path: Path):
    template = _tiny_template(tmp_path / "template")
    project = tmp_path / "svcforge" / "svc"
    copier.run_copy(str(template), project, defaults=True, vcs_ref="v1.0.0", quiet=True)
    run_git(project, "init", "--quiet")
    # As on file systems without executable bits: git keeps them in the index only.
    run_git(project, "config", "core.fileMode", "false")
    run_git(project, "add", "--all")
    run_git(project, "commit", "--quiet", "-m", "Generated")
    other = tmp_path / "copier" / "svc"
    shutil.copytree(project, other, symlinks=True)

    update(project, data={}, vcs_ref="v2.0.0", renders=[])

    plain_copier_update(other, "v2.0.0")
    assert git_state(project) == git_state(other)
    assert run_git(project, "ls-files", "--stage", "tool.sh").startswith("100755 ")
