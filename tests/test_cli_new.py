"""`svcforge new` through the CLI: answers, git, replay command, bad input."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from svcforge import __version__
from svcforge.cli import app
from svcforge.errors import (
    BadDataError,
    DestinationError,
    InteractiveSessionRequiredError,
    InvalidAnswerError,
)
from tests.support import snapshot

FAST = ["--no-git", "--no-lock"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every command from a fresh temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def svcforge(*args: str):
    """Invoke the CLI in-process; stdin is not a terminal, like in CI."""
    return CliRunner().invoke(app, list(args))


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def public(project: Path) -> dict:
    return {k: v for k, v in answers(project).items() if not k.startswith("_")}


def flat(text: str) -> str:
    return " ".join(text.split())


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_version():
    result = svcforge("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"svcforge {__version__}"


def test_defaults_generation_stores_absolute_src_path(workdir: Path, repo_root: Path):
    # Named like the default project: the default names agree whether they come from the
    # default project name or from the destination's name.
    result = svcforge("new", "example-service", "--defaults", *FAST)
    assert result.exit_code == 0, result.output
    project = workdir / "example-service"
    recorded = answers(project)
    assert Path(recorded["_src_path"]).is_absolute()
    assert Path(recorded["_src_path"]) == repo_root
    assert recorded["project_slug"] == "example-service"
    assert recorded["package_name"] == "example_service"
    assert (project / "pyproject.toml").is_file()
    assert not (project / ".git").exists()
    assert "make install" in result.stdout


def test_git_repo_has_one_commit_and_clean_tree(workdir: Path, monkeypatch: pytest.MonkeyPatch):
    # Whatever the machine's init.defaultBranch, the first commit is on `main`, where the
    # generated CI runs.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "init.defaultBranch")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "trunk")
    result = svcforge("new", "svc", "--defaults", "--no-lock", "--json")
    assert result.exit_code == 0, result.output
    project = workdir / "svc"
    assert git(project, "branch", "--show-current") == "main"
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "log", "-1", "--format=%s") == f"Initial commit from svcforge {__version__}"
    assert json.loads(result.stdout)["commit"] == git(project, "rev-parse", "HEAD")


def test_data_overrides_land_in_answers(workdir: Path):
    result = svcforge(
        "new",
        "svc",
        "--defaults",
        *FAST,
        "--data",
        "project_name=Billing API",
        "-d",
        "python_version=3.12",
        "-d",
        "author_email=billing@example.org",
    )
    assert result.exit_code == 0, result.output
    got = public(workdir / "svc")
    assert got["project_name"] == "Billing API"
    # Derived defaults follow the overridden name.
    assert got["project_slug"] == "billing-api"
    assert got["package_name"] == "billing_api"
    assert got["python_version"] == "3.12"
    assert got["author_email"] == "billing@example.org"


def test_data_file_with_data_override(workdir: Path):
    data_file = workdir / "answers.yml"
    data_file.write_text(
        yaml.safe_dump(
            {"project_name": "Ledger", "author_name": "Finance", "python_version": "3.11"}
        )
    )
    result = svcforge(
        "new",
        "svc",
        "--defaults",
        *FAST,
        "--data-file",
        str(data_file),
        "-d",
        "author_name=Payments",
    )
    assert result.exit_code == 0, result.output
    got = public(workdir / "svc")
    assert (got["project_name"], got["project_slug"], got["python_version"]) == (
        "Ledger",
        "ledger",
        "3.11",
    )
    assert got["author_name"] == "Payments"  # --data wins over --data-file


def test_printed_command_repeats_the_generation(workdir: Path):
    result = svcforge(
        "new",
        "first",
        "--defaults",
        *FAST,
        "-d",
        "project_name=Billing API",
        "-d",
        "description=It's $5 & more",
    )
    assert result.exit_code == 0, result.output
    [line] = [
        ln.strip() for ln in result.stdout.splitlines() if ln.strip().startswith("svcforge new")
    ]
    argv = shlex.split(line)
    assert argv[:3] == ["svcforge", "new", "first"]
    argv[2] = "second"
    again = svcforge(*argv[1:])
    assert again.exit_code == 0, again.output
    # _commit is left out: it changes if someone commits to the template in between.
    first, second = answers(workdir / "first"), answers(workdir / "second")
    first.pop("_commit"), second.pop("_commit")
    assert second == first


def test_json_output(workdir: Path, repo_root: Path):
    result = svcforge("new", "svc", "--defaults", *FAST, "--json", "-d", "project_name=Json Svc")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["dest"] == str(workdir / "svc")
    assert payload["answers"]["project_slug"] == "json-svc"
    assert not any(key.startswith("_") for key in payload["answers"])
    assert payload["template"]["source"] == str(repo_root)
    assert payload["template"]["kind"] == "checkout"
    assert payload["commit"] is None
    assert payload["locked"] is False
    assert payload["command"].startswith("svcforge new svc --defaults ")


def test_force_into_non_empty_dir_keeps_unrelated_files(workdir: Path):
    dest = workdir / "example-service"
    dest.mkdir()
    (dest / "NOTES.txt").write_text("keep me\n")
    result = svcforge("new", "example-service", "--defaults", "--force", *FAST)
    assert result.exit_code == 0, result.output
    assert (dest / "NOTES.txt").read_text() == "keep me\n"
    assert answers(dest)["project_slug"] == "example-service"
    assert (dest / "pyproject.toml").is_file()


# Bad input: exit code, message, exit code class, and nothing written.
ANSWER_ERRORS = [
    pytest.param(
        ["-d", "project_slug=9abc"], "must start with a lowercase ASCII letter", id="slug"
    ),
    pytest.param(["-d", "package_name=Foo-bar"], "'package_name'", id="pkg-name"),
    pytest.param(["-d", "package_name=class"], "is a Python keyword", id="pkg-keyword"),
    pytest.param(["-d", "package_name=json"], "standard-library module", id="pkg-stdlib"),
    pytest.param(["-d", "author_email=nope"], "'author_email'", id="email"),
    pytest.param(
        ["-d", "python_version=3.9"],
        "python_version='3.9' is not one of its choices. Choose one of: 3.13; 3.12; 3.11.",
        id="python",
    ),
]
USAGE_ERRORS = [
    pytest.param(["-d", "foo"], "--data expects key=value", id="data-no-equals"),
    pytest.param(["-d", "=x"], "--data expects key=value", id="data-no-key"),
    pytest.param(["--data-file", "missing.yml"], "does not exist", id="missing-data-file"),
]


@pytest.mark.parametrize(("args", "message"), ANSWER_ERRORS + USAGE_ERRORS)
def test_bad_input_writes_nothing(workdir: Path, args: list[str], message: str):
    result = svcforge("new", "svc", "--defaults", *FAST, *args)
    assert result.exit_code not in (0, 1), result.output  # 1 would be an unexpected crash
    assert message in flat(result.output)
    assert "Traceback" not in result.output
    assert not (workdir / "svc").exists()


@pytest.mark.parametrize(("args", "message"), ANSWER_ERRORS)
def test_bad_answer_leaves_existing_dir_unchanged(workdir: Path, args: list[str], message: str):
    dest = workdir / "svc"
    (dest / "docs").mkdir(parents=True)
    (dest / "docs" / "notes.md").write_text("mine\n")
    before = snapshot(dest)
    result = svcforge("new", "svc", "--defaults", "--force", *FAST, *args)
    assert result.exit_code == InvalidAnswerError.exit_code, result.output
    assert message in flat(result.output)
    assert snapshot(dest) == before


def test_bad_answer_leaves_empty_dir_empty(workdir: Path):
    (workdir / "svc").mkdir()
    result = svcforge("new", "svc", "--defaults", *FAST, "-d", "package_name=json")
    assert result.exit_code == InvalidAnswerError.exit_code
    assert list((workdir / "svc").iterdir()) == []


def test_non_empty_dest_without_force_is_refused(workdir: Path):
    dest = workdir / "svc"
    dest.mkdir()
    (dest / "app.py").write_text("print('hi')\n")
    before = snapshot(dest)
    result = svcforge("new", "svc", "--defaults", *FAST)
    assert result.exit_code == DestinationError.exit_code
    assert "is not empty" in flat(result.output)
    assert "--force" in result.output
    assert snapshot(dest) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [("- a\n- b\n", "must contain a YAML mapping"), ("a: [\n", "is not valid YAML")],
)
def test_malformed_data_file(workdir: Path, content: str, message: str):
    (workdir / "bad.yml").write_text(content)
    result = svcforge("new", "svc", "--defaults", *FAST, "--data-file", "bad.yml")
    assert result.exit_code == BadDataError.exit_code
    assert message in flat(result.output)
    assert not (workdir / "svc").exists()


def test_no_terminal_without_defaults(workdir: Path):
    result = svcforge("new", "svc", *FAST)
    assert result.exit_code == InteractiveSessionRequiredError.exit_code
    assert "--defaults" in result.output
    assert "Traceback" not in result.output
    assert not (workdir / "svc").exists()


@pytest.fixture(scope="session")
def template_clone(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain git clone of the committed template (what SVCFORGE_TEMPLATE users point at)."""
    clone = tmp_path_factory.mktemp("clone") / "svcforge-template"
    subprocess.run(["git", "clone", "--quiet", str(repo_root), str(clone)], check=True)
    return clone


def test_template_env_override_relative_path_is_stored_absolute(
    workdir: Path, template_clone: Path, monkeypatch: pytest.MonkeyPatch
):
    link = workdir / "tpl"
    link.symlink_to(template_clone)
    monkeypatch.setenv("SVCFORGE_TEMPLATE", "tpl")  # relative to the working directory
    result = svcforge("new", "svc", "--defaults", *FAST, "--json")
    assert result.exit_code == 0, result.output
    recorded = answers(workdir / "svc")
    assert recorded["_src_path"] == str(link)
    assert recorded["_commit"]  # a git template: `copier update` can work later
    assert json.loads(result.stdout)["template"]["kind"] == "env"


def test_template_env_override_missing_dir(workdir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SVCFORGE_TEMPLATE", str(workdir / "nowhere"))
    result = svcforge("new", "svc", "--defaults", *FAST)
    assert result.exit_code != 0
    assert "SVCFORGE_TEMPLATE" in result.output
    assert not (workdir / "svc").exists()


@pytest.mark.slow
def test_lock_produces_uv_lock(workdir: Path):
    # Real subprocess: exercises the console script and `uv lock` against PyPI.
    proc = subprocess.run(
        [sys.executable, "-m", "svcforge", "new", "svc", "--defaults", "--no-git"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (workdir / "svc" / "uv.lock").is_file()


@pytest.mark.usefixtures("workdir")
def test_unknown_data_key_is_reported():
    result = svcforge("new", "svc", "--defaults", *FAST, "--json", "-d", "projct_name=Typo")
    assert result.exit_code == 0, result.output
    assert "unknown question(s): projct_name" in flat(result.stderr)
    assert json.loads(result.stdout)["warnings"] == [
        "Ignored data for unknown question(s): projct_name."
    ]
