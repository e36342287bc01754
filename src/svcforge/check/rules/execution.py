"""Rules for ``svcforge check --run``: run the project's own tools and read their verdict.

Each rule runs after the standard's static rule passed, through the :class:`Runner`
(the project's own environment, bounded in time, nothing written into the repository).
A command that fails makes the standard fail with its output as evidence; one that
could not run (a missing tool, no environment, a timeout) leaves it unknown.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from svcforge.check.engine import run_rule
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository
from svcforge.check.rules.quality import (
    coverage_gate,
    formatter,
    ini,
    linter,
    strict_types,
)
from svcforge.check.runner import CommandResult, Runner, svcforge_program


def _evidence(result: CommandResult, note: str) -> Evidence:
    return Evidence(note, command=result.command, output=result.output)


def _not_run(standard_id: str, result: CommandResult, what: str) -> Verdict:
    """UNKNOWN for a command that timed out or could not start."""
    if result.timed_out:
        summary = f"{what} did not finish in time, so it could not be judged by running it."
        remediation = "Run it by hand, or give `svcforge check --run` a longer timeout."
    else:
        why = result.output.splitlines()[-1] if result.output else "missing"
        summary = f"{what} could not be run: {why}."
        remediation = "Install the project's environment (e.g. `uv sync`) and run the check again."
    return Verdict(
        standard_id,
        Status.UNKNOWN,
        summary,
        (_evidence(result, "not run to its end"),),
        remediation,
    )


def _unfinished(result: CommandResult) -> bool:
    return result.timed_out or result.missing


# -- ARCH-2 -----------------------------------------------------------------------------


@run_rule("ARCH-2")
def import_contracts_kept(repo: Repository, runner: Runner) -> Verdict:
    """Runs `lint-imports` in the project's environment: every import-linter contract must be
    kept.
    """
    del repo  # the contracts are the project's own configuration, read by lint-imports
    result = runner.tool("lint-imports")
    if _unfinished(result):
        return _not_run("ARCH-2", result, "lint-imports")
    counts = re.search(r"Contracts:\s*(\d+)\s+kept,\s*(\d+)\s+broken", result.output)
    kept, broken = (int(counts.group(1)), int(counts.group(2))) if counts else (None, None)
    if result.returncode == 0 and not broken:
        return Verdict(
            "ARCH-2",
            Status.PASS,
            f"lint-imports keeps all {kept if kept is not None else 'the'} contracts.",
            (_evidence(result, "lint-imports passed"),),
        )
    what = f"{broken} import contracts are broken" if broken else "lint-imports fails"
    return Verdict(
        "ARCH-2",
        Status.FAIL,
        f"Running lint-imports: {what}.",
        (_evidence(result, f"lint-imports exited {result.returncode}"),),
        "Remove the imports that point against the layers (the output names each one), "
        "or move the code to the layer it belongs to.",
    )


# -- QA-1 -------------------------------------------------------------------------------


@run_rule("QA-1")
def coverage_gate_holds_when_run(repo: Repository, runner: Runner) -> Verdict:
    """Runs the tests with coverage (`pytest --cov`) in the project's environment: they must
    pass and the total coverage must reach the configured gate.
    """
    gate = coverage_gate(repo).fail_under
    report = runner.scratch / "coverage.json"
    report.unlink(missing_ok=True)
    result = runner.tool("pytest", "--cov", f"--cov-report=json:{report}", "--cov-report=term")
    if _unfinished(result):
        return _not_run("QA-1", result, "The test run")
    total = _coverage_total(report)
    if total is None:
        return Verdict(
            "QA-1",
            Status.FAIL,
            f"The test run with coverage exited {result.returncode} and measured no coverage.",
            (_evidence(result, "no coverage report"),),
            "Make `pytest --cov` work in the project's environment (pytest-cov installed, "
            "tests collected).",
        )
    measured = Evidence(f"total coverage {total:.2f}% (gate {gate or 0:g}%)", path="pyproject.toml")
    if result.returncode != 0:
        below = gate is not None and total < gate
        why = f"coverage {total:.1f}% is below the {gate:g}% gate" if below else "tests fail"
        return Verdict(
            "QA-1",
            Status.FAIL,
            f"The test run fails: {why}.",
            (_evidence(result, f"pytest exited {result.returncode}"), measured),
            "Add tests for the uncovered code." if below else "Fix the failing tests.",
        )
    if gate is not None and total < gate:
        return Verdict(
            "QA-1",
            Status.FAIL,
            f"Coverage is {total:.1f}%, below the {gate:g}% gate, yet the run passed.",
            (_evidence(result, "pytest passed below the gate"), measured),
            "Run the tests with `--cov` so the gate applies, and add tests for uncovered code.",
        )
    return Verdict(
        "QA-1",
        Status.PASS,
        f"The tests pass with {total:.1f}% coverage.",
        (_evidence(result, "pytest passed"), measured),
    )


def _coverage_total(report: Path) -> float | None:
    try:
        loaded = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    totals = loaded.get("totals") if isinstance(loaded, dict) else None
    value = totals.get("percent_covered") if isinstance(totals, dict) else None
    return float(value) if isinstance(value, int | float) else None


# -- QA-4 -------------------------------------------------------------------------------


def _mypy_arguments(repo: Repository) -> list[str]:
    """No arguments when the config names the files to check; else the source folder."""
    mypy = repo.tool("mypy")
    if isinstance(mypy, dict) and mypy.get("files"):
        return []
    for name in ("mypy.ini", ".mypy.ini", "setup.cfg"):
        parser = ini(repo, name)
        if parser is not None and parser.has_option("mypy", "files"):
            return []
    return ["src"] if any(name.startswith("src/") for name in repo.files) else ["."]


def _quality_commands(repo: Repository) -> list[tuple[str, tuple[str, ...]]]:
    """(tool, args) for the configured linter, formatter check and type checker."""
    commands: list[tuple[str, tuple[str, ...]]] = []
    lint, _ = linter(repo)
    if lint is not None and lint.note.startswith("ruff"):
        commands.append(("ruff", ("check", ".")))
    elif lint is not None and lint.note.startswith("flake8"):
        commands.append(("flake8", ()))
    formatted = formatter(repo)
    if formatted is not None and "black" in formatted.note and "ruff" not in formatted.note:
        commands.append(("black", ("--check", ".")))
    elif formatted is not None:
        commands.append(("ruff", ("format", "--check", ".")))
    strict, _ = strict_types(repo)
    if strict is not None and strict.note.startswith("mypy"):
        commands.append(("mypy", tuple(_mypy_arguments(repo))))
    elif strict is not None:
        commands.append((strict.note.split()[0], ()))
    return commands


@run_rule("QA-4")
def linters_pass(repo: Repository, runner: Runner) -> Verdict:
    """Runs the configured linter (`ruff check`), formatter check (`ruff format --check`) and
    type checker (`mypy`) in the project's environment: all must pass.
    """
    results = [runner.tool(tool, *args) for tool, args in _quality_commands(repo)]
    failed = [r for r in results if not _unfinished(r) and r.returncode != 0]
    if failed:
        names = ", ".join(f"`{_tool_name(r)}`" for r in failed)
        return Verdict(
            "QA-4",
            Status.FAIL,
            f"Running the code checks: {names} failed.",
            tuple(_evidence(r, f"exited {r.returncode}") for r in failed),
            "Fix what the output lists (`ruff check --fix`, `ruff format`, type errors) "
            "and install the pre-commit hooks so it stays fixed.",
        )
    unfinished = [r for r in results if _unfinished(r)]
    if unfinished:
        return _not_run("QA-4", unfinished[0], f"`{_tool_name(unfinished[0])}`")
    return Verdict(
        "QA-4",
        Status.PASS,
        f"{', '.join(_tool_name(r) for r in results)} pass.",
        tuple(_evidence(r, "passed") for r in results),
    )


def _tool_name(result: CommandResult) -> str:
    """``ruff check``, ``ruff format``, ``mypy``: the tool and its subcommand, no options."""
    program = result.argv[0].rsplit("/", 1)[-1]
    if program == "uv":  # uv run --frozen --quiet <tool> ...
        rest = [arg for arg in result.argv[2:] if not arg.startswith("-")]
        program, rest = rest[0], rest[1:]
    else:
        rest = [arg for arg in result.argv[1:] if not arg.startswith("-")]
    if program in {"ruff"} and rest:
        return f"{program} {rest[0]}"
    return program


# -- DEL-1 ------------------------------------------------------------------------------


@run_rule("DEL-1")
def dockerfile_lints_clean(repo: Repository, runner: Runner) -> Verdict:
    """Runs hadolint on the Dockerfile (the project's own hadolint, else the one installed with
    svcforge), with the project's .hadolint.yaml: it must report nothing.
    """
    dockerfile = repo.dockerfile
    if dockerfile is None:
        return Verdict(
            "DEL-1",
            Status.UNKNOWN,
            "There is no readable Dockerfile to lint.",
            (Evidence("no Dockerfile", path="."),),
            "Add a Dockerfile.",
        )
    result = runner.tool("hadolint", dockerfile.path)
    if result.missing:
        bundled = svcforge_program("hadolint")
        if bundled is not None:
            result = runner.program(bundled, dockerfile.path)
    if _unfinished(result):
        return _not_run("DEL-1", result, "hadolint")
    if result.returncode == 0:
        return Verdict(
            "DEL-1",
            Status.PASS,
            "hadolint reports nothing.",
            (_evidence(result, "hadolint passed"),),
        )
    findings = len(re.findall(r"\bDL\d{4}\b|\bSC\d{4}\b", result.output))
    return Verdict(
        "DEL-1",
        Status.FAIL,
        f"hadolint reports {findings or 'problems'} in {dockerfile.path}.",
        (
            Evidence(
                f"hadolint exited {result.returncode}",
                path=dockerfile.path,
                command=result.command,
                output=result.output,
            ),
        ),
        "Fix each finding hadolint lists (its rule id explains the fix), or ignore one on "
        "purpose in .hadolint.yaml with the reason.",
    )
