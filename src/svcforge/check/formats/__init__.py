"""Reports of ``svcforge check``: text for people, JSON, SARIF and JUnit for machines.

Every format renders the same :class:`Report` (the verdicts, the drift section and the
baseline that was applied) and counts the same way (:func:`counts`), so the text summary,
the JSON ``summary`` and the JUnit totals always agree.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from svcforge.check.engine import CheckResult
from svcforge.check.model import Drift, Evidence, Status, Verdict
from svcforge.errors import WriteError


class Format(StrEnum):
    """The formats ``svcforge check --format`` writes."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"


@dataclass(frozen=True)
class Report:
    """What a report shows: one check, its drift section, and the baseline applied."""

    result: CheckResult
    #: ``None`` when the repository is not a generated project (no drift to show).
    drift: Drift | None = None
    #: The baseline file applied (as the user named it), ``None`` without ``--baseline``.
    baseline: str | None = None


#: The keys of :func:`counts`, in the order reports show them.
COUNT_KEYS: tuple[str, ...] = ("pass", "fail", "not_applicable", "unknown", "baselined")


def counts(result: CheckResult) -> dict[str, int]:
    """How many verdicts have each status; a baselined failure counts as ``baselined`` only.

    The five numbers add up to the number of standards judged.
    """
    found = dict.fromkeys(COUNT_KEYS, 0)
    for verdict in result.verdicts:
        if verdict.status is Status.FAIL and verdict.baselined:
            found["baselined"] += 1
        else:
            found[verdict.status.value] += 1
    return found


def summary_sentence(result: CheckResult) -> str:
    """One line: how many standards, the counts per status and the level reached."""
    found = counts(result)
    parts = ", ".join(f"{found[key]} {key.replace('_', ' ')}" for key in COUNT_KEYS)
    reached = result.reached_level()
    reaches = f"Reaches {reached}." if reached else "Reaches no level."
    return f"{len(result.verdicts)} standards up to {result.level}: {parts}. {reaches}"


def evidence_location(evidence: Evidence) -> str:
    """Where a piece of evidence points: ``path:line``, ``path [key]``, ``$ command``..."""
    where = evidence.path or ""
    if where and evidence.line is not None:
        where = f"{where}:{evidence.line}"
    if evidence.key:
        key = evidence.key if evidence.key.startswith("[") else f"[{evidence.key}]"
        where = f"{where} {key}" if where else key
    if evidence.command:
        where = f"{where} $ {evidence.command}" if where else f"$ {evidence.command}"
    return where


def evidence_dict(evidence: Evidence) -> dict[str, Any]:
    """Return a piece of evidence as JSON carries it (every field, nulls kept)."""
    return {
        "note": evidence.note,
        "path": evidence.path,
        "line": evidence.line,
        "key": evidence.key,
        "command": evidence.command,
        "output": evidence.output,
    }


def drift_dict(drift: Drift | None) -> dict[str, Any] | None:
    """Return the drift section as JSON and SARIF carry it (``None``: not generated)."""
    if drift is None:
        return None
    return {
        "template": drift.template,
        "recorded_version": drift.recorded_version,
        "newest_version": drift.newest_version,
        "behind": drift.behind,
        "files": [{"path": item.path, "state": item.state} for item in drift.files],
        "problem": drift.problem,
    }


def drift_sentence(drift: Drift) -> str:
    """One line on the template version: recorded, newest, behind or not."""
    if drift.problem:
        return f"Drift could not be computed: {drift.problem}"
    newest = drift.newest_version or "unknown"
    state = "behind the newest release" if drift.behind else "up to date"
    return (
        f"Template {drift.template} at {drift.recorded_version} "
        f"(newest {newest}): {state}; {len(drift.files)} file(s) differ from the template."
    )


def is_failure(verdict: Verdict) -> bool:
    """Whether the verdict fails the run (a failure the baseline does not excuse)."""
    return verdict.status is Status.FAIL and not verdict.baselined


def render(report: Report, output_format: Format) -> str:
    """Render ``report`` as ``output_format``, as a string (text without colours)."""
    # Imported here: each renderer imports this module for the shared helpers above.
    from svcforge.check.formats import (  # noqa: PLC0415 - see the comment above
        json_report,
        junit,
        sarif,
        text,
    )

    renderers: dict[Format, Callable[[Report], str]] = {
        Format.TEXT: text.render,
        Format.JSON: json_report.render,
        Format.SARIF: sarif.render,
        Format.JUNIT: junit.render,
    }
    return renderers[output_format](report)


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` (UTF-8) so a reader never sees half a file.

    A temporary file in the same directory is renamed over ``path``; any failure leaves
    ``path`` as it was and raises :class:`WriteError`.
    """
    directory = path.parent
    if not directory.is_dir():
        msg = f"Cannot write {path}: the directory {directory} does not exist."
        raise WriteError(msg)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as error:
        msg = f"Cannot write {path}: {error.strerror or error}."
        raise WriteError(msg) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
        # mkstemp creates 0600; a report or baseline is an ordinary file of the project.
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        msg = f"Cannot write {path}: {error.strerror or error}."
        raise WriteError(msg) from None
