"""`svcforge diff`: the team's changes as a patch that `git apply -R` reverts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from svcforge.check.drift import ProjectFile
from svcforge.check.render_cache import RenderedFile
from svcforge.diff import file_patch, project_diff
from svcforge.template_source import set_recorded
from tests.check.drift_support import (
    BINARY,
    BINARY_DATA,
    KEPT,
    NEWEST,
    NON_ASCII,
    copy_of,
    drift_template,
    generate,
    tree_state,
)
from tests.releases import TemplateRepo
from tests.support import svcforge


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A render cache of this module's own (shared by its tests): never the user's."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _module_cache(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    return drift_template(tmp_path_factory.mktemp("template") / "svcforge")


@pytest.fixture(scope="module")
def pristine(template: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated at the newest release, never changed."""
    return generate(template, NEWEST, tmp_path_factory.mktemp("pristine"))


def _files(root: Path) -> dict[str, bytes]:
    """Every file of a project outside .git, by path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def _git_apply_reverse(project: Path, patch: bytes) -> None:
    proc = subprocess.run(
        ["git", "apply", "-R", "-"], cwd=project, input=patch, capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


def _edit(project: Path) -> None:
    """Edit, delete and add files the way a team does."""
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("FROM", "FROM  ", 1) + "# ours\n")
    (project / "Makefile").unlink()
    readme = project / "README.md"
    readme.write_bytes(readme.read_bytes().rstrip(b"\n"))  # no newline at the end
    (project / NON_ASCII).write_text("# Café\n\nÉdité par l'équipe.\n", encoding="utf-8")
    (project / "docs" / "adr").rename(project / "docs" / "decisions")
    (project / "alembic.ini").chmod(0o755)
    (project / "src" / "own.py").write_text("OWN = True\n")


def test_diff_applies_in_reverse_to_restore_the_pristine_files(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    _edit(project)

    result = svcforge("diff", str(project))

    assert result.exit_code == 0, result.output
    patch = result.stdout_bytes
    assert b"diff --git a/Makefile b/Makefile\ndeleted file mode 100644\n" in patch
    assert b"\\ No newline at end of file\n" in patch
    assert b"old mode 100644\nnew mode 100755\n" in patch
    assert b'"a/docs/caf\\303\\251 notes.md"' in patch  # quoted as git quotes it
    assert b"src/own.py" not in patch

    _git_apply_reverse(project, patch)

    restored = _files(project)
    assert restored.pop("src/own.py") == b"OWN = True\n"
    assert {path for path in restored if path.startswith("docs/decisions/")}
    restored = {k: v for k, v in restored.items() if not k.startswith("docs/decisions/")}
    assert restored == _files(pristine)
    assert svcforge("diff", str(project)).stdout_bytes == b""


def test_only_the_named_files_and_folders(pristine, tmp_path, monkeypatch):
    project = copy_of(pristine, tmp_path)
    _edit(project)

    result = svcforge("diff", str(project), "Dockerfile", "docs/")
    assert result.exit_code == 0, result.output
    patch = result.stdout_bytes
    assert b"a/Dockerfile" in patch
    assert b"docs/adr/0001" in patch
    assert b"caf\\303\\251" in patch
    assert b"Makefile" not in patch

    # A path from the current folder into the project names the same file.
    monkeypatch.chdir(tmp_path)
    relative = svcforge("diff", project.name, f"{project.name}/Dockerfile")
    assert relative.stdout_bytes == svcforge("diff", str(project), "Dockerfile").stdout_bytes


def test_a_file_the_template_does_not_manage_is_a_clear_error(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    (project / "src" / "own.py").write_text("OWN = True\n")

    result = svcforge("diff", str(project), "src/own.py")

    assert result.exit_code == 2
    assert "src/own.py is not a file the template manages" in result.output
    assert "Traceback" not in result.output


def test_exit_code_only_with_the_option(pristine, tmp_path):
    assert svcforge("diff", str(pristine), "--exit-code").exit_code == 0
    project = copy_of(pristine, tmp_path)
    (project / "Makefile").write_text("all:\n")

    assert svcforge("diff", str(project)).exit_code == 0
    assert svcforge("diff", str(project), "--exit-code").exit_code == 1


def test_stat_and_json(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    _edit(project)

    stat = svcforge("diff", str(project), "--stat")
    assert "deleted    Makefile" in stat.output
    assert "customised Dockerfile" in stat.output

    result = svcforge("diff", str(project), "--json")
    document = json.loads(result.stdout)
    assert document["template_version"] == NEWEST
    assert {"path": "Makefile", "state": "deleted"} in document["files"]
    assert document["patch"].startswith("diff --git")


def test_binary_files_are_noted_or_written_as_git_binary_patches(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    (project / BINARY).write_bytes(b"\0changed")
    (project / "Dockerfile").write_text("FROM scratch\n")

    noted = svcforge("diff", str(project)).stdout_bytes
    assert f"Binary file {BINARY} differs".encode() in noted
    # The note is not part of any patch: git applies the rest.
    _git_apply_reverse(project, noted)
    assert (project / "Dockerfile").read_bytes() == (pristine / "Dockerfile").read_bytes()
    assert (project / BINARY).read_bytes() == b"\0changed"

    patch = svcforge("diff", str(project), "--binary").stdout_bytes
    assert b"GIT binary patch\n" in patch
    _git_apply_reverse(project, patch)
    assert (project / BINARY).read_bytes() == BINARY_DATA

    (project / BINARY).unlink()
    deleted = svcforge("diff", str(project), "--binary").stdout_bytes
    _git_apply_reverse(project, deleted)
    assert (project / BINARY).read_bytes() == BINARY_DATA


def test_a_link_in_place_of_a_file_is_reverted_too(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    (project / "CHANGELOG.md").unlink()
    (project / "CHANGELOG.md").symlink_to("README.md")

    patch = svcforge("diff", str(project)).stdout_bytes
    assert b"new file mode 120000\n" in patch
    _git_apply_reverse(project, patch)

    assert not (project / "CHANGELOG.md").is_symlink()
    assert (project / "CHANGELOG.md").read_bytes() == (pristine / "CHANGELOG.md").read_bytes()


def test_a_kept_file_is_shown_only_when_named(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    (project / KEPT).write_text("Ours.\n")

    assert project_diff(project).files == ()
    assert project_diff(project, [KEPT]).files == ((KEPT, "customised"),)


def test_the_project_is_never_written(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    _edit(project)
    before = tree_state(project)

    assert svcforge("diff", str(project), "--binary").exit_code == 0
    assert svcforge("diff", str(project), "--json").exit_code == 0

    assert tree_state(project) == before


def test_an_unusable_template_is_an_error_message(pristine, tmp_path):
    project = copy_of(pristine, tmp_path)
    set_recorded(project / ".copier-answers.yml", "_src_path", str(tmp_path / "gone"))

    result = svcforge("diff", str(project))

    assert result.exit_code == 4
    assert "does not exist" in result.output
    assert "Traceback" not in result.output

    not_generated = svcforge("diff", str(tmp_path / "gone"))
    assert not_generated.exit_code == 2
    assert ".copier-answers.yml is missing" in not_generated.output


def test_unreadable_file_is_noted():
    pristine = RenderedFile(b"a\n")
    note = file_patch("x y/é.txt", pristine, ProjectFile(b"", unreadable="denied"), binary=False)

    assert note == "# x y/é.txt: cannot be read (denied); not compared.\n".encode()
