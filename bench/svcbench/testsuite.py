"""Part 4: wall time of the generated project's own test suite."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from svcbench.procs import run_measured

TEST_TIMEOUT_SECONDS = 300.0
COMMAND = ("uv", "run", "pytest")


@dataclass(frozen=True)
class TestSuiteResult:
    """Wall times of repeated ``uv run pytest`` runs in the generated project."""

    command: str
    seconds: list[float]
    #: pytest's own summary line of the last run, e.g. "60 passed in 2.36s".
    summary: str

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(self.seconds)


def measure_test_suite(project: Path, env: dict[str, str], reps: int) -> TestSuiteResult:
    """Run the suite ``reps`` times; the first run also compiles the bytecode cache."""
    seconds = []
    summary = ""
    for _ in range(reps):
        measured = run_measured(COMMAND, cwd=project, env=env, timeout=TEST_TIMEOUT_SECONDS)
        seconds.append(measured.seconds)
        lines = re.findall(r"^=+ (.*\bin [\d.]+s.*?) =+$", measured.output, re.MULTILINE)
        summary = lines[-1] if lines else "?"
    return TestSuiteResult(" ".join(COMMAND), seconds, summary)
