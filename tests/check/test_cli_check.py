"""``svcforge check`` and ``svcforge standards`` from the command line: exit codes, formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from svcforge.check import engine
from svcforge.check.engine import CheckResult
from svcforge.check.formats import Format, json_report
from svcforge.check.model import Drift, Status
from svcforge.commands import check as check_command
from svcforge.errors import EXIT_CODES
from svcforge.standards import LEVELS, load_standards
from tests.check.report_samples import (
    FAILING,
    parse_junit,
    passing_result,
    sample_drift,
    sample_result,
    sarif_schema,
)
from tests.support import run_svcforge, svcforge

Judge = Callable[..., CheckResult]


@pytest.fixture(autouse=True)
def no_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drift re-renders the template at the project's version: its own tests cover it."""
    monkeypatch.setattr(check_command, "_drift", lambda _root: None)


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[Path], CheckResult]], list]:
    """Replace the engine's ``judge`` with one returning a chosen result; record its calls."""
    calls: list[dict[str, Any]] = []

    def use(make: Callable[[Path], CheckResult]) -> list[dict[str, Any]]:
        def fake(root: Path, *, level: str = "gold", runner: object = None) -> CheckResult:
            calls.append({"root": root, "level": level, "runner": runner})
            result = make(root)
            result.level = level
            return result

        monkeypatch.setattr(engine, "judge", fake)
        return calls

    return use


def unbaselined(root: Path) -> CheckResult:
    result = sample_result(root)
    for number, verdict in enumerate(result.verdicts):
        if verdict.baselined:
            result.verdicts[number] = type(verdict)(
                verdict.standard_id, verdict.status, verdict.summary, verdict.evidence, "Fix."
            )
    return result


def validate_report(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(json_report.json_schema()).validate(document)


# Exit codes -----------------------------------------------------------------------------


def test_exit_0_when_every_applicable_standard_passes(tmp_path: Path, judged):
    calls = judged(passing_result)
    result = svcforge("check", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Reaches gold." in result.stdout
    assert calls[0]["root"] == tmp_path.resolve()
    assert calls[0]["level"] == "gold"
    assert calls[0]["runner"] is None


def test_exit_9_when_a_standard_fails(tmp_path: Path, judged):
    judged(unbaselined)
    result = svcforge("check", str(tmp_path))
    assert result.exit_code == check_command.CHECK_FAILED_EXIT_CODE == 9
    assert "✗ FAIL" in result.stdout
    assert "Traceback" not in result.output
    assert 9 in EXIT_CODES


def test_unknown_verdicts_do_not_fail_the_run(tmp_path: Path, judged):
    def unknown(root: Path) -> CheckResult:
        result = passing_result(root)
        result.verdicts[0] = type(result.verdicts[0])(
            result.verdicts[0].standard_id, Status.UNKNOWN, "Could not parse it."
        )
        return result

    judged(unknown)
    result = svcforge("check", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "1 unknown" in result.stdout
    assert "Reaches bronze." in result.stdout  # ARCH-1 is silver: unknown, not reached


def test_write_baseline_then_only_new_failures_fail(tmp_path: Path, judged):
    repo, baseline = tmp_path / "repo", tmp_path / "baseline.json"
    repo.mkdir()
    judged(unbaselined)
    written = svcforge("check", str(repo), "--write-baseline", str(baseline))
    assert written.exit_code == 0, written.output
    assert json.loads(baseline.read_text())["failures"]
    assert "Recorded the failures" in written.stdout
    again = svcforge("check", str(repo), "--baseline", str(baseline), "--format", "json")
    assert again.exit_code == 0, again.output
    document = json.loads(again.stdout)
    assert document["summary"]["fail"] == 0
    assert document["summary"]["baselined"] == 3
    assert document["baseline"] == str(baseline)

    def one_more(root: Path) -> CheckResult:
        result = unbaselined(root)
        verdict = next(v for v in result.verdicts if v.standard_id == "DOC-1")
        index = result.verdicts.index(verdict)
        result.verdicts[index] = type(verdict)("DOC-1", Status.FAIL, "No ADRs.", (), "Add ADRs.")
        return result

    judged(one_more)
    new = svcforge("check", str(repo), "--baseline", str(baseline), "--format", "json")
    assert new.exit_code == 9
    failed = [item["id"] for item in json.loads(new.stdout)["results"] if item["status"] == "fail"]
    assert "DOC-1" in failed
    assert json.loads(new.stdout)["summary"]["fail"] == 1


def test_a_missing_baseline_is_refused_before_checking(tmp_path: Path, judged):
    calls = judged(passing_result)
    result = svcforge("check", str(tmp_path), "--baseline", str(tmp_path / "none.json"))
    assert result.exit_code == 2
    assert "Invalid baseline:" in result.stderr
    assert "does not exist" in result.stderr
    assert calls == []


# Formats and --output -------------------------------------------------------------------


def test_json_on_stdout_parses_and_validates(tmp_path: Path, judged):
    judged(unbaselined)
    result = svcforge("check", str(tmp_path), "--format", "json", "--level", "silver")
    assert result.exit_code == 9
    document = json.loads(result.stdout)
    validate_report(document)
    assert document["level"] == "silver"
    assert document["results"][0]["id"] == "ARCH-1"


def test_sarif_and_junit_on_stdout(tmp_path: Path, judged):
    judged(unbaselined)
    sarif_out = svcforge("check", str(tmp_path), "--format", "sarif")
    jsonschema.Draft4Validator(sarif_schema()).validate(json.loads(sarif_out.stdout))
    junit_out = svcforge("check", str(tmp_path), "--format", "junit")
    assert parse_junit(junit_out.stdout).get("failures") == "3"


@pytest.mark.parametrize("output_format", list(Format))
def test_output_writes_the_report_to_a_file(tmp_path: Path, judged, output_format: Format):
    judged(unbaselined)
    target = tmp_path / f"report.{output_format.value}"
    result = svcforge(
        "check", str(tmp_path), "--format", output_format.value, "--output", str(target)
    )
    assert result.exit_code == 9
    assert f"Wrote the {output_format.value} report to {target}" in result.stdout
    content = target.read_text(encoding="utf-8")
    if output_format is Format.JSON:
        validate_report(json.loads(content))
    elif output_format is Format.TEXT:
        assert "\x1b[" not in content  # no colour codes in a file
        assert content.splitlines()[-1].startswith(f"{len(load_standards())} standards")
    assert "ARCH-1" in content


def test_output_into_a_missing_directory_is_refused(tmp_path: Path, judged):
    calls = judged(passing_result)
    result = svcforge("check", str(tmp_path), "--output", str(tmp_path / "no" / "r.json"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert calls == []


def test_drift_from_the_seam_is_reported(tmp_path: Path, judged, monkeypatch: pytest.MonkeyPatch):
    judged(passing_result)
    seen: list[Path] = []

    def drift(root: Path) -> Drift:
        seen.append(root)
        return sample_drift()

    monkeypatch.setattr(check_command, "_drift", drift)
    result = svcforge("check", str(tmp_path), "--format", "json")
    assert seen == [tmp_path.resolve()]
    assert json.loads(result.stdout)["drift"]["recorded_version"] == "v0.1.0"
    text = svcforge("check", str(tmp_path))
    assert "Drift from the template" in text.stdout


# Options --------------------------------------------------------------------------------


def test_levels_and_formats_match_the_catalogue():
    assert tuple(level.value for level in check_command.Level) == LEVELS
    assert {item.value for item in Format} == {"text", "json", "sarif", "junit"}


def test_unknown_level_is_refused(tmp_path: Path, judged):
    calls = judged(passing_result)
    result = svcforge("check", str(tmp_path), "--level", "platinum")
    assert result.exit_code == 2
    assert "platinum" in result.output
    assert calls == []


def test_run_uses_a_runner_with_the_timeout(
    tmp_path: Path, judged, monkeypatch: pytest.MonkeyPatch
):
    calls = judged(passing_result)
    made: list[tuple[Path, float]] = []
    closed: list[bool] = []

    class FakeRunner:
        def close(self) -> None:
            closed.append(True)

    the_runner = FakeRunner()

    def runner(root: Path, timeout: float) -> FakeRunner:
        made.append((root, timeout))
        return the_runner

    monkeypatch.setattr(check_command, "_runner", runner)
    assert svcforge("check", str(tmp_path), "--run", "--timeout", "42").exit_code == 0
    assert made == [(tmp_path.resolve(), 42.0)]
    assert calls[0]["runner"] is the_runner
    assert closed == [True]
    assert svcforge("check", str(tmp_path), "--run").exit_code == 0
    assert made[1] == (tmp_path.resolve(), check_command.DEFAULT_TIMEOUT_SECONDS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--timeout", "5"], "--timeout only applies with --run"),
        (["--run", "--timeout", "0"], "must be a positive number"),
    ],
)
def test_bad_timeouts_are_refused(tmp_path: Path, judged, options: list[str], message: str):
    calls = judged(passing_result)
    result = svcforge("check", str(tmp_path), *options)
    assert result.exit_code == 2
    assert message in result.stderr
    assert calls == []


def test_help_shows_examples_and_exit_code_9():
    text = svcforge("check", "--help").stdout
    assert "Examples:" in text
    assert "svcforge check --format sarif" in text
    assert "\n    9 " in text
    assert "standards" in svcforge("--help").stdout


# The path -------------------------------------------------------------------------------


def test_a_missing_path_is_one_line_without_traceback(tmp_path: Path):
    result = run_svcforge(["check", str(tmp_path / "nowhere")], cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"Cannot check: {tmp_path / 'nowhere'} does not exist."
    assert lines[1].startswith("Hint:")
    assert result.stdout == ""


def test_a_file_instead_of_a_directory(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    result = svcforge("check", str(tmp_path / "pyproject.toml"))
    assert result.exit_code == 2
    assert "is a file, not a directory" in result.stderr
    assert "Traceback" not in result.output


def test_an_unreadable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def refuse(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    # Root reads every directory, so the refusal is simulated where the command lists it.
    monkeypatch.setattr(check_command, "_list_directory", refuse)
    result = svcforge("check", str(tmp_path))
    assert result.exit_code == 2
    assert f"Cannot read the directory {tmp_path}: Permission denied." in result.stderr


def test_an_empty_directory_fails_every_standard(tmp_path: Path):
    result = svcforge("check", str(tmp_path), "--format", "json")
    assert result.exit_code == 9
    document = json.loads(result.stdout)
    validate_report(document)
    assert document["summary"]["fail"] == len(load_standards())
    assert {item["summary"] for item in document["results"]} == {"The repository has no files."}
    assert list(tmp_path.iterdir()) == []  # nothing written into the checked repository


def test_the_current_directory_is_the_default(
    tmp_path: Path, judged, monkeypatch: pytest.MonkeyPatch
):
    calls = judged(passing_result)
    monkeypatch.chdir(tmp_path)
    assert svcforge("check").exit_code == 0
    assert calls[0]["root"] == tmp_path.resolve()


# A generated project --------------------------------------------------------------------


def test_a_generated_project_fails_no_standard(rendered_projects: dict[str, Path]):
    root = rendered_projects["defaults"]
    result = svcforge("check", str(root), "--format", "json")
    document = json.loads(result.stdout)
    validate_report(document)
    failing = {
        item["id"]: item["summary"] for item in document["results"] if item["status"] == "fail"
    }
    assert failing == {}
    assert result.exit_code == 0, result.output


# svcforge standards ---------------------------------------------------------------------


def test_standards_json_lists_the_whole_catalogue():
    result = svcforge("standards", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["levels"] == list(LEVELS)
    standards = document["standards"]
    assert len(standards) == len(load_standards()) == 41
    for item in standards:
        assert item["level"] in LEVELS
        assert item["how_checked"]
        assert item["title"] == load_standards()[item["id"]].title
        assert set(item) == {"id", "area", "level", "title", "text", "rationale", "how_checked"}
    assert document["areas"][0] == {"id": "ARCH", "title": "request flow and layering"}


def test_standards_text_groups_by_area():
    result = svcforge("standards")
    assert result.exit_code == 0, result.output
    for standard in load_standards().values():
        assert f"{standard.id} {standard.title} ({standard.level})" in result.stdout
    assert "Checked:" in result.stdout
    assert result.stdout.index("ARCH-1") < result.stdout.index("DOC-1")
    assert FAILING in result.stdout
