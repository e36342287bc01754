"""A fresh clone of the published repository (no tags, releases.yml only) updates projects.

Release tags are not pushed, so a clone knows its releases only from releases.yml.
svcforge resolves them to their commits and records ``_commit`` as
``vX.Y.Z-N-g<commit>``, which git resolves with or without the tags.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from svcforge.cli import app
from svcforge.update import UPDATE_AVAILABLE_EXIT_CODE
from tests.releases import run_git, tree
from tests.template_clones import (
    Published,
    answers,
    clone_without_tags,
    copy_at,
    publish_without_tags,
    same_answers_copy,
)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return publish_without_tags(tmp_path_factory.mktemp("published") / "svcforge")


@pytest.fixture(scope="module")
def fresh(published: Published, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `git clone <published repository>` gives a user: no tags at all."""
    return clone_without_tags(published.path, tmp_path_factory.mktemp("user") / "svcforge")


@pytest.fixture(autouse=True)
def _copier_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copier mirrors URL templates in a cache: keep it out of the home directory."""
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))


def svcforge(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def flat(text: str) -> str:
    return " ".join(text.split())


def release_ref(release: tuple[str, str]) -> str:
    """How `_commit` reads for a release whose tag the clone lacks (git describe --long)."""
    tag, commit = release
    return f"{tag}-0-g{commit[:7]}"


def test_check_dry_run_and_update_work_from_a_clone_without_tags(
    published: Published, fresh: Path, tmp_path: Path
):
    _, previous_commit = published.previous
    candidate_tag, candidate_commit = published.candidate
    # A project generated from the previous release's commit, as releases.yml lists it.
    project = copy_at(fresh, previous_commit, tmp_path / "svc")
    assert answers(project)["_commit"] == previous_commit[:7]

    check = svcforge("update", str(project), "--check", "--json")

    assert check.exit_code == UPDATE_AVAILABLE_EXIT_CODE, check.output
    status = json.loads(check.stdout)
    assert (status["latest"], status["update_available"]) == (candidate_tag, True)

    dry_run = svcforge("update", str(project), "--dry-run", "--json")

    assert dry_run.exit_code == 0, dry_run.output
    assert json.loads(dry_run.stdout)["current"] == release_ref(published.candidate)
    assert run_git(project, "status", "--porcelain") == ""

    result = svcforge("update", str(project), "--no-lock")

    assert result.exit_code == 0, result.output
    recorded = answers(project)
    assert recorded["_commit"] == release_ref(published.candidate)
    assert recorded["_src_path"] == str(fresh)
    fresh_copy = same_answers_copy(project, fresh, candidate_commit, tmp_path / "fresh-copy")
    assert tree(project) == tree(fresh_copy)
    run_git(project, "add", "--all")
    run_git(project, "commit", "--quiet", "-m", "Update to the new release")

    again = svcforge("update", str(project), "--check")

    assert again.exit_code == 0, again.output
    assert f"Up to date with template version {release_ref(published.candidate)}" in flat(
        again.output
    )


def test_new_records_release_versions_that_svcforge_and_plain_copier_update_from(
    fresh: Path, published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SVCFORGE_TEMPLATE", str(fresh))

    newest = svcforge("new", "newest", "--defaults", "--no-lock")
    monkeypatch.setenv("SVCFORGE_TEMPLATE_REF", published.previous[0])
    older = svcforge("new", "older", "--defaults", "--no-lock")

    assert newest.exit_code == 0, newest.output
    assert older.exit_code == 0, older.output
    assert answers(tmp_path / "newest")["_commit"] == release_ref(published.candidate)
    assert answers(tmp_path / "older")["_commit"] == release_ref(published.previous)
    monkeypatch.delenv("SVCFORGE_TEMPLATE_REF")
    assert svcforge("update", "newest", "--check").exit_code == 0
    assert svcforge("update", "older", "--check").exit_code == UPDATE_AVAILABLE_EXIT_CODE
    # Plain Copier resolves the recorded `vX.Y.Z-0-g<commit>` in the clone without tags.
    plain = subprocess.run(
        ["copier", "update", "--defaults", "--vcs-ref", published.candidate[1]],
        cwd=tmp_path / "older",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr
    expected = same_answers_copy(tmp_path / "older", fresh, published.candidate[1], tmp_path / "x")
    assert tree(tmp_path / "older") == tree(expected)
