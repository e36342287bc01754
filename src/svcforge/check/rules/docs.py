"""Documentation standards (DOC): ADRs, the two-command README, runbook, contributing.

These rules read Markdown, reStructuredText and plain text alike: they look for
headings, code blocks and the files' structure, never for svcforge's own wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository

_DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")

# -- reading documents -------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A heading of a document: its text, level (1 is the title) and line."""

    text: str
    level: int
    line: int


_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


def headings(lines: list[str]) -> list[Heading]:
    """Find the Markdown (``#``) and reStructuredText (underlined) headings of a document."""
    found: list[Heading] = []
    rst_levels: list[str] = []
    fence = False
    front_matter = bool(lines) and lines[0].strip() == "---"  # YAML front matter (MADR)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if front_matter:
            front_matter = index == 0 or stripped != "---"
            continue
        if stripped.startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence:
            continue
        markdown = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if markdown:
            found.append(Heading(markdown.group(2), len(markdown.group(1)), index + 1))
            continue
        underline = _RST_UNDERLINE.match(stripped)
        previous = lines[index - 1].strip() if index else ""
        if underline and previous and not _RST_UNDERLINE.match(previous) and line == stripped:
            char = underline.group(1)
            if char not in rst_levels:
                rst_levels.append(char)
            found.append(Heading(previous, rst_levels.index(char) + 1, index))
    return found


def _content_lines(lines: list[str]) -> int:
    """Non-empty lines that are neither headings nor heading underlines."""
    return sum(
        1
        for line in lines
        if line.strip()
        and not re.match(r"^#{1,6}\s", line)
        and not _RST_UNDERLINE.match(line.strip())
    )


def code_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(line, command) for each line of a code block or inline code span of a README.

    Fenced (```/~~~) and reStructuredText literal blocks count line by line; inline code
    spans and ``$ `` prompts count too. Shell comments are dropped, and ``a && b`` is
    two commands.
    """
    fence = False
    literal_indent: int | None = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        candidates: list[str] = []
        if stripped.startswith(("```", "~~~")):
            fence = not fence
            continue
        if literal_indent is not None:
            indent = len(line) - len(line.lstrip())
            if stripped and indent < literal_indent:
                literal_indent = None
            elif stripped:
                candidates.append(stripped)
        if fence:
            candidates.append(stripped)
        elif literal_indent is None:
            if stripped.endswith("::") and not stripped.startswith(".. _"):
                literal_indent = 1
            candidates += re.findall(r"`{1,2}([^`\n]+?)`{1,2}", line)
            if stripped.startswith("$ "):
                candidates.append(stripped)
        for candidate in candidates:
            command = re.sub(r"^[$>]\s+", "", candidate.strip())
            command = re.split(r"\s+#", command, maxsplit=1)[0]
            for part in re.split(r"&&|;|\|\|", command):
                if part.strip():
                    yield number, " ".join(part.split())


def doc_files(repo: Repository) -> list[str]:
    """Documentation files (Markdown, reStructuredText, text), ADRs excluded."""
    adr_folders = tuple(f"{folder}/" for folder in ADR_FOLDERS)
    return [
        name
        for name in repo.files
        if name.lower().endswith(_DOC_SUFFIXES) and not name.startswith(adr_folders)
    ]


# -- DOC-1 ------------------------------------------------------------------------------

#: Where ADRs are kept, in the order the rule looks.
ADR_FOLDERS = (
    "docs/adr",
    "docs/adrs",
    "doc/adr",
    "docs/decisions",
    "docs/architecture/decisions",
    "docs/architecture/adr",
    "adr",
    "adrs",
    "decisions",
)
_ADR_NAME = re.compile(r"^(?:adr[-_ ]?)?(\d{1,5})(?:[-_ .].*)?\.(md|markdown|rst|txt|adoc)$", re.I)
_ABOUT_RECORDS = re.compile(
    r"record.*decision|decision.*record|\badrs?\b|decision[- ]log|architecture[- ]decision", re.I
)
_STATUS = re.compile(r"^[\s\-*>|]*(\*\*|__)?status\b", re.I)
_DECISION_LINE = re.compile(r"^[\s\-*>]*(\*\*|__)?decision( outcome)?(\*\*|__)?\s*:", re.I)


def _adrs(repo: Repository) -> tuple[str, list[tuple[int, str]]]:
    """(folder, [(number, path)]) of the first ADR folder with numbered records."""
    for folder in ADR_FOLDERS:
        numbered = []
        for name in repo.under(folder):
            relative = name[len(folder) + 1 :]
            match = _ADR_NAME.match(relative)
            if "/" not in relative and match:
                numbered.append((int(match.group(1)), name))
        if numbered:
            return folder, sorted(numbered)
    return "", []


def _title(repo: Repository, path: str) -> Heading | None:
    found = headings(repo.lines(path))
    return found[0] if found else None


def _has_status_and_decision(repo: Repository, path: str) -> tuple[bool, bool]:
    lines = repo.lines(path)
    status = any(_STATUS.match(line) for line in lines)
    found = headings(lines)
    decision = any("decision" in h.text.lower() for h in found[1:]) or any(
        _DECISION_LINE.match(line) for line in lines
    )
    return status, decision


@rule("DOC-1")
def decision_records(repo: Repository) -> Verdict:
    """Reads the ADR folder (docs/adr/ or docs/decisions/...): numbered records (0001-title.md), no
    number used twice, the first one titled as the decision to record decisions, each with a
    status and a decision section, and at least one more record for the stack choices.

    Records that cannot be read are reported, never guessed.
    """
    folder, records = _adrs(repo)
    if not records:
        return Verdict(
            "DOC-1",
            Status.FAIL,
            "There are no numbered architecture decision records (docs/adr/0001-*.md).",
            (Evidence(f"no numbered file in {' or '.join(ADR_FOLDERS[:2])}", path="docs/adr"),),
            "Record decisions in docs/adr/, starting with 0001-record-architecture-decisions.md.",
        )
    problems: list[str] = []
    evidence: list[Evidence] = [Evidence(f"{len(records)} numbered ADRs", path=folder)]
    numbers = [number for number, _ in records]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice:
        problems.append(f"ADR numbers used twice: {', '.join(f'{n:04d}' for n in twice)}")
        evidence += [
            Evidence(f"number {n:04d} used twice", path=p) for n, p in records if n in twice
        ]
    first_number, first = records[0]
    title = _title(repo, first)
    about = f"{title.text if title else ''} {PurePosixPath(first).stem.replace('-', ' ')}"
    if repo.text(first) is None:
        return Verdict(
            "DOC-1",
            Status.UNKNOWN,
            f"The first ADR ({first}) cannot be read.",
            (Evidence(repo.problems.get(first, "unreadable"), path=first),),
            "Save the ADRs as UTF-8 text.",
        )
    if not _ABOUT_RECORDS.search(about):
        problems.append(f"the first ADR ({first}) is not the decision to record decisions")
        evidence.append(
            Evidence(
                f"first ADR is #{first_number}: {title.text if title else 'untitled'}",
                path=first,
                line=title.line if title else None,
            )
        )
    for _, path in records:
        status, decision = _has_status_and_decision(repo, path)
        missing = [name for name, ok in (("status", status), ("decision", decision)) if not ok]
        if missing:
            problems.append(f"{path} has no {' and no '.join(missing)} section")
            evidence.append(Evidence(f"no {' or '.join(missing)}", path=path))
    if len(records) < 2:  # the ADR about ADRs plus one stack choice
        problems.append("only the first ADR exists: the stack choices are not recorded")
    if problems:
        return Verdict(
            "DOC-1",
            Status.FAIL,
            f"The decision records are incomplete: {'; '.join(problems)}.",
            tuple(evidence),
            "Number the ADRs, start with the decision to record decisions, give each a "
            "status and a decision section, and record every stack choice.",
        )
    return Verdict(
        "DOC-1",
        Status.PASS,
        f"{len(records)} numbered ADRs in {folder}/, starting with the decision to record "
        "decisions, each with a status and a decision.",
        (
            *evidence,
            Evidence(
                title.text if title else "first ADR", path=first, line=title.line if title else None
            ),
        ),
    )


# -- DOC-2 ------------------------------------------------------------------------------

_INSTALL = re.compile(
    r"^(make|just|task)\s+(install|setup|bootstrap|init|dev|deps)\b"
    r"|^uv\s+sync\b"
    r"|^(python3?\s+-m\s+|uv\s+)?pip3?\s+install\b"
    r"|^(poetry|pipenv)\s+install\b"
    r"|^pdm\s+(install|sync)\b"
    r"|^hatch\s+env\s+create\b"
    r"|^(npm|pnpm|yarn)\s+(install|ci)\b"
    r"|^go\s+mod\s+download\b"
    r"|^(\./)?scripts?/(setup|bootstrap|install)\S*",
)
_TEST = re.compile(
    r"^(make|just|task)\s+(test|tests|check)\b"
    r"|^((uv|poetry|pdm|hatch|pipenv)\s+run\s+(--\S+\s+)*|python3?\s+-m\s+)?pytest\b"
    r"|^(tox|nox)\b"
    r"|^hatch\s+test\b"
    r"|^(npm|pnpm|yarn)\s+(run\s+)?test\b"
    r"|^go\s+test\b"
    r"|^(\./)?scripts?/test\S*",
)


def _readme(repo: Repository) -> str | None:
    by_lower = {name.lower(): name for name in repo.files if "/" not in name}
    for candidate in ("readme.md", "readme.rst", "readme.markdown", "readme.txt", "readme"):
        if candidate in by_lower:
            return by_lower[candidate]
    return None


def _targets(repo: Repository) -> dict[str, set[str]]:
    """Targets of the Makefile and recipes of the justfile: ``{"make": {...}, "just": {...}}``."""
    found: dict[str, set[str]] = {"make": set(), "just": set(), "task": set()}
    for name in ("Makefile", "makefile", "GNUmakefile"):
        for line in repo.lines(name):
            match = re.match(
                r"^([A-Za-z0-9_.%/-]+(?:[ \t]+[A-Za-z0-9_.%/-]+)*)[ \t]*::?(?!=)", line
            )
            if match:
                found["make"].update(match.group(1).split())
    for name in ("justfile", "Justfile", ".justfile"):
        for line in repo.lines(name):
            match = re.match(r"^@?([A-Za-z0-9_-]+)(?:[ \t]+[^:=]*)?:(?!=)", line)
            if match:
                found["just"].add(match.group(1))
    for name in ("Taskfile.yml", "Taskfile.yaml"):
        loaded = repo.yaml(name)
        tasks = loaded.get("tasks") if isinstance(loaded, dict) else None
        if isinstance(tasks, dict):
            found["task"].update(str(key) for key in tasks)
    return found


@rule("DOC-2")
def two_command_readme(repo: Repository) -> Verdict:
    """Reads the README's code blocks and inline code for an install command (make install, uv sync,
    pip install, poetry install...) and a test command (make test, pytest, tox...);
    make/just/task targets must exist in the Makefile, justfile or Taskfile.

    Commands in prose outside code are not counted: a newcomer copies code blocks.
    """
    readme = _readme(repo)
    if readme is None:
        return Verdict(
            "DOC-2",
            Status.FAIL,
            "There is no README.",
            (Evidence("no README.md or README.rst at the root", path="."),),
            "Add a README with a quick start: one command to install, one to run the tests.",
        )
    lines = repo.lines(readme)
    if repo.text(readme) is None:
        return Verdict(
            "DOC-2",
            Status.UNKNOWN,
            f"{readme} cannot be read.",
            (Evidence(repo.problems.get(readme, "unreadable"), path=readme),),
            "Save the README as UTF-8 text.",
        )
    targets = _targets(repo)
    install: Evidence | None = None
    test: Evidence | None = None
    dangling: list[Evidence] = []
    for number, command in code_lines(lines):
        kind = "install" if _INSTALL.match(command) else "test" if _TEST.match(command) else None
        if kind is None:
            continue
        runner, _, target = command.partition(" ")
        target = target.split(" ")[0]
        if runner in targets and target not in targets[runner]:
            dangling.append(
                Evidence(f"`{command}` names a {runner} target that does not exist", readme, number)
            )
            continue
        found = Evidence(f"{kind} command: `{command}`", readme, number)
        if kind == "install" and install is None:
            install = found
        elif kind == "test" and test is None:
            test = found
    if install is not None and test is not None:
        return Verdict(
            "DOC-2",
            Status.PASS,
            f"{readme} takes a newcomer to passing tests with `{_command(install)}` "
            f"and `{_command(test)}`.",
            (install, test),
        )
    missing = [name for name, found in (("install", install), ("test", test)) if found is None]
    return Verdict(
        "DOC-2",
        Status.FAIL,
        f"{readme} names no {' and no '.join(missing)} command in its code blocks.",
        (*(e for e in (install, test) if e is not None), *dangling)
        or (Evidence("no install or test command in a code block", path=readme),),
        "Add a quick start to the README: a code block with the install command "
        "(e.g. `make install`) and the test command (e.g. `make test`).",
    )


def _command(evidence: Evidence) -> str:
    return evidence.note.split("`")[1]


# -- DOC-3 ------------------------------------------------------------------------------

_RUNBOOK_NAME = re.compile(
    r"run[-_ ]?book|play[-_ ]?book|operations|troubleshoot|on[-_ ]?call", re.I
)
#: A section of another document counts when headed so: "Operations" in a README is too
#: often a list of links to count as the runbook itself.
_RUNBOOK_SECTION = re.compile(r"run[-_ ]?book|troubleshoot|on[-_ ]?call|incident", re.I)
_RUNBOOK_WORDS = re.compile(
    r"alert|incident|troubleshoot|restart|roll[- ]?back|outage|failure|fails|recover|on[- ]call"
    r"|escalat|\blogs?\b",
    re.I,
)
_DEPLOY_NAME = re.compile(r"deploy", re.I)
_DEPLOY_WORDS = re.compile(
    r"deploy|release|image|container|environment|configur|rollout|kubernetes|helm|compose", re.I
)
_MIN_GUIDE_LINES = 5
_MIN_SECTION_LINES = 3


def _guide(
    repo: Repository,
    names: tuple[re.Pattern[str], re.Pattern[str]],
    words: re.Pattern[str],
    what: str,
) -> tuple[Evidence | None, Evidence | None]:
    """(evidence of a real guide, evidence of a stub) for a runbook or deployment guide.

    A guide is a document named for it, or a section of another document headed so,
    with enough content that mentions what such a guide is about.
    """
    name_pattern, section_pattern = names
    stub: Evidence | None = None
    documents = doc_files(repo)
    for path in documents:
        if not name_pattern.search(PurePosixPath(path).stem):
            continue
        lines = repo.lines(path)
        if _content_lines(lines) >= _MIN_GUIDE_LINES and words.search("\n".join(lines)):
            sections = len(headings(lines))
            return Evidence(f"{what}: {sections} headings", path=path), None
        stub = stub or Evidence(f"{what} too short to guide anyone", path=path)
    for path in documents:
        lines = repo.lines(path)
        found = headings(lines)
        for index, heading in enumerate(found):
            if not section_pattern.search(heading.text):
                continue
            end = next(
                (h.line - 1 for h in found[index + 1 :] if h.level <= heading.level), len(lines)
            )
            body = lines[heading.line : end]
            if _content_lines(body) >= _MIN_SECTION_LINES and words.search("\n".join(body)):
                return Evidence(f"{what} section: {heading.text}", path, heading.line), None
    return None, stub


@rule("DOC-3")
def runbook_and_deployment(repo: Repository) -> Verdict:
    """Looks for a runbook (a document named runbook/operations/troubleshooting, or a section
    headed runbook/troubleshooting/incidents, that covers alerts, failures or rollbacks) and
    a deployment guide (a document or section about deploying: releases, images,
    configuration), each with real content, not a title alone.
    """
    runbook, runbook_stub = _guide(
        repo, (_RUNBOOK_NAME, _RUNBOOK_SECTION), _RUNBOOK_WORDS, "runbook"
    )
    deployment, deployment_stub = _guide(
        repo, (_DEPLOY_NAME, _DEPLOY_NAME), _DEPLOY_WORDS, "deployment guide"
    )
    if runbook is not None and deployment is not None:
        return Verdict(
            "DOC-3",
            Status.PASS,
            "A runbook and a deployment guide are there.",
            (runbook, deployment),
        )
    missing = [
        name
        for name, found in (("runbook", runbook), ("deployment guide", deployment))
        if found is None
    ]
    evidence = [e for e in (runbook, deployment, runbook_stub, deployment_stub) if e is not None]
    return Verdict(
        "DOC-3",
        Status.FAIL,
        f"No {' and no '.join(missing)} with real content was found.",
        tuple(evidence) or (Evidence("no runbook or deployment document", path="docs"),),
        "Write docs/runbook.md (first look, alerts, failures, rollbacks) and docs/deployment.md "
        "(what runs, settings, releasing).",
    )


# -- DOC-4 ------------------------------------------------------------------------------

_CONTRIBUTING = re.compile(r"^contributing(\.(md|markdown|rst|txt|adoc))?$", re.I)
_CHANGELOG = re.compile(
    r"^(changelog|changes|history|news|release[-_]?notes)(\.(md|markdown|rst|txt|adoc))?$", re.I
)
_RELEASE_ENTRY = re.compile(r"unreleased|\bv?\d+\.\d+(\.\d+)?\b", re.I)
_CONTRIBUTING_LINES = 3


def _find(repo: Repository, pattern: re.Pattern[str]) -> list[str]:
    return [
        name
        for name in repo.files
        if PurePosixPath(name).parent.as_posix() in {".", "docs", ".github", "doc"}
        and pattern.match(PurePosixPath(name).name)
    ]


@rule("DOC-4")
def contributing_and_changelog(repo: Repository) -> Verdict:
    """Looks for a contributing guide (CONTRIBUTING.md at the root, docs/ or .github/, with
    content beyond a title) and a changelog (CHANGELOG/CHANGES/HISTORY/NEWS) with at least
    one release or "Unreleased" heading.
    """
    problems: list[str] = []
    evidence: list[Evidence] = []
    contributing = _find(repo, _CONTRIBUTING)
    good = [p for p in contributing if _content_lines(repo.lines(p)) >= _CONTRIBUTING_LINES]
    if good:
        evidence.append(Evidence("contributing guide", path=good[0]))
    elif contributing:
        problems.append(f"{contributing[0]} is too short to guide a contributor")
        evidence.append(Evidence("almost empty", path=contributing[0]))
    else:
        problems.append("there is no contributing guide (CONTRIBUTING.md)")
    changelogs = _find(repo, _CHANGELOG)
    entry: Evidence | None = None
    for path in changelogs:
        for heading in headings(repo.lines(path)):
            if _RELEASE_ENTRY.search(heading.text):
                entry = Evidence(f"changelog entry: {heading.text}", path, heading.line)
                break
        if entry is not None:
            break
    if entry is not None:
        evidence.append(entry)
    elif changelogs:
        problems.append(f"{changelogs[0]} has no release or Unreleased heading")
        evidence.append(Evidence("no release heading", path=changelogs[0]))
    else:
        problems.append("there is no changelog (CHANGELOG.md)")
    if problems:
        return Verdict(
            "DOC-4",
            Status.FAIL,
            f"The contributor documents are incomplete: {'; '.join(problems)}.",
            tuple(evidence) or (Evidence("no CONTRIBUTING or CHANGELOG file", path="."),),
            "Add CONTRIBUTING.md (setup, workflow, review) and CHANGELOG.md with an Unreleased "
            "section (Keep a Changelog).",
        )
    return Verdict(
        "DOC-4",
        Status.PASS,
        "A contributing guide and a changelog with release entries are there.",
        tuple(evidence),
    )
