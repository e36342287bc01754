"""Baselines: today's failures recorded, only new ones fail, bad files explained."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from svcforge.check.baseline import (
    BASELINE_SCHEMA,
    Baseline,
    BaselineError,
    apply_baseline,
    load_baseline,
    write_baseline,
)
from svcforge.check.engine import CheckResult
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.errors import UsageError, WriteError
from tests.check.report_samples import BASELINED, FAILING, FAILING_NO_PATH, ROUTES, sample_result


def unbaselined(root: Path) -> CheckResult:
    result = sample_result(root)
    result.verdicts = [replace(verdict, baselined=False) for verdict in result.verdicts]
    return result


def with_verdict(result: CheckResult, verdict: Verdict) -> CheckResult:
    verdicts = [verdict if v.standard_id == verdict.standard_id else v for v in result.verdicts]
    return replace(result, verdicts=verdicts)


def verdict_of(result: CheckResult, standard_id: str) -> Verdict:
    return next(v for v in result.verdicts if v.standard_id == standard_id)


def test_written_baseline_is_versioned_sorted_and_line_free(tmp_path: Path):
    target = tmp_path / "baseline.json"
    write_baseline(target, unbaselined(tmp_path))
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["schema"] == BASELINE_SCHEMA
    ids = [item["id"] for item in data["failures"]]
    assert ids == sorted([FAILING, FAILING_NO_PATH, BASELINED])
    arch = next(item for item in data["failures"] if item["id"] == FAILING)
    assert arch["paths"] == ["src/app/api/items.py", ROUTES]
    assert "42" not in json.dumps(arch)
    assert len(arch["fingerprint"]) == 20
    assert arch["summary"].startswith("Route handlers run SQL")
    # Only the file is left behind: the temporary file was renamed over it.
    assert [path.name for path in tmp_path.iterdir()] == ["baseline.json"]


def test_writing_the_same_failures_twice_gives_the_same_file(tmp_path: Path):
    first, second = tmp_path / "one.json", tmp_path / "two.json"
    write_baseline(first, unbaselined(tmp_path))
    reordered = unbaselined(tmp_path)
    reordered.verdicts.reverse()
    write_baseline(second, reordered)
    assert first.read_bytes() == second.read_bytes()


def test_recorded_failures_are_baselined_and_no_longer_fail(tmp_path: Path):
    result = unbaselined(tmp_path)
    assert {v.standard_id for v in result.failed()} == {FAILING, FAILING_NO_PATH, BASELINED}
    write_baseline(tmp_path / "b.json", result)
    applied = apply_baseline(result, load_baseline(tmp_path / "b.json"))
    assert applied.failed() == []
    assert verdict_of(applied, FAILING).baselined
    assert verdict_of(applied, FAILING).status is Status.FAIL
    # The original result is left as it was.
    assert not verdict_of(result, FAILING).baselined
    assert all(not v.baselined for v in applied.verdicts if v.status is not Status.FAIL)


def test_moved_lines_still_match_but_a_new_file_is_a_new_failure(tmp_path: Path):
    result = unbaselined(tmp_path)
    baseline = Baseline.of(result)
    old = verdict_of(result, FAILING)
    moved = replace(old, evidence=tuple(replace(e, line=(e.line or 0) + 30) for e in old.evidence))
    assert baseline.covers(moved)
    fixed_one = replace(old, evidence=old.evidence[:1])
    assert baseline.covers(fixed_one)  # fixing one of two files keeps the rest excused
    spread = replace(old, evidence=(*old.evidence, Evidence("also here", path="src/app/new.py")))
    assert not baseline.covers(spread)
    applied = apply_baseline(with_verdict(result, spread), baseline)
    assert [v.standard_id for v in applied.failed()] == [FAILING]


def test_a_standard_not_recorded_fails_and_non_failures_are_never_baselined(tmp_path: Path):
    result = unbaselined(tmp_path)
    baseline = Baseline.of(result)
    new = Verdict("DOC-1", Status.FAIL, "No ADRs.", (Evidence("no docs/adr"),), "Write ADRs.")
    assert not baseline.covers(new)
    applied = apply_baseline(with_verdict(result, new), baseline)
    assert [v.standard_id for v in applied.failed()] == ["DOC-1"]
    passing = replace(verdict_of(result, FAILING), status=Status.PASS)
    assert not baseline.covers(passing)


def test_a_failure_without_paths_matches_its_standard(tmp_path: Path):
    baseline = Baseline.of(unbaselined(tmp_path))
    other_reason = Verdict(FAILING_NO_PATH, Status.FAIL, "Readiness is missing.")
    assert baseline.covers(other_reason)


def test_unknown_ids_in_a_baseline_are_ignored(tmp_path: Path):
    target = tmp_path / "b.json"
    target.write_text(
        json.dumps(
            {"schema": BASELINE_SCHEMA, "failures": [{"id": "RETIRED-9", "paths": ["x.py"]}]}
        )
    )
    applied = apply_baseline(unbaselined(tmp_path), load_baseline(target))
    assert len(applied.failed()) == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "is not a svcforge baseline"),
        ("[]", '"schema": "svcforge-baseline/1"'),
        ('{"schema": "svcforge-baseline/2", "failures": []}', '"schema"'),
        ('{"schema": "svcforge-baseline/1"}', '"failures" is not a list'),
        ('{"schema": "svcforge-baseline/1", "failures": [1]}', "failure 1 is not an object"),
        ('{"schema": "svcforge-baseline/1", "failures": [{"paths": []}]}', 'has no "id"'),
        (
            '{"schema": "svcforge-baseline/1", "failures": [{"id": "ARCH-1", "paths": "a"}]}',
            "not a list of strings",
        ),
    ],
)
def test_invalid_baselines_are_usage_errors(tmp_path: Path, content: str, expected: str):
    target = tmp_path / "b.json"
    target.write_text(content)
    with pytest.raises(BaselineError) as raised:
        load_baseline(target)
    assert expected in raised.value.message
    assert isinstance(raised.value, UsageError)
    assert raised.value.exit_code == 2


def test_missing_baseline_says_how_to_write_one(tmp_path: Path):
    with pytest.raises(BaselineError) as raised:
        load_baseline(tmp_path / "nope.json")
    assert "does not exist" in raised.value.message
    assert "--write-baseline" in (raised.value.hint or "")
    with pytest.raises(BaselineError, match="is a directory"):
        load_baseline(tmp_path)


def test_not_utf8_baseline_is_a_usage_error(tmp_path: Path):
    target = tmp_path / "b.json"
    target.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BaselineError, match="Cannot read the baseline"):
        load_baseline(target)


def test_writing_into_a_missing_directory_is_a_write_error(tmp_path: Path):
    with pytest.raises(WriteError, match="does not exist"):
        write_baseline(tmp_path / "missing" / "b.json", unbaselined(tmp_path))
