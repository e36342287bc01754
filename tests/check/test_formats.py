"""Every report format, from a result built by hand and from a real ``judge()`` run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from svcforge import __version__
from svcforge.check.engine import CheckResult, judge
from svcforge.check.formats import Format, Report, counts, json_report, junit, render, sarif, text
from svcforge.check.model import Evidence
from svcforge.standards import area_titles, load_standards
from tests.check.report_samples import (
    BASELINED,
    FAILING,
    FAILING_NO_PATH,
    NOT_APPLICABLE,
    ODD_PATH,
    ROUTES,
    UNKNOWN,
    parse_junit,
    passing_result,
    sample_drift,
    sample_result,
    sarif_schema,
)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return Report(sample_result(tmp_path), sample_drift(), "baseline.json")


def validate_report(document: dict[str, Any]) -> None:
    schema = json_report.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


def validate_sarif(document: dict[str, Any]) -> None:
    schema = sarif_schema()
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    jsonschema.Draft4Validator(schema).validate(document)


def a_small_repository(root: Path) -> Path:
    """A repository the real rules can judge: some Python, a pyproject, a broken file."""
    (root / "src" / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1.0"\n')
    (root / "src" / "app" / "__init__.py").write_text("")
    (root / "src" / "app" / "main.py").write_text(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.get("/items")\ndef items() -> list[str]:\n    return []\n'
    )
    (root / "src" / "app" / "broken.py").write_text("def broken(:\n")
    return root


# Shared counting ------------------------------------------------------------------------


def test_counts_add_up_and_a_baselined_failure_counts_once(report: Report):
    found = counts(report.result)
    assert found == {
        "pass": len(load_standards()) - 5,
        "fail": 2,
        "not_applicable": 1,
        "unknown": 1,
        "baselined": 1,
    }
    assert sum(found.values()) == len(report.result.verdicts)


def test_render_dispatches_to_every_format(report: Report):
    assert render(report, Format.JSON) == json_report.render(report)
    assert render(report, Format.SARIF) == sarif.render(report)
    assert render(report, Format.JUNIT) == junit.render(report)
    assert render(report, Format.TEXT) == text.render(report)


# JSON -----------------------------------------------------------------------------------


def test_json_report_validates_and_carries_every_verdict(report: Report):
    document = json.loads(json_report.render(report))
    validate_report(document)
    assert document["schema"] == "svcforge-check/1"
    assert document["svcforge_version"] == __version__
    assert document["root"] == str(report.result.root)
    assert document["level"] == "gold"
    assert document["reached_level"] is None
    assert document["baseline"] == "baseline.json"
    assert document["summary"] == counts(report.result)
    assert [item["id"] for item in document["results"]] == list(load_standards())
    by_id = {item["id"]: item for item in document["results"]}
    failing = by_id[FAILING]
    assert failing["status"] == "fail"
    assert failing["area"] == "ARCH"
    assert failing["level"] == load_standards()[FAILING].level
    assert failing["title"] == load_standards()[FAILING].title
    assert failing["evidence"][0] == {
        "note": "session.execute in a handler",
        "path": ROUTES,
        "line": 42,
        "key": None,
        "command": None,
        "output": None,
    }
    assert failing["remediation"].startswith("Move the queries")
    assert by_id[BASELINED]["baselined"] is True
    assert by_id[BASELINED]["evidence"][0]["path"] == ODD_PATH
    assert by_id[UNKNOWN]["status"] == "unknown"
    assert by_id[NOT_APPLICABLE]["status"] == "not_applicable"
    assert document["problems"] == {"src/app/broken.py": "invalid Python (line 3): invalid syntax"}
    assert document["drift"]["behind"] is True
    assert document["drift"]["files"][1] == {"path": "docs/runbook.md", "state": "deleted"}


def test_json_without_drift_or_baseline_and_reaching_a_level(tmp_path: Path):
    result = passing_result(tmp_path, "silver")
    document = json.loads(json_report.render(Report(result)))
    validate_report(document)
    assert document["drift"] is None
    assert document["baseline"] is None
    assert document["reached_level"] == "silver"
    assert document["level"] == "silver"
    assert len(document["results"]) == sum(
        1 for standard in load_standards().values() if standard.within("silver")
    )


def test_json_schema_rejects_what_the_report_never_is(report: Report):
    document = json_report.as_dict(report)
    broken = [
        {key: value for key, value in document.items() if key != "summary"},
        {**document, "schema": "svcforge-check/2"},
        {**document, "extra": 1},
        {**document, "results": [{**document["results"][0], "status": "passed"}]},
        {**document, "results": [{**document["results"][0], "baselined": True}]},  # a pass
    ]
    for candidate in broken:
        with pytest.raises(jsonschema.ValidationError):
            validate_report(candidate)


# SARIF ----------------------------------------------------------------------------------


def test_sarif_validates_against_the_official_schema(report: Report):
    document = json.loads(sarif.render(report))
    validate_sarif(document)
    assert document["version"] == "2.1.0"
    # The schema is strict enough to catch a mistake.
    document["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(document)


def test_sarif_rules_are_the_catalogue_with_help(report: Report):
    run = sarif.as_dict(report)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "svcforge"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [rule["id"] for rule in rules] == list(load_standards())
    for rule in rules:
        standard = load_standards()[rule["id"]]
        assert rule["shortDescription"]["text"] == standard.title
        assert rule["fullDescription"]["text"] == standard.text
        assert rule["name"].isalnum()
        assert "How svcforge checks it:" in rule["help"]["text"]
        assert rule["properties"]["level"] == standard.level
        assert rule["properties"]["area"] == standard.area


def test_sarif_results_only_for_what_needs_attention(report: Report):
    run = sarif.as_dict(report)["runs"][0]
    results = {result["ruleId"]: result for result in run["results"]}
    assert set(results) == {FAILING, FAILING_NO_PATH, BASELINED, UNKNOWN}
    rules = run["tool"]["driver"]["rules"]
    for rule_id, result in results.items():
        assert rules[result["ruleIndex"]]["id"] == rule_id
        # GitHub shows a result only with a file location and region.startLine.
        assert result["locations"]
        for location in result["locations"]:
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
            assert not physical["artifactLocation"]["uri"].startswith("/")
            assert physical["region"]["startLine"] >= 1
    assert results[FAILING]["level"] == "error"
    assert results[UNKNOWN]["level"] == "note"
    assert results[UNKNOWN]["message"]["text"].startswith("Could not be judged")
    uris = [
        (loc["physicalLocation"]["artifactLocation"]["uri"], loc["physicalLocation"]["region"])
        for loc in results[FAILING]["locations"]
    ]
    assert uris == [(ROUTES, {"startLine": 42}), ("src/app/api/items.py", {"startLine": 7})]
    assert "Fix: Move the queries" in results[FAILING]["message"]["text"]


def test_sarif_result_without_a_path_points_to_the_main_file(report: Report):
    [result] = [
        item
        for item in sarif.as_dict(report)["runs"][0]["results"]
        if item["ruleId"] == FAILING_NO_PATH
    ]
    [location] = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "pyproject.toml"
    assert location["physicalLocation"]["region"] == {"startLine": 1}


def test_sarif_uris_are_percent_encoded(report: Report):
    [result] = [
        item for item in sarif.as_dict(report)["runs"][0]["results"] if item["ruleId"] == BASELINED
    ]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "docs/%C3%A9t%C3%A9%20notes.md"


def test_sarif_baseline_states_and_suppressions(report: Report):
    results = {item["ruleId"]: item for item in sarif.as_dict(report)["runs"][0]["results"]}
    assert results[BASELINED]["baselineState"] == "unchanged"
    [suppression] = results[BASELINED]["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert "baseline.json" in suppression["justification"]
    assert results[FAILING]["baselineState"] == "new"
    assert "suppressions" not in results[FAILING]
    assert "baselineState" not in results[UNKNOWN]
    without = sarif.as_dict(replace(report, baseline=None))["runs"][0]["results"]
    assert all("baselineState" not in item for item in without)


def test_sarif_fingerprints_ignore_lines(report: Report):
    moved = [
        replace(
            verdict,
            evidence=tuple(replace(item, line=(item.line or 0) + 10) for item in verdict.evidence),
        )
        for verdict in report.result.verdicts
    ]
    before = sarif.as_dict(report)["runs"][0]["results"]
    after = sarif.as_dict(replace(report, result=replace(report.result, verdicts=moved)))
    assert [item["partialFingerprints"] for item in before] == [
        item["partialFingerprints"] for item in after["runs"][0]["results"]
    ]


def test_sarif_carries_problems_drift_and_summary(report: Report):
    run = sarif.as_dict(report)["runs"][0]
    [notification] = run["invocations"][0]["toolExecutionNotifications"]
    assert "src/app/broken.py" in notification["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["properties"]["drift"]["newest_version"] == "v0.3.0"
    assert run["properties"]["summary"] == counts(report.result)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


# JUnit ----------------------------------------------------------------------------------


def test_junit_parses_with_one_suite_per_area_and_right_counts(report: Report):
    root = parse_junit(junit.render(report))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites[:-1]] == [
        f"{area}: {title}" for area, title in area_titles().items()
    ]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(load_standards())
    assert root.get("tests") == str(len(load_standards()))
    assert root.get("failures") == "2"
    assert root.get("skipped") == "3"  # not applicable, unknown, baselined
    assert root.get("errors") == "0"
    assert not root.findall(".//error")
    for suite in suites:
        suite_cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(suite_cases))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
        assert suite.get("skipped") == str(len(suite.findall("testcase/skipped")))


def test_junit_case_details(report: Report):
    root = parse_junit(junit.render(report))
    cases = {case.get("name", "").split()[0]: case for case in root.iter("testcase")}
    failure = cases[FAILING].find("failure")
    assert failure is not None
    assert failure.get("message") == "Route handlers run SQL [red]directly[/red]."
    assert f"{ROUTES}:42: session.execute in a handler" in (failure.text or "")
    assert "Fix: Move the queries" in (failure.text or "")
    assert cases[FAILING].get("classname") == "svcforge.ARCH"
    skipped = {key: cases[key].find("skipped") for key in (BASELINED, UNKNOWN, NOT_APPLICABLE)}
    assert skipped[BASELINED] is not None
    assert (skipped[BASELINED].get("message") or "").startswith("baselined: ")
    assert skipped[UNKNOWN] is not None
    assert (skipped[UNKNOWN].get("message") or "").startswith("unknown: ")
    # Control characters of command output are dropped: XML 1.0 cannot carry them.
    assert "line two" in (skipped[UNKNOWN].text or "")
    assert skipped[NOT_APPLICABLE] is not None
    assert (skipped[NOT_APPLICABLE].get("message") or "").startswith("not applicable: ")


def test_junit_report_suite_has_level_drift_and_problems(report: Report):
    root = parse_junit(junit.render(report))
    suite = root.findall("testsuite")[-1]
    assert suite.get("name") == "svcforge"
    assert suite.get("tests") == "0"
    properties = {item.get("name"): item.get("value") for item in suite.iter("property")}
    assert properties["reached_level"] == "none"
    assert properties["drift.behind"] == "true"
    assert properties["drift.recorded_version"] == "v0.1.0"
    out = suite.findtext("system-out") or ""
    assert "deleted: docs/runbook.md" in out
    assert "src/app/broken.py: invalid Python" in out
    assert "Reaches no level." in out


# Text -----------------------------------------------------------------------------------


def test_text_groups_by_area_with_marks_evidence_and_fixes(report: Report):
    output = text.render(report)
    lines = output.splitlines()
    positions = [
        next(n for n, line in enumerate(lines) if line.startswith(title.capitalize()))
        for title in area_titles().values()
    ]
    assert positions == sorted(positions)
    [failing] = [line for line in lines if f" {FAILING} " in line]
    assert "✗ FAIL" in failing
    # Markup from the repository is printed as written, not interpreted.
    assert "[red]directly[/red]" in failing
    assert f"{ROUTES}:42  session.execute in a handler" in output
    assert "Fix: Move the queries into a repository" in output
    assert any("✓ pass" in line and " ARCH-1 " in line for line in lines)
    assert any("✗ baselined" in line and f" {BASELINED} " in line for line in lines)
    assert any("? unknown" in line and f" {UNKNOWN} " in line for line in lines)
    assert any("- n/a" in line and f" {NOT_APPLICABLE} " in line for line in lines)
    assert "$ alembic check  alembic check failed" in output
    assert "\x1b" not in output
    assert "\x00" not in output
    assert "src/app/broken.py: invalid Python" in output
    assert "customised  README.md" in output
    assert "v0.1.0 (newest v0.3.0): behind the newest release" in output
    assert "Baseline: baseline.json" in output
    assert lines[-1] == (
        f"{len(load_standards())} standards up to gold: {len(load_standards()) - 5} pass, "
        "2 fail, 1 not applicable, 1 unknown, 1 baselined. Reaches no level."
    )


def test_text_passing_evidence_stays_short_and_level_is_reached(tmp_path: Path):
    result = passing_result(tmp_path)
    first = result.verdicts[0]
    result.verdicts[0] = replace(first, evidence=(Evidence("hidden detail", path="x.py"),))
    output = text.render(Report(result))
    assert "hidden detail" not in output
    assert output.splitlines()[-1].endswith("Reaches gold.")


# A real run -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["small", "empty"])
def test_every_format_renders_a_real_judge_run(tmp_path: Path, kind: str):
    root = tmp_path / "repo"
    root.mkdir()
    if kind == "small":
        a_small_repository(root)
    result: CheckResult = judge(root)
    report = Report(result)
    validate_report(json.loads(render(report, Format.JSON)))
    validate_sarif(json.loads(render(report, Format.SARIF)))
    suites = parse_junit(render(report, Format.JUNIT))
    assert suites.get("tests") == str(len(result.verdicts))
    assert text.render(report).splitlines()[-1].startswith(f"{len(result.verdicts)} standards")
    if kind == "empty":
        assert suites.get("failures") == str(len(result.verdicts))
