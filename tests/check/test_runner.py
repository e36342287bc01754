"""The Runner of ``svcforge check --run`` and the rules that run the project's tools."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from svcforge.check.model import Status
from svcforge.check.repository import Repository
from svcforge.check.rules.execution import (
    coverage_gate_holds_when_run,
    dockerfile_lints_clean,
    import_contracts_kept,
    linters_pass,
)
from svcforge.check.runner import OUTPUT_TAIL_CHARS, CommandResult, Runner
from tests.generated.support import clean_env, find_python

#: Files whose content or timestamps a check must never change; .venv is the project's.
Snapshot = dict[str, tuple[str, int, int]]


def snapshot(root: Path) -> Snapshot:
    """Every path below ``root`` (symlinks not followed) with its kind, size and mtime."""
    found: Snapshot = {}
    for directory, subdirectories, names in os.walk(root):
        if Path(directory) == root and ".venv" in subdirectories:
            subdirectories.remove(".venv")
            found[".venv"] = ("venv", 0, 0)
        for name in [*subdirectories, *names]:
            path = Path(directory) / name
            info = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            size = 0 if kind == "dir" else info.st_size
            found[path.relative_to(root).as_posix()] = (kind, size, info.st_mtime_ns)
    return found


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    return root


_SMALL_PROJECT = {
    "pyproject.toml": '[project]\nname = "small"\nversion = "0"\n\n'
    '[tool.ruff.lint]\nselect = ["E", "F", "I"]\n\n'
    '[tool.mypy]\nstrict = true\nfiles = ["src"]\n\n'
    '[tool.pytest.ini_options]\npythonpath = ["src"]\ntestpaths = ["tests"]\n',
    "src/small/__init__.py": "",
    "src/small/core.py": 'def double(value: int) -> int:\n    """Twice the value."""\n'
    "    return value * 2\n",
    "tests/test_core.py": "from small.core import double\n\n\n"
    "def test_double() -> None:\n    assert double(2) == 4\n",
}


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A tiny project whose .venv is svcforge's own (it has pytest, ruff and mypy)."""
    root = write(tmp_path / "small", _SMALL_PROJECT)
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return root


# -- the Runner ----------------------------------------------------------------------------


def test_a_command_longer_than_the_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"README.md": "# repo\n"})
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    result = Runner(root, timeout=0.5).program("sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait")
    assert time.monotonic() - started < 5
    assert result.timed_out
    assert result.returncode is None
    assert not result.missing
    assert not result.ok
    assert "killed after 0.5 s" in result.output
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        status = Path(f"/proc/{grandchild}/status")
        if not status.exists() or "\nState:\tZ" in status.read_text():
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild outlived the timeout")


def test_missing_tools_are_reported_not_raised(small_project: Path, tmp_path: Path) -> None:
    runner = Runner(small_project, timeout=30)
    assert runner.tool("no-such-tool-anywhere").missing
    assert runner.program("no-such-program-anywhere").missing
    bare = write(tmp_path / "bare", {"pyproject.toml": '[project]\nname = "bare"\n'})
    result = Runner(bare, timeout=30).tool("pytest")
    assert result.missing
    assert "no .venv and no uv.lock" in result.output


def test_missing_uv_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "locked", {"pyproject.toml": '[project]\nname = "x"\n', "uv.lock": ""})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = Runner(root, timeout=30).tool("pytest")
    assert result.missing
    assert result.output == "uv is not installed"


def test_without_venv_uv_builds_the_environment_outside_the_repository(tmp_path: Path) -> None:
    first = Runner(write(tmp_path / "a" / "svc", {"uv.lock": ""}), timeout=30)
    second = Runner(write(tmp_path / "b" / "svc", {"uv.lock": ""}), timeout=30)
    environment = Path(first.environment()["UV_PROJECT_ENVIRONMENT"])
    assert not environment.is_relative_to(first.root)
    assert environment != Path(second.environment()["UV_PROJECT_ENVIRONMENT"])
    assert first.environment()["PYTHONDONTWRITEBYTECODE"] == "1"
    assert not Path(first.environment()["COVERAGE_FILE"]).is_relative_to(first.root)


def test_output_keeps_the_tail(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"README.md": "# repo\n"})
    result = Runner(root, timeout=30).program(
        sys.executable, "-c", "print('head'); print('x' * 20000); print('the end')"
    )
    assert result.ok
    assert len(result.output) <= OUTPUT_TAIL_CHARS
    assert result.output.endswith("the end")
    assert "head" not in result.output


def test_tools_run_in_the_project_venv_and_leave_the_repository_unchanged(
    small_project: Path,
) -> None:
    before = snapshot(small_project)
    with Runner(small_project, timeout=120) as runner:
        results = [
            runner.tool("pytest", "-q"),
            runner.tool("ruff", "check", "."),
            runner.tool("ruff", "format", "--check", "."),
            runner.tool("mypy"),
        ]
        scratch = runner.scratch
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.output for r in results]
    assert results[0].argv[:3] == (".venv/bin/pytest", "-p", "no:cacheprovider")
    assert "1 passed" in results[0].output
    assert snapshot(small_project) == before
    assert not scratch.exists()


# -- run rules, with scripted command results --------------------------------------------


class ScriptedRunner(Runner):
    """A Runner whose project tools answer with prepared results (other programs run)."""

    def __init__(self, root: Path, results: dict[str, CommandResult]) -> None:
        super().__init__(root, timeout=30)
        self.results = results
        self.calls: list[tuple[str, ...]] = []

    def tool(self, name: str, *args: str) -> CommandResult:
        self.calls.append((name, *args))
        if name == "pytest":  # write the coverage report where the rule asked for it
            report = next(a.split(":", 1)[1] for a in args if a.startswith("--cov-report=json:"))
            total = self.results["coverage"].output
            Path(report).write_text(json.dumps({"totals": {"percent_covered": float(total)}}))
        return self.results.get(name, _done(name, None, "not installed", missing=True))


def _done(
    tool: str, code: int | None, output: str, *, timed_out: bool = False, missing: bool = False
) -> CommandResult:
    return CommandResult((tool,), code, output, timed_out, missing)


def test_broken_contracts_fail_arch2_with_the_output(tmp_path: Path) -> None:
    output = "example_service.items.service -> example_service.items.router\n"
    output += "Contracts: 3 kept, 1 broken.\n"
    runner = ScriptedRunner(tmp_path, {"lint-imports": _done("lint-imports", 1, output)})
    verdict = import_contracts_kept(Repository(tmp_path), runner)
    assert verdict.status is Status.FAIL
    assert verdict.summary == "Running lint-imports: 1 import contracts are broken."
    assert verdict.evidence[0].output == output
    assert verdict.evidence[0].command == "lint-imports"


@pytest.mark.parametrize(
    "result",
    [
        _done("lint-imports", None, "killed after 30 s", timed_out=True),
        _done("lint-imports", None, "lint-imports is not installed in .venv", missing=True),
    ],
)
def test_commands_that_cannot_finish_leave_the_standard_unknown(
    tmp_path: Path, result: CommandResult
) -> None:
    runner = ScriptedRunner(tmp_path, {"lint-imports": result})
    verdict = import_contracts_kept(Repository(tmp_path), runner)
    assert verdict.status is Status.UNKNOWN
    assert verdict.remediation


def test_coverage_below_the_gate_fails_qa1(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.coverage.report]\nfail_under = 80\n"})
    runner = ScriptedRunner(
        tmp_path,
        {
            "pytest": _done("pytest", 1, "FAIL Required test coverage of 80% not reached."),
            "coverage": _done("coverage", 0, "72.5"),
        },
    )
    verdict = coverage_gate_holds_when_run(Repository(tmp_path), runner)
    assert verdict.status is Status.FAIL
    assert verdict.summary == "The test run fails: coverage 72.5% is below the 80% gate."
    runner.results["pytest"] = _done("pytest", 0, "10 passed")
    runner.results["coverage"] = _done("coverage", 0, "91")
    assert coverage_gate_holds_when_run(Repository(tmp_path), runner).status is Status.PASS


def test_lint_failure_fails_qa4_and_names_the_tool(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["ALL"]\n[tool.ruff.format]\n'
            "[tool.mypy]\nstrict = true\n"
        },
    )
    runner = ScriptedRunner(
        tmp_path,
        {"ruff": _done("ruff", 1, "F401 unused import"), "mypy": _done("mypy", 0, "Success")},
    )
    verdict = linters_pass(Repository(tmp_path), runner)
    assert verdict.status is Status.FAIL
    assert "`ruff`" in verdict.summary
    assert ("mypy", "src") not in runner.calls
    assert ("mypy", ".") in runner.calls  # no src/ folder and no files setting


def test_hadolint_of_svcforge_lints_the_dockerfile(
    tmp_path: Path, rendered_projects: dict[str, Path]
) -> None:
    shutil.copy(rendered_projects["defaults"] / "Dockerfile", tmp_path / "Dockerfile")
    with Runner(tmp_path, timeout=60) as runner:
        verdict = dockerfile_lints_clean(Repository(tmp_path), runner)
        assert verdict.status is Status.PASS, verdict.evidence
        (tmp_path / "Dockerfile").write_text("FROM python\nRUN pip install flask\n")
        verdict = dockerfile_lints_clean(Repository(tmp_path), runner)
    assert verdict.status is Status.FAIL
    assert "DL3006" in (verdict.evidence[0].output or "")  # untagged base image
    assert verdict.evidence[0].path == "Dockerfile"


# -- on a real generated project (installs it: about two minutes) -------------------------


def _uv(project: Path, *args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        ["uv", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_run_rules_on_a_generated_project(
    rendered_projects: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "example-service"
    shutil.copytree(rendered_projects["defaults"], project)
    env = clean_env(UV_PYTHON=str(find_python("3.13")))
    _uv(project, "lock", env=env)
    _uv(project, "sync", "--frozen", env=env)
    before = snapshot(project)
    repo = Repository(project)
    with Runner(project, timeout=1200) as runner:
        for rule in (
            import_contracts_kept,
            coverage_gate_holds_when_run,
            linters_pass,
            dockerfile_lints_clean,
        ):
            verdict = rule(repo, runner)
            assert verdict.status is Status.PASS, (verdict.summary, verdict.evidence)
        assert snapshot(project) == before

        # Break a contract: the service layer imports the HTTP layer above it.
        service = project / "src" / "example_service" / "items" / "service.py"
        with service.open("a", encoding="utf-8") as file:
            injected = "from example_service.items import router  # noqa: E402 - the breach"
            file.write(f"\n{injected}\n")
        verdict = import_contracts_kept(Repository(project), runner)
    assert verdict.status is Status.FAIL
    output = verdict.evidence[0].output or ""
    assert "broken" in output
    assert "example_service.items.service -> example_service.items.router" in output

    # Without .venv: uv builds the environment in the user's cache, not in the repository.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bare = tmp_path / "bare" / "example-service"
    shutil.copytree(project, bare, ignore=shutil.ignore_patterns(".venv"))
    with Runner(bare, timeout=900) as runner:
        result = runner.tool("ruff", "--version")
        assert result.ok, result.output
        assert result.argv[:3] == ("uv", "run", "--frozen")
        assert runner.cached_environment.is_relative_to(tmp_path / "cache")
        assert (runner.cached_environment / "bin" / "ruff").exists()
    assert not (bare / ".venv").exists()
