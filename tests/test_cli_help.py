"""Help that teaches, errors machines can read, output people can paste."""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import typer

from svcforge import errors
from svcforge.cli import handle_errors
from svcforge.errors import EXIT_CODES, SvcforgeError, ToolError
from svcforge.help_text import ENVIRONMENT
from svcforge.project import tracked_files, uncommitted_files, unmerged_files
from tests.support import run_svcforge, svcforge

SRC = Path(__file__).resolve().parents[1] / "src" / "svcforge"
FAST = ["--no-git", "--no-lock"]
COMMANDS = [[], ["new"], ["update"]]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --help ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=["svcforge", "new", "update"])
def test_short_help_option_and_no_type_placeholders(command: list[str]):
    long, short = svcforge(*command, "--help"), svcforge(*command, "-h")
    assert long.exit_code == short.exit_code == 0, long.output
    assert long.stdout == short.stdout
    assert "<bool>" not in long.stdout
    assert "-h, --help" in long.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=["svcforge", "new", "update"])
def test_help_has_examples_environment_and_exit_codes(command: list[str]):
    text = svcforge(*command, "--help").stdout
    assert "Examples:" in text
    examples = text.split("Examples:")[1].split("Environment variables:")[0]
    expected = f"svcforge {command[0]}" if command else "svcforge new"
    assert expected in examples
    assert "Environment variables:" in text
    assert "SVCFORGE_TEMPLATE " in text
    assert "Exit codes:" in text
    for code in (0, 1, 2, 130):
        assert f"\n    {code} " in text, code


def test_root_help_lists_every_exit_code_and_variable():
    text = svcforge("--help").stdout
    for code in EXIT_CODES:
        assert f"\n    {code} " in text, code
    for name in ENVIRONMENT:
        assert f"\n    {name} " in text, name
    assert "GIT_*" in text


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _subclasses(child))]


def test_every_error_exit_code_is_documented():
    from svcforge.update import UPDATE_AVAILABLE_EXIT_CODE  # noqa: PLC0415 - the one non-error

    codes = {kind.exit_code for kind in _subclasses(SvcforgeError)}
    assert codes | {0, 1, UPDATE_AVAILABLE_EXIT_CODE} <= set(EXIT_CODES)
    assert errors.aborted_by(15, "x").exit_code == 143


def _environment_variables_read() -> set[str]:
    """Names the code reads from the environment: os.environ/env .get, [...], getenv."""
    constants: dict[str, str] = {}
    trees = [ast.parse(path.read_text()) for path in sorted(SRC.rglob("*.py"))]
    for tree in trees:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign | ast.AnnAssign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] = node.value.value

    def value(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    def is_environment(node: ast.AST) -> bool:
        return "env" in ast.unparse(node).lower()

    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            name = None
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.args
                and (node.func.attr == "getenv" or is_environment(node.func.value))
                and node.func.attr in {"get", "getenv", "setdefault", "pop"}
            ):
                name = value(node.args[0])
            elif isinstance(node, ast.Subscript) and is_environment(node.value):
                name = value(node.slice)
            if name and name.isupper():
                found.add(name)
    return found


def test_help_documents_every_environment_variable_the_code_reads():
    read = _environment_variables_read()
    assert "SVCFORGE_TEMPLATE" in read  # the scan works
    # PATH locates git and uv; VIRTUAL_ENV is removed so `uv lock` ignores another venv;
    # `check --run` removes FORCE_COLOR and sets UV_PROJECT_ENVIRONMENT for the tools it runs.
    set_for_children = {"PATH", "VIRTUAL_ENV", "FORCE_COLOR", "UV_PROJECT_ENVIRONMENT"}
    undocumented = read - set(ENVIRONMENT) - set_for_children
    if "GIT_*" in ENVIRONMENT:  # git's own variables, documented as a group
        undocumented = {name for name in undocumented if not name.startswith("GIT_")}
    assert not undocumented


# --json errors --------------------------------------------------------------------------


@pytest.mark.usefixtures("workdir")
def test_json_error_is_json_on_stdout():
    result = svcforge("new", "svc", "--defaults", *FAST, "--json", "-d", "package_name=json")
    assert result.exit_code == 3
    payload = json.loads(result.stdout)
    assert payload["error"]["exit_code"] == 3
    assert payload["error"]["type"] == "InvalidAnswerError"
    assert "package_name" in payload["error"]["message"] or payload["error"]["message"]
    assert "Invalid answer" in result.stderr  # people still get the message


def test_update_json_error_is_json_on_stdout(workdir: Path):
    result = svcforge("update", str(workdir), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "NotAGeneratedProjectError"


def test_usage_error_with_json_is_json_on_stdout(workdir: Path):
    result = run_svcforge(["new", "svc", "--json", "--no-such-option"], cwd=workdir)
    assert result.returncode == 2
    payload = json.loads(result.stdout)
    assert "--no-such-option" in payload["error"]["message"]
    assert "No such option" in result.stderr
    plain = run_svcforge(["new", "svc", "--no-such-option"], cwd=workdir)
    assert plain.returncode == 2
    assert plain.stdout == ""


def test_console_script_keeps_help_version_and_no_args(workdir: Path):
    assert "Exit codes:" in run_svcforge(["-h"], cwd=workdir).stdout
    bare = run_svcforge([], cwd=workdir)
    assert bare.returncode == 2
    assert "Usage:" in bare.stdout + bare.stderr


# Replay command and next steps ---------------------------------------------------------


def printed_command(output: str) -> list[str]:
    [line] = [ln.strip() for ln in output.splitlines() if ln.strip().startswith("svcforge new")]
    return shlex.split(line)


def test_replay_keeps_force_and_works_on_a_non_empty_directory(workdir: Path):
    (workdir / "first").mkdir()
    (workdir / "first" / "keep.txt").write_text("x\n")
    result = svcforge("new", "first", "--defaults", "--force", *FAST)
    assert result.exit_code == 0, result.output
    argv = printed_command(result.stdout)
    assert "--force" in argv
    (workdir / "second").mkdir()
    (workdir / "second" / "keep.txt").write_text("y\n")
    argv[2] = "second"
    again = svcforge(*argv[1:])
    assert again.exit_code == 0, again.output


@pytest.mark.usefixtures("workdir")
def test_next_steps_cd_line_is_shell_quoted():
    name = """my svc: it's "$HOME" & `ls` \\ café"""
    result = svcforge("new", name, "--defaults", *FAST, "-d", "project_name=Svc")
    assert result.exit_code == 0, result.output
    [line] = [ln.strip() for ln in result.stdout.splitlines() if ln.strip().startswith("cd ")]
    assert shlex.split(line) == ["cd", name]


# Real file names ----------------------------------------------------------------------

HOSTILE_NAMES = ["café.txt", 'q"uote.txt', "sp ace.txt", "back\\slash.txt", "日本.md"]


def test_git_file_lists_are_real_names(tmp_path: Path):
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    for name in HOSTILE_NAMES:
        (tmp_path / name).write_text("x\n")
    assert uncommitted_files(tmp_path) == sorted(HOSTILE_NAMES)
    subprocess.run(["git", "add", "--all"], cwd=tmp_path, check=True)
    assert tracked_files(tmp_path) == sorted(HOSTILE_NAMES)
    subprocess.run(["git", "mv", "café.txt", "renamed é.txt"], cwd=tmp_path, check=True)
    assert "renamed é.txt" in uncommitted_files(tmp_path)
    assert "café.txt" not in uncommitted_files(tmp_path)
    assert unmerged_files(tmp_path) == []


def test_overwritten_list_prints_non_ascii_names_as_themselves(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
):
    template = tmp_path_factory.mktemp("tpl")
    (template / "copier.yml").write_text("_subdirectory: t\n_templates_suffix: .jinja\n")
    (template / "t").mkdir()
    (template / "t" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml -}}\n"
    )
    (template / "t" / "Résumé 日本.md").write_text("new\n")
    monkeypatch.setenv("SVCFORGE_TEMPLATE", str(template))
    (workdir / "svc").mkdir()
    (workdir / "svc" / "Résumé 日本.md").write_text("old\n")
    result = svcforge("new", "svc", "--defaults", "--force", *FAST, "--json")
    assert result.exit_code == 0, result.output
    assert "  Résumé 日本.md" in result.stderr.splitlines()
    assert '"Résumé 日本.md"' in result.stdout  # JSON keeps the name readable too
    assert json.loads(result.stdout)["overwritten"] == ["Résumé 日本.md"]


# Tracebacks become messages -----------------------------------------------------------


@pytest.fixture(scope="module")
def committed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated, committed project (shared: the tests below only read it)."""
    root = tmp_path_factory.mktemp("committed")
    made = run_svcforge(["new", "svc", "--defaults", "--no-lock"], cwd=root)
    assert made.returncode == 0, made.stderr
    return root / "svc"


@pytest.mark.parametrize("options", [["--check"], ["--dry-run"], []], ids=["check", "dry", "run"])
def test_update_without_git_on_path_is_explained(
    committed_project: Path, tmp_path: Path, options: list[str]
):
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty directory: no git
    result = run_svcforge(["update", str(committed_project), *options], cwd=tmp_path, env=env)
    assert "Traceback" not in result.stderr
    assert result.returncode == 5, result.stderr
    assert "git is not installed" in result.stderr


def test_missing_tool_noticed_deep_inside_is_a_tool_error(capsys: pytest.CaptureFixture[str]):
    def command(*, as_json: bool) -> None:
        assert as_json
        raise FileNotFoundError(2, "No such file or directory", "git")

    with pytest.raises(typer.Exit) as stopped:
        handle_errors(command)(as_json=True)
    assert stopped.value.exit_code == ToolError.exit_code
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"]["type"] == "ToolError"
    assert "git is not installed" in captured.err


def test_a_missing_data_file_is_not_mistaken_for_a_missing_tool():
    def command() -> None:
        raise FileNotFoundError(2, "No such file or directory", "answers.yml")

    with pytest.raises(FileNotFoundError):
        handle_errors(command)()


def test_ctrl_c_anywhere_in_a_command_prints_one_line(capsys: pytest.CaptureFixture[str]):
    def command() -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as stopped:
        handle_errors(command)()
    assert stopped.value.exit_code == 130
    assert capsys.readouterr().err.strip() == "Aborted: Interrupted by SIGINT."
