"""JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure Pipelines...).

One ``testsuite`` per area, one ``testcase`` per standard. Red exactly when the exit code
is: ``fail`` is a ``<failure>``; everything that does not fail the run is ``<skipped>``
with a message saying why (``not applicable: ...``, ``unknown: ...`` for a standard that
could not be judged, ``baselined: ...`` for a failure the baseline excuses). No ``<error>``:
CI systems count it as red, and an unknown verdict does not fail the check. A last suite,
``svcforge``, holds no test cases: its properties carry the level reached and the drift,
its ``system-out`` the drifted files and the files that could not be read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from svcforge.check.formats import (
    Report,
    drift_sentence,
    evidence_location,
    summary_sentence,
)
from svcforge.check.model import Status, Verdict
from svcforge.standards import area_titles, load_standards

# Characters XML 1.0 cannot carry (command output may hold them): dropped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def render(report: Report) -> str:
    """Return the JUnit XML document (with its XML declaration), ending with a newline."""
    result = report.result
    catalogue = load_standards()
    root = ET.Element("testsuites", name="svcforge check")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for area, title in area_titles().items():
        verdicts = [v for v in result.verdicts if catalogue[v.standard_id].area == area]
        if not verdicts:
            continue
        suite = ET.SubElement(root, "testsuite", name=f"{area}: {title}")
        failures = skipped = 0
        for verdict in verdicts:
            kind = _add_case(suite, verdict, area, catalogue[verdict.standard_id].title)
            failures += kind == "failure"
            skipped += kind == "skipped"
        _counts(suite, len(verdicts), failures, skipped)
        totals["tests"] += len(verdicts)
        totals["failures"] += failures
        totals["skipped"] += skipped
    _add_report_suite(root, report)
    _counts(root, totals["tests"], totals["failures"], totals["skipped"])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(element: ET.Element, tests: int, failures: int, skipped: int) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", "0")
    element.set("skipped", str(skipped))
    element.set("time", "0")


def _details(verdict: Verdict) -> str:
    lines = []
    for evidence in verdict.evidence:
        where = evidence_location(evidence)
        lines.append(f"{where}: {evidence.note}" if where else evidence.note)
        if evidence.output:
            lines += [f"  | {line}" for line in evidence.output.rstrip().splitlines()]
    if verdict.remediation:
        lines.append(f"Fix: {verdict.remediation}")
    return _text("\n".join(lines))


def _add_case(suite: ET.Element, verdict: Verdict, area: str, title: str) -> str:
    """Add the verdict's test case; return ``failure``, ``skipped`` or ``passed``."""
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"svcforge.{area}",
        name=_text(f"{verdict.standard_id} {title}"),
        time="0",
    )
    summary = _text(verdict.summary)
    if verdict.status is Status.FAIL and not verdict.baselined:
        failure = ET.SubElement(case, "failure", message=summary, type="fail")
        failure.text = _details(verdict)
        return "failure"
    if verdict.status is Status.PASS:
        ET.SubElement(case, "system-out").text = summary
        return "passed"
    reason = {
        Status.FAIL: "baselined",
        Status.NOT_APPLICABLE: "not applicable",
        Status.UNKNOWN: "unknown",
    }[verdict.status]
    skipped = ET.SubElement(case, "skipped", message=f"{reason}: {summary}")
    details = _details(verdict)
    if details:
        skipped.text = details
    return "skipped"


def _add_report_suite(root: ET.Element, report: Report) -> None:
    result = report.result
    suite = ET.SubElement(root, "testsuite", name="svcforge")
    properties = ET.SubElement(suite, "properties")
    values = {
        "root": str(result.root),
        "level": result.level,
        "ran": str(result.ran).lower(),
        "reached_level": result.reached_level() or "none",
        "baseline": report.baseline or "",
    }
    drift = report.drift
    if drift is not None:
        values |= {
            "drift.template": drift.template,
            "drift.recorded_version": drift.recorded_version,
            "drift.newest_version": drift.newest_version or "",
            "drift.behind": str(drift.behind).lower(),
            "drift.problem": drift.problem or "",
        }
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=_text(value))
    lines = [summary_sentence(result)]
    if drift is not None:
        lines.append(drift_sentence(drift))
        lines += [f"  {item.state}: {item.path}" for item in drift.files]
    if result.problems:
        lines.append("Files that could not be read:")
        lines += [f"  {path}: {why}" for path, why in sorted(result.problems.items())]
    ET.SubElement(suite, "system-out").text = _text("\n".join(lines))
    _counts(suite, 0, 0, 0)
