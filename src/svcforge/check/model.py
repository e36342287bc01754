"""What ``svcforge check`` finds: a verdict per standard, with evidence and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """The outcome of judging one standard."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    #: The standard does not apply (an option the team turned off, a waiver in an ADR).
    NOT_APPLICABLE = "not_applicable"
    #: It could not be judged from what is there (a file that does not parse, a command
    #: that was not run or could not finish).
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Evidence:
    """Where a verdict comes from: a file and line, a config key, or a command and its output.

    ``path`` is relative to the checked repository, POSIX style; ``line`` counts from 1.
    """

    note: str
    path: str | None = None
    line: int | None = None
    key: str | None = None
    command: str | None = None
    output: str | None = None


@dataclass(frozen=True)
class Verdict:
    """One standard judged on one repository."""

    standard_id: str
    status: Status
    #: One sentence: what was found.
    summary: str
    evidence: tuple[Evidence, ...] = ()
    #: One sentence: what to do to pass (empty when it passes).
    remediation: str = ""
    #: Set when the failure is recorded in a baseline: reported, but does not fail the run.
    baselined: bool = False


@dataclass
class DriftedFile:
    """A template-managed file and how the project's copy differs from the pristine render."""

    path: str
    #: ``customised`` (edited by the team), ``deleted`` (removed by the team) or
    #: ``outdated`` (untouched, but the newest template release changes it).
    state: str


@dataclass
class Drift:
    """How a generated project differs from its template (``.copier-answers.yml``)."""

    template: str
    recorded_version: str
    newest_version: str | None
    behind: bool
    files: list[DriftedFile] = field(default_factory=list)
    #: Why drift could not be computed, when it could not (the template is unreachable...).
    problem: str | None = None
