"""`svcforge update` takes the template in every form: path, file:// and git+file://,
given by SVCFORGE_TEMPLATE or recorded as `_src_path`, in folders with odd names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from svcforge.cli import app
from svcforge.template_source import set_recorded
from svcforge.update import UPDATE_AVAILABLE_EXIT_CODE
from tests.releases import run_git, tree
from tests.template_clones import (
    Published,
    answers,
    clone_without_tags,
    copy_at,
    copy_project,
    file_url,
    publish_without_tags,
    same_answers_copy,
)

ODD_FOLDER = "Vorlagen für Teams #1"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return publish_without_tags(tmp_path_factory.mktemp("published") / "svcforge")


@pytest.fixture(scope="module")
def template(published: Published, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clone_without_tags(
        published.path, tmp_path_factory.mktemp("clones") / ODD_FOLDER / "svcforge Vorlage ü"
    )


@pytest.fixture(scope="module")
def original(published: Published, template: Path, tmp_path_factory: pytest.TempPathFactory):
    """A project at the previous release, generated with plain Copier (shared, read-only)."""
    return copy_at(template, published.previous[1], tmp_path_factory.mktemp("original") / "svc")


@pytest.fixture(autouse=True)
def _copier_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copier mirrors git+file:// templates in a cache: keep it out of the home directory."""
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))


def forms(path: Path) -> dict[str, str]:
    return {
        "path": str(path),
        "file-literal": file_url(path, encoded=False),
        "file-encoded": file_url(path, encoded=True),
        "git+file-literal": file_url(path, encoded=False, git_prefix=True),
        "git+file-encoded": file_url(path, encoded=True, git_prefix=True),
    }


FORMS = list(forms(Path("/x")))


def svcforge(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def recording(project: Path, src_path: str) -> Path:
    """Record ``src_path`` as the project's template source and commit it."""
    set_recorded(project / ".copier-answers.yml", "_src_path", src_path)
    run_git(project, "commit", "--quiet", "-am", "Template moved")
    return project


def release_ref(release: tuple[str, str]) -> str:
    tag, commit = release
    return f"{tag}-0-g{commit[:7]}"


@pytest.mark.parametrize("via", ["SVCFORGE_TEMPLATE", "_src_path"])
@pytest.mark.parametrize("form", FORMS)
def test_check_accepts_every_form(
    form: str, via: str, original: Path, template: Path, published: Published, tmp_path: Path
):
    project = copy_project(original, tmp_path / "svc")
    location = forms(template)[form]
    env = None
    if via == "SVCFORGE_TEMPLATE":
        recording(project, "/moved/elsewhere")
        env = {"SVCFORGE_TEMPLATE": location}
    else:
        recording(project, location)

    result = svcforge("update", str(project), "--check", "--json", env=env)

    assert result.exit_code == UPDATE_AVAILABLE_EXIT_CODE, result.output
    assert json.loads(result.stdout) == {
        "current": published.previous[1][:7],
        "latest": published.candidate[0],
        "update_available": True,
        "source": str(template),
    }


@pytest.mark.parametrize(
    ("form", "via"),
    [("file-encoded", "_src_path"), ("git+file-literal", "SVCFORGE_TEMPLATE")],
)
def test_update_from_a_url_form_in_an_odd_folder(
    form: str, via: str, original: Path, template: Path, published: Published, tmp_path: Path
):
    project = copy_project(original, tmp_path / "svc")
    location = forms(template)[form]
    env = None
    if via == "SVCFORGE_TEMPLATE":
        env = {"SVCFORGE_TEMPLATE": location}
    else:
        recording(project, location)

    result = svcforge("update", str(project), "--no-lock", env=env)

    assert result.exit_code == 0, result.output
    recorded = answers(project)
    # Recorded as the absolute path, which plain Copier reads back (it cannot read file://).
    assert (recorded["_src_path"], recorded["_commit"]) == (
        str(template),
        release_ref(published.candidate),
    )
    fresh = same_answers_copy(project, template, published.candidate[1], tmp_path / "fresh")
    assert tree(project) == tree(fresh)


def test_a_project_recorded_at_a_tag_updates_from_a_clone_without_tags(
    published: Published, template: Path, tmp_path: Path
):
    """`_commit: v0.1.0` (generated where the tags existed), the clone at hand has none."""
    tagged = clone_without_tags(published.path, tmp_path / "tagged")
    run_git(tagged, "tag", published.previous[0], published.previous[1])
    project = copy_at(tagged, published.previous[0], tmp_path / "svc")
    assert answers(project)["_commit"] == published.previous[0]
    env = {"SVCFORGE_TEMPLATE": str(template)}

    check = svcforge("update", str(project), "--check", env=env)
    result = svcforge("update", str(project), "--no-lock", env=env)

    assert check.exit_code == UPDATE_AVAILABLE_EXIT_CODE, check.output
    assert result.exit_code == 0, result.output
    recorded = answers(project)
    assert (recorded["_src_path"], recorded["_commit"]) == (
        str(template),
        release_ref(published.candidate),
    )
