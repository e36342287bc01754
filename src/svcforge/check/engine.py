"""Judge a repository against every standard: the rule registry and the run over it.

A rule is a function of the :class:`Repository` returning a :class:`Verdict` for one
standard; a run rule (``--run``) also gets a :class:`Runner` and executes something
in the project's own environment. Rules live in ``svcforge.check.rules``, one module
per area, and register themselves with :func:`rule` / :func:`run_rule`. Their
docstrings say how each standard is checked (``svcforge standards`` shows them).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository
from svcforge.standards import LEVELS, Standard, load_standards

if TYPE_CHECKING:
    from svcforge.check.runner import Runner

StaticRule = Callable[[Repository], Verdict]
RunRule = Callable[[Repository, "Runner"], Verdict]

_STATIC: dict[str, StaticRule] = {}
_RUN: dict[str, list[RunRule]] = {}


def rule(standard_id: str) -> Callable[[StaticRule], StaticRule]:
    """Register the static rule of ``standard_id`` (exactly one per standard)."""

    def register(function: StaticRule) -> StaticRule:
        if standard_id in _STATIC:
            msg = f"two static rules for {standard_id}"
            raise ValueError(msg)
        _STATIC[standard_id] = function
        return function

    return register


def run_rule(standard_id: str) -> Callable[[RunRule], RunRule]:
    """Register a rule that runs something (``--run``) for ``standard_id``."""

    def register(function: RunRule) -> RunRule:
        _RUN.setdefault(standard_id, []).append(function)
        return function

    return register


def static_rules() -> dict[str, StaticRule]:
    """Every registered static rule, by standard id (importing the rule modules once)."""
    _load_rules()
    return dict(_STATIC)


def run_rules() -> dict[str, list[RunRule]]:
    """Every registered run rule, by standard id."""
    _load_rules()
    return {key: list(value) for key, value in _RUN.items()}


_loaded = False


def _load_rules() -> None:
    global _loaded  # noqa: PLW0603 - the registry fills once, on first use
    if _loaded:
        return
    from svcforge.check import rules  # noqa: PLC0415 - the rules import this module

    for module in pkgutil.iter_modules(rules.__path__):
        importlib.import_module(f"{rules.__name__}.{module.name}")
    _loaded = True


def how_checked(standard_id: str) -> str:
    """How ``standard_id`` is judged: its rules' docstrings, first paragraphs."""
    parts = []
    static = static_rules().get(standard_id)
    if static is not None:
        parts.append(_first_paragraph(static))
    parts += [f"With --run: {_first_paragraph(item)}" for item in run_rules().get(standard_id, [])]
    return " ".join(parts) or "Not judged automatically: review it by hand."


def _first_paragraph(function: Callable[..., object]) -> str:
    doc = (function.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


@dataclass
class CheckResult:
    """Every verdict of one check, in catalogue order."""

    root: Path
    level: str
    ran: bool
    verdicts: list[Verdict] = field(default_factory=list)
    #: Files the check could not read or parse (``path: why``).
    problems: dict[str, str] = field(default_factory=dict)

    def failed(self) -> list[Verdict]:
        """Failures not excused by the baseline."""
        return [v for v in self.verdicts if v.status is Status.FAIL and not v.baselined]

    def reached_level(self) -> str | None:
        """Return the highest level whose every applicable standard passes (``None``: none)."""
        catalogue = load_standards()
        reached = None
        for level in LEVELS:
            below = [v for v in self.verdicts if catalogue[v.standard_id].level == level]
            if any(v.status in {Status.FAIL, Status.UNKNOWN} for v in below):
                return reached
            if LEVELS.index(level) > LEVELS.index(self.level):
                return reached  # not checked: not claimed
            reached = level
        return reached


def judge(
    root: Path,
    *,
    level: str = LEVELS[-1],
    runner: Runner | None = None,
) -> CheckResult:
    """Judge ``root`` against every standard up to ``level``; run commands with ``runner``."""
    repository = Repository(root)
    waivers = applicability(repository)
    static = static_rules()
    running = run_rules()
    result = CheckResult(root, level, ran=runner is not None)
    for standard in load_standards().values():
        if not standard.within(level):
            continue
        result.verdicts.append(_judge_one(standard, repository, waivers, static, running, runner))
    result.problems = dict(repository.problems)
    return result


def _judge_one(
    standard: Standard,
    repository: Repository,
    waivers: dict[str, Evidence],
    static: dict[str, StaticRule],
    running: dict[str, list[RunRule]],
    runner: Runner | None,
) -> Verdict:
    if standard.id in waivers:
        return Verdict(
            standard.id,
            Status.NOT_APPLICABLE,
            f"Not applicable: {waivers[standard.id].note}",
            (waivers[standard.id],),
        )
    if repository.is_empty:
        return Verdict(
            standard.id,
            Status.FAIL,
            "The repository has no files.",
            (Evidence("empty directory", path="."),),
            "Start from `svcforge new`, or check the service's own folder.",
        )
    function = static.get(standard.id)
    if function is None:
        return Verdict(standard.id, Status.UNKNOWN, "No rule judges this standard yet.")
    verdict = _guarded(standard.id, lambda: function(repository))
    if runner is None or verdict.status is not Status.PASS:
        return verdict
    for execute in running.get(standard.id, []):
        ran = _guarded(standard.id, functools.partial(execute, repository, runner))
        if ran.status is not Status.PASS:
            return ran
        verdict = Verdict(
            standard.id,
            Status.PASS,
            f"{verdict.summary} {ran.summary}",
            verdict.evidence + ran.evidence,
        )
    return verdict


def _guarded(standard_id: str, judge_one: Callable[[], Verdict]) -> Verdict:
    """Run one rule; a rule that breaks on some input gives UNKNOWN, never a traceback.

    Rules parse whatever the repository holds; input nobody foresaw must cost one
    verdict, not the whole report.
    """
    try:
        return judge_one()
    except (Exception, RecursionError) as error:  # noqa: BLE001 - see the docstring
        return Verdict(
            standard_id,
            Status.UNKNOWN,
            f"svcforge could not judge this standard: its rule failed ({type(error).__name__}: "
            f"{error}). Please report it with the file that caused it.",
        )


def applicability(repository: Repository) -> dict[str, Evidence]:
    """Return the standards that do not apply to this repository, each with the reason.

    Two sources: the answers of a generated project (an option the team turned off,
    see ``OPTION_WAIVERS``), and ADRs in ``docs/adr/`` with a line ``Waives: ID[, ID]``
    (any repository can record a decision not to meet a standard).
    """
    found: dict[str, Evidence] = {}
    answers = repository.answers or {}
    for (question, off_value), waived in OPTION_WAIVERS.items():
        if question in answers and answers[question] == off_value:
            for standard_id in waived:
                found[standard_id] = Evidence(
                    f"{question} is {off_value!r} in the project's answers",
                    path=".copier-answers.yml",
                    key=question,
                )
    for name in repository.under("docs/adr"):
        for number, line in enumerate(repository.lines(name), start=1):
            head, _, listed = line.strip().lstrip("-*> ").partition(":")
            if head.strip().lower().strip("*_") != "waives":
                continue
            for standard_id in (part.strip().strip("`*") for part in listed.split(",")):
                if standard_id in load_standards():
                    found[standard_id] = Evidence(
                        f"waived by an ADR ({name})", path=name, line=number
                    )
    return found


#: Answers of svcforge's template that switch a standard off on purpose.
OPTION_WAIVERS: dict[tuple[str, object], tuple[str, ...]] = {
    ("auth", "none"): ("SEC-1", "SEC-2"),
    ("rate_limiting", False): ("SEC-3",),
    ("metrics", False): ("OPS-3",),
    ("tracing", False): ("OPS-4",),
    ("kubernetes", False): ("DEL-4",),
    ("ci", "none"): ("DEL-3",),
}
