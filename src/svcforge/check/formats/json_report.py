"""The JSON report: stable and versioned (``check-report.schema.json``, docs/check-report.md).

The ``schema`` field names the version; a field is only ever added under a new version,
so a consumer that checks ``schema`` can rely on every field it knows.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from svcforge import __version__
from svcforge.check.formats import Report, counts, drift_dict, evidence_dict
from svcforge.standards import load_standards

#: The version of the document; raised whenever a field is added, renamed or removed.
SCHEMA = "svcforge-check/1"


def as_dict(report: Report) -> dict[str, Any]:
    """Return the report as a JSON-ready dict (the shape ``check-report.schema.json`` gives)."""
    result = report.result
    catalogue = load_standards()
    return {
        "schema": SCHEMA,
        "svcforge_version": __version__,
        "root": str(result.root),
        "level": result.level,
        "ran": result.ran,
        "reached_level": result.reached_level(),
        "baseline": report.baseline,
        "summary": counts(result),
        "results": [
            {
                "id": verdict.standard_id,
                "area": catalogue[verdict.standard_id].area,
                "level": catalogue[verdict.standard_id].level,
                "title": catalogue[verdict.standard_id].title,
                "status": verdict.status.value,
                "summary": verdict.summary,
                "evidence": [evidence_dict(item) for item in verdict.evidence],
                "remediation": verdict.remediation,
                "baselined": verdict.baselined,
            }
            for verdict in result.verdicts
        ],
        "problems": dict(sorted(result.problems.items())),
        "drift": drift_dict(report.drift),
    }


def render(report: Report) -> str:
    """Return the JSON document, indented, UTF-8 (names stay readable), ending in a newline."""
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the report (shipped with svcforge for consumers and tests)."""
    raw = resources.files(__package__).joinpath("check-report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(raw)
    return loaded
