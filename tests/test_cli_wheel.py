"""The built wheel carries the template, so `svcforge new` works without the checkout.

A project generated from that bundled template (not a git repository) records no
template version; `update --check`, `--dry-run` and `update` then give one and the same
answer, naming exactly what to set, and work once it is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from svcforge import __version__
from svcforge.new import RELEASE_DATA_KEY
from svcforge.template_source import BUNDLED_VERSION_KEY, set_recorded
from tests.releases import run_git
from tests.template_clones import Published, answers, clone_without_tags, publish_without_tags

pytestmark = pytest.mark.slow

UPDATE_MODES = (["--check"], ["--dry-run"], [])


@pytest.fixture(scope="module")
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(out), str(repo_root)],
        check=True,
        timeout=300,
    )
    [built] = out.glob("svcforge-*.whl")
    return built


@pytest.fixture(scope="module")
def python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with nothing but the wheel and its dependencies (from uv's
    cache or the registry): no checkout on the import path."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(python), str(wheel)],
        check=True,
        timeout=300,
    )
    return python


def run_svcforge(
    python: Path, cwd: Path, *args: str, template: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "SVCFORGE_TEMPLATE"}}
    if template is not None:
        env["SVCFORGE_TEMPLATE"] = str(template)
    return subprocess.run(
        [str(python), "-m", "svcforge", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


def test_wheel_contains_template(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert "svcforge/_template/copier.yml" in names
    assert "svcforge/_template/includes/python_names.jinja" in names
    assert any(n.startswith("svcforge/_template/template/") for n in names)


def test_new_from_installed_wheel_uses_bundled_template(python: Path, tmp_path: Path):
    proc = run_svcforge(python, tmp_path, "new", "svc", "--defaults", "--no-git", "--no-lock")

    assert proc.returncode == 0, proc.stderr
    assert "not a git repository" in " ".join(proc.stderr.split())
    recorded = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text())
    assert recorded["_src_path"].startswith(str(python.parent.parent))
    assert recorded["_src_path"].endswith("svcforge/_template")
    assert "_commit" not in recorded
    assert recorded[BUNDLED_VERSION_KEY] == __version__
    # The README names the bundled release; the render-only data is not an answer.
    assert f"template version\n`v{__version__}`" in (tmp_path / "svc" / "README.md").read_text()
    assert RELEASE_DATA_KEY not in recorded


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The template repository, its release of this version listed but not tagged."""
    return publish_without_tags(tmp_path_factory.mktemp("published") / "svcforge")


def _answers_of_every_mode(
    python: Path, project: Path, template: Path | None
) -> list[tuple[int, str]]:
    return [
        (proc.returncode, flat(proc.stderr))
        for proc in (
            run_svcforge(python, project, "update", *mode, "--no-lock", template=template)
            for mode in UPDATE_MODES
        )
    ]


def test_a_project_from_the_wheel_gets_one_answer_that_says_exactly_what_to_set(
    python: Path, published: Published, tmp_path: Path
):
    generated = run_svcforge(python, tmp_path, "new", "svc", "--defaults", "--no-lock")
    assert generated.returncode == 0, generated.stderr
    project = tmp_path / "svc"
    template = clone_without_tags(published.path, tmp_path / "template")
    commit_line = f"_commit: v{__version__}"
    assert published.candidate[0] == f"v{__version__}"

    # Without a template source: both things to set, from every mode alike.
    alone = _answers_of_every_mode(python, project, None)
    assert len(set(alone)) == 1, alone
    code, message = alone[0]
    assert code == 2
    assert f"Set `{commit_line}` (the template release svcforge {__version__} bundles)" in message
    assert "set SVCFORGE_TEMPLATE to a git clone" in message

    # With one: only the version is missing, still one answer.
    with_source = _answers_of_every_mode(python, project, template)
    assert len(set(with_source)) == 1, with_source
    code, message = with_source[0]
    assert code == 2
    assert f"Set `{commit_line}`" in message
    assert "set SVCFORGE_TEMPLATE" not in message

    # Doing exactly that: up to date, and all modes agree.
    set_recorded(project / ".copier-answers.yml", "_commit", f"v{__version__}")
    run_git(project, "commit", "--quiet", "-am", "Record the template version")
    done = [
        run_svcforge(python, project, "update", *mode, "--no-lock", template=template)
        for mode in UPDATE_MODES
    ]
    assert [proc.returncode for proc in done] == [0, 0, 0], [proc.stderr for proc in done]
    assert "Up to date" in done[0].stdout

    # A newer release: --check says so and the update brings it.
    run_git(template, "checkout", "--quiet", "-b", "next")
    contributing = template / "template" / "CONTRIBUTING.md"
    contributing.write_text(contributing.read_text() + "\nKeep pull requests small.\n")
    run_git(template, "commit", "--quiet", "-am", "Release 99.0.0")
    release = run_git(template, "rev-parse", "HEAD").strip()
    releases = template / "releases.yml"
    releases.write_text(
        releases.read_text().replace(
            "releases:\n", f"releases:\n  - version: 99.0.0\n    commit: {release}\n", 1
        )
    )
    run_git(template, "commit", "--quiet", "-am", "Record release 99.0.0")

    check = run_svcforge(python, project, "update", "--check", template=template)
    update = run_svcforge(python, project, "update", "--no-lock", template=template)

    assert check.returncode == 10, check.stderr
    # README.md names the bundled release (v<version>); from a clone without tags, Copier
    # names the old render's version by its bare commit id: that line conflicts. (With
    # tags the names agree: test_the_readme_version_line_updates_cleanly_from_a_tagged_clone.)
    assert update.returncode == 7, update.stderr
    assert run_git(project, "diff", "--name-only", "--diff-filter=U").split() == ["README.md"]
    recorded = answers(project)
    assert recorded["_commit"] == f"v99.0.0-0-g{release[:7]}"
    assert recorded["_src_path"] == str(template)
    assert "Keep pull requests small." in (project / "CONTRIBUTING.md").read_text()


def test_the_readme_version_line_updates_cleanly_from_a_tagged_clone(
    python: Path, published: Published, tmp_path: Path
):
    generated = run_svcforge(python, tmp_path, "new", "svc", "--defaults", "--no-lock")
    assert generated.returncode == 0, generated.stderr
    project = tmp_path / "svc"
    set_recorded(project / ".copier-answers.yml", "_commit", f"v{__version__}")
    run_git(project, "commit", "--quiet", "-am", "Record the template version")
    template = tmp_path / "template"
    run_git(tmp_path, "clone", "--quiet", str(published.path), str(template))
    run_git(template, "tag", f"v{__version__}", published.candidate[1])
    contributing = template / "template" / "CONTRIBUTING.md"
    contributing.write_text(contributing.read_text() + "\nKeep pull requests small.\n")
    run_git(template, "commit", "--quiet", "-am", "Release 99.0.0")
    run_git(template, "tag", "v99.0.0")

    update = run_svcforge(python, project, "update", "--no-lock", template=template)

    assert update.returncode == 0, update.stderr
    readme = (project / "README.md").read_text()
    assert "template version\n`v99.0.0`" in readme
