"""`svcforge new` takes the template in every form users have: path, file:// and git+file://.

Also: without git on PATH, generating still works but says the project will not be
updatable (Copier cannot read the template's version).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from svcforge.cli import app
from svcforge.errors import TemplateSourceError
from svcforge.template_source import (
    SourceKind,
    copier_reads,
    local_path,
    resolve_template_source,
    set_recorded,
)
from tests.releases import run_git
from tests.template_clones import (
    Published,
    answers,
    clone_without_tags,
    file_url,
    publish_without_tags,
)

FAST = ["--defaults", "--no-lock"]
# Spaces, non-ASCII letters and a character URLs must encode.
ODD_FOLDER = "Vorlagen für Teams #1"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return publish_without_tags(tmp_path_factory.mktemp("published") / "svcforge")


@pytest.fixture(scope="module")
def template(published: Published, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone without tags in a folder whose name needs quoting everywhere."""
    return clone_without_tags(
        published.path, tmp_path_factory.mktemp("clones") / ODD_FOLDER / "svcforge Vorlage ü"
    )


def forms(path: Path) -> dict[str, str]:
    """Every way to name a local template repository."""
    return {
        "path": str(path),
        "file-literal": file_url(path, encoded=False),
        "file-encoded": file_url(path, encoded=True),
        "git+file-literal": file_url(path, encoded=False, git_prefix=True),
        "git+file-encoded": file_url(path, encoded=True, git_prefix=True),
    }


FORMS = list(forms(Path("/x")))


def svcforge(*args: str):
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("form", FORMS)
def test_new_accepts_every_form_of_the_template_env(
    form: str,
    template: Path,
    published: Published,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SVCFORGE_TEMPLATE", forms(template)[form])

    result = svcforge("new", "svc", *FAST)

    assert result.exit_code == 0, result.output
    recorded = answers(tmp_path / "svc")
    # An absolute path: the one form plain `copier update` reads back as it is.
    assert recorded["_src_path"] == str(template)
    tag, commit = published.candidate
    assert recorded["_commit"] == f"{tag}-0-g{commit[:7]}"
    assert svcforge("update", "svc", "--check").exit_code == 0


@pytest.mark.parametrize("form", FORMS)
def test_every_form_resolves_to_the_same_absolute_path(form: str, template: Path):
    source = resolve_template_source({"SVCFORGE_TEMPLATE": forms(template)[form], **_path()})

    assert (source.location, source.kind, source.warning) == (str(template), SourceKind.ENV, None)


def _path() -> dict[str, str]:
    return {"PATH": os.environ["PATH"]}


def test_local_path_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    odd = tmp_path / "a b" / "ü"
    assert local_path("file://localhost" + file_url(odd, encoded=True)[7:]) == odd
    assert local_path("FILE://" + str(odd)) == odd
    assert local_path("git+file:" + str(odd)) == odd
    assert local_path("relative/tpl") == tmp_path / "relative" / "tpl"
    assert local_path("https://example.com/svcforge.git") is None
    assert local_path("gh:org/svcforge") is None
    with pytest.raises(TemplateSourceError, match="another host"):
        local_path("file://fileserver/share/svcforge")


@pytest.mark.parametrize(
    ("recorded", "readable"),
    [
        ("/srv/svcforge", True),
        ("~/svcforge", True),
        ("git+file:///srv/svc%20forge", True),
        ("https://example.com/svcforge.git", True),
        ("file:///srv/svcforge", False),
        ("svcforge", False),
    ],
)
def test_which_recorded_sources_copier_reads_itself(recorded: str, readable: bool):
    assert copier_reads(recorded) is readable


def test_set_recorded_keeps_long_odd_values_on_one_line(tmp_path: Path):
    answers_file = tmp_path / ".copier-answers.yml"
    # Copier folds long values over several lines.
    answers_file.write_text(
        "# Copier\n_commit: abc1234\n_src_path: '/old/a long\n  path'\nname: x\n"
    )
    long_path = "/srv/" + " ".join(["Vorlagen für Teams: #1"] * 8)

    set_recorded(answers_file, "_src_path", long_path)
    set_recorded(answers_file, "_commit", "v1.0.0-0-gabc1234")

    lines = answers_file.read_text().splitlines()
    assert lines[0] == "# Copier"
    assert len(lines) == 4
    assert answers(tmp_path) == {
        "_commit": "v1.0.0-0-gabc1234",
        "_src_path": long_path,
        "name": "x",
    }


def _no_git_env(tmp_path: Path) -> dict[str, str]:
    """The environment without git: PATH is an empty folder (python is called by path)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"SVCFORGE_TEMPLATE", "VIRTUAL_ENV"}}
    env["PATH"] = str(empty)
    return env


@pytest.mark.parametrize("via_env", [False, True], ids=["checkout", "SVCFORGE_TEMPLATE"])
def test_without_git_new_warns_that_the_project_will_not_be_updatable(
    via_env: bool, template: Path, tmp_path: Path
):
    env = _no_git_env(tmp_path)
    if via_env:
        env["SVCFORGE_TEMPLATE"] = str(template)

    proc = subprocess.run(
        [sys.executable, "-m", "svcforge", "new", "svc", "--no-git", *FAST],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    message = flat(proc.stderr)
    assert "git is not installed" in message
    assert "cannot be updated later" in message
    assert "_commit" not in answers(tmp_path / "svc")
    # The update and its check then agree, naming exactly what is missing.
    project = tmp_path / "svc"
    run_git(project, "init", "--quiet")
    run_git(project, "add", "--all")
    run_git(project, "commit", "--quiet", "-m", "Generated without git")
    check = svcforge("update", str(project), "--check")
    update = svcforge("update", str(project))
    assert (check.exit_code, flat(check.output)) == (update.exit_code, flat(update.output))
    assert update.exit_code == 2
    assert "records no template version (`_commit`" in flat(update.output)
    assert "Set `_commit: vX.Y.Z`" in flat(update.output)
