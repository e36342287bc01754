"""Baselines: record today's failures so only new ones fail (adopting standards step by step).

A baseline file (``--write-baseline FILE``) lists each failing standard with the paths its
evidence cites, never line numbers: an edit elsewhere in a file moves lines but keeps the
failure recorded. ``--baseline FILE`` then excuses a failure when the baseline records
its standard and every path it cites; a failure citing a path the baseline does not
know (a new offending file) still fails. Fixing one of several recorded files keeps the
rest excused: the paths of a failure only have to be among the recorded ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svcforge import __version__
from svcforge.check.engine import CheckResult
from svcforge.check.formats import write_atomically
from svcforge.check.model import Status, Verdict
from svcforge.errors import UsageError

#: The version of the baseline file's shape.
BASELINE_SCHEMA = "svcforge-baseline/1"


class BaselineError(UsageError):
    """The ``--baseline`` file is missing or is not a baseline svcforge wrote."""

    title = "Invalid baseline"


def evidence_paths(verdict: Verdict) -> tuple[str, ...]:
    """Return the distinct paths a verdict's evidence cites, sorted (no line numbers)."""
    return tuple(sorted({item.path for item in verdict.evidence if item.path}))


def fingerprint(standard_id: str, paths: tuple[str, ...]) -> str:
    """Return a stable id of a failure: its standard and the paths it cites, hashed."""
    digest = hashlib.sha256("\0".join((standard_id, *paths)).encode("utf-8"))
    return digest.hexdigest()[:20]


def verdict_fingerprint(verdict: Verdict) -> str:
    """Return the fingerprint of a verdict (baselines and SARIF partialFingerprints use it)."""
    return fingerprint(verdict.standard_id, evidence_paths(verdict))


@dataclass(frozen=True)
class BaselineEntry:
    """One recorded failure."""

    standard_id: str
    paths: tuple[str, ...]
    #: The failure's summary when it was recorded (for people reading the file).
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as the baseline file stores it."""
        return {
            "id": self.standard_id,
            "fingerprint": fingerprint(self.standard_id, self.paths),
            "paths": list(self.paths),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Baseline:
    """The failures a team accepted for now."""

    entries: tuple[BaselineEntry, ...]

    @classmethod
    def of(cls, result: CheckResult) -> Baseline:
        """Today's failures of ``result`` (baselined or not), sorted by standard id."""
        entries = [
            BaselineEntry(verdict.standard_id, evidence_paths(verdict), verdict.summary)
            for verdict in result.verdicts
            if verdict.status is Status.FAIL
        ]
        return cls(tuple(sorted(entries, key=lambda entry: (entry.standard_id, entry.paths))))

    def covers(self, verdict: Verdict) -> bool:
        """Whether ``verdict`` is a recorded failure (same standard, no path not recorded)."""
        if verdict.status is not Status.FAIL:
            return False
        recorded = {
            path
            for entry in self.entries
            if entry.standard_id == verdict.standard_id
            for path in entry.paths
        }
        known = any(entry.standard_id == verdict.standard_id for entry in self.entries)
        return known and set(evidence_paths(verdict)) <= recorded

    def as_dict(self) -> dict[str, Any]:
        """Return the baseline file's content."""
        return {
            "schema": BASELINE_SCHEMA,
            "svcforge_version": __version__,
            "failures": [entry.as_dict() for entry in self.entries],
        }


def apply_baseline(result: CheckResult, baseline: Baseline) -> CheckResult:
    """Return a copy of ``result`` whose recorded failures are marked ``baselined``."""
    verdicts = [
        dataclasses.replace(verdict, baselined=True) if baseline.covers(verdict) else verdict
        for verdict in result.verdicts
    ]
    return dataclasses.replace(result, verdicts=verdicts, problems=dict(result.problems))


def write_baseline(path: Path, result: CheckResult) -> Baseline:
    """Record the failures of ``result`` in ``path`` (atomically) and return the baseline."""
    baseline = Baseline.of(result)
    write_atomically(path, json.dumps(baseline.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return baseline


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file; a missing or malformed one is a :class:`BaselineError`."""
    hint = f"Write one with `svcforge check --write-baseline {path}`."
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"The baseline {path} does not exist."
        raise BaselineError(msg, hint=hint) from None
    except IsADirectoryError:
        msg = f"The baseline {path} is a directory, not a file."
        raise BaselineError(msg, hint=hint) from None
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        msg = f"Cannot read the baseline {path}: {why}."
        raise BaselineError(msg) from None
    try:
        return _parse(json.loads(raw))
    except (json.JSONDecodeError, ValueError) as error:
        msg = f"{path} is not a svcforge baseline: {error}"
        raise BaselineError(msg, hint=hint) from None


def _parse(data: object) -> Baseline:
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        msg = f'it has no "schema": "{BASELINE_SCHEMA}"'
        raise ValueError(msg)
    failures = data.get("failures")
    if not isinstance(failures, list):
        msg = '"failures" is not a list'
        raise ValueError(msg)  # noqa: TRY004 - one error type for every malformed baseline
    entries = []
    for number, item in enumerate(failures, start=1):
        if not isinstance(item, dict):
            msg = f"failure {number} is not an object"
            raise ValueError(msg)  # noqa: TRY004 - one error type for every malformed baseline
        standard_id, paths = item.get("id"), item.get("paths", [])
        if not isinstance(standard_id, str) or not standard_id:
            msg = f'failure {number} has no "id"'
            raise ValueError(msg)
        if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
            msg = f'the "paths" of failure {number} ({standard_id}) are not a list of strings'
            raise ValueError(msg)
        summary = item.get("summary", "")
        entries.append(
            BaselineEntry(
                standard_id, tuple(sorted(set(paths))), summary if isinstance(summary, str) else ""
            )
        )
    return Baseline(tuple(entries))
