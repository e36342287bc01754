"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).

Choices (docs/check-report.md explains them to users):

- ``tool.driver.rules`` is the whole catalogue, so a rule's help (the standard, why it
  matters, how svcforge checks it) is there even when it passes.
- Only standards that need attention are results: ``fail`` is level ``error``; ``unknown``
  is level ``note`` (it could not be judged and does not fail the run, like the exit
  code); ``pass`` and ``not_applicable`` are left out, as code scanning shows results as
  alerts and only fixed ones disappear.
- GitHub needs a location in a file, with ``region.startLine``, to show a result: each
  evidence path is a location (line 1 when the evidence has no line); a result whose
  evidence cites no file points to the project's main file (pyproject.toml, else the
  README), and to ``.`` only when the repository has neither.
- A baselined failure keeps level ``error`` but gets ``baselineState: unchanged`` and an
  accepted external suppression, so code scanning closes it; when a baseline was applied,
  the other results get ``baselineState: new``.
- ``partialFingerprints`` carries the baseline fingerprint (standard + cited paths), so an
  alert stays the same alert when lines move.
- Files that could not be read are tool notifications; drift, the level reached and the
  counts are in ``run.properties``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from svcforge import __version__
from svcforge.check.baseline import verdict_fingerprint
from svcforge.check.engine import how_checked
from svcforge.check.formats import Report, counts, drift_dict
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.standards import Standard, area_titles, load_standards

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
#: Where people learn about the tool (SARIF viewers link the tool's name to it).
INFORMATION_URI = "https://pypi.org/project/svcforge/"
#: The base every artifact URI is relative to: the checked repository's root.
SRCROOT = "%SRCROOT%"
#: Key of svcforge's fingerprint in ``partialFingerprints`` (versioned, as SARIF advises).
FINGERPRINT_KEY = "svcforgeFailure/v1"
#: GitHub shows at most this many locations of a result.
MAX_LOCATIONS = 10
#: Files a result without a cited path points to, the first that exists.
FALLBACK_FILES = ("pyproject.toml", "README.md", "README.rst", "README")

_LEVELS = {Status.FAIL: "error", Status.UNKNOWN: "note"}


def as_dict(report: Report) -> dict[str, Any]:
    """Return the SARIF log as a JSON-ready dict."""
    result = report.result
    catalogue = list(load_standards().values())
    index = {standard.id: number for number, standard in enumerate(catalogue)}
    fallback = _fallback_file(result.root)
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "svcforge",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(standard) for standard in catalogue],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": result.root.resolve().as_uri() + "/"}},
                "invocations": [_invocation(report)],
                "results": [
                    _result(verdict, index[verdict.standard_id], fallback, report.baseline)
                    for verdict in result.verdicts
                    if verdict.status in _LEVELS
                ],
                "properties": {
                    "level": result.level,
                    "ran": result.ran,
                    "reachedLevel": result.reached_level(),
                    "baseline": report.baseline,
                    "summary": counts(result),
                    "drift": drift_dict(report.drift),
                },
            }
        ],
    }


def render(report: Report) -> str:
    """Return the SARIF log, indented JSON ending with a newline."""
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"


def _rule(standard: Standard) -> dict[str, Any]:
    checked = how_checked(standard.id)
    help_parts = [standard.text]
    if standard.rationale:
        help_parts.append(f"Why: {standard.rationale}")
    help_parts.append(f"How svcforge checks it: {checked}")
    area = area_titles().get(standard.area, standard.area)
    return {
        "id": standard.id,
        "name": _pascal_case(standard.title),
        "shortDescription": {"text": standard.title},
        "fullDescription": {"text": standard.text},
        "help": {
            "text": "\n\n".join(help_parts),
            "markdown": "\n\n".join(
                [standard.text]
                + ([f"**Why:** {standard.rationale}"] if standard.rationale else [])
                + [f"**How svcforge checks it:** {checked}"]
            ),
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "level": standard.level,
            "area": standard.area,
            "tags": ["svcforge", standard.level, area],
        },
    }


def _pascal_case(title: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title))


def _result(
    verdict: Verdict, rule_index: int, fallback: str, baseline: str | None
) -> dict[str, Any]:
    message = verdict.summary
    if verdict.status is Status.UNKNOWN:
        message = f"Could not be judged: {message}"
    elif verdict.remediation:
        message = f"{message} Fix: {verdict.remediation}"
    found: dict[str, Any] = {
        "ruleId": verdict.standard_id,
        "ruleIndex": rule_index,
        "level": _LEVELS[verdict.status],
        "message": {"text": message},
        "locations": _locations(verdict, fallback),
        "partialFingerprints": {FINGERPRINT_KEY: verdict_fingerprint(verdict)},
        "properties": {
            "status": verdict.status.value,
            "evidence": [_evidence_text(item) for item in verdict.evidence],
        },
    }
    if baseline is not None and verdict.status is Status.FAIL:
        found["baselineState"] = "unchanged" if verdict.baselined else "new"
    if verdict.baselined:
        found["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"Recorded in the baseline {baseline or ''}".strip(),
            }
        ]
    return found


def _locations(verdict: Verdict, fallback: str) -> list[dict[str, Any]]:
    locations: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for evidence in verdict.evidence:
        if not evidence.path or evidence.path == ".":
            continue
        line = evidence.line if evidence.line and evidence.line > 0 else 1
        if (evidence.path, line) in seen:
            continue
        seen.add((evidence.path, line))
        locations.append(_location(evidence.path, line, evidence.note))
        if len(locations) == MAX_LOCATIONS:
            break
    if not locations:
        locations.append(_location(fallback, 1, verdict.summary))
    return locations


def _location(path: str, line: int, note: str) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT},
            "region": {"startLine": line},
        },
        "message": {"text": note},
    }


def _evidence_text(evidence: Evidence) -> str:
    parts = [evidence.note]
    if evidence.key:
        parts.append(f"key {evidence.key}")
    if evidence.command:
        parts.append(f"command {evidence.command}")
    if evidence.output:
        parts.append(f"output: {evidence.output}")
    return "; ".join(parts)


def _invocation(report: Report) -> dict[str, Any]:
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"Could not read {path}: {why}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}
                    }
                }
            ],
        }
        for path, why in sorted(report.result.problems.items())
    ]
    return {"executionSuccessful": True, "toolExecutionNotifications": notifications}


def _fallback_file(root: Path) -> str:
    for name in FALLBACK_FILES:
        if (root / name).is_file():
            return name
    return "."
