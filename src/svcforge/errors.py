"""Errors that svcforge reports to the user, each with its own exit code.

Every expected failure (bad input, missing tool, unusable template) is a
``SvcforgeError``; the CLI turns it into a one-paragraph message on stderr and
the exit code below. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SvcforgeError(Exception):
    """Base class of all errors shown to the user without a traceback."""

    exit_code: ClassVar[int] = 1
    #: Short label printed before the message.
    title: ClassVar[str] = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def as_dict(self) -> dict[str, Any]:
        """Return the error as ``--json`` prints it on stdout (the message also goes to stderr)."""
        return {
            "error": {
                "type": type(self).__name__,
                "title": self.title,
                "message": self.message,
                "hint": self.hint,
                "exit_code": self.exit_code,
                **self.details(),
            }
        }

    def details(self) -> dict[str, Any]:
        """Extra machine-readable fields of this kind of error (none by default)."""
        return {}


class UsageError(SvcforgeError):
    """The command line itself is wrong (malformed option value, bad file)."""

    exit_code = 2
    title = "Invalid usage"


class BadDataError(UsageError):
    """A ``--data`` value or ``--data-file`` cannot be used."""

    title = "Invalid data"


class DestinationError(UsageError):
    """The destination directory cannot be generated into."""

    title = "Invalid destination"


class WriteError(DestinationError):
    """Writing into the destination failed (disk full, read-only, permission...)."""

    title = "Cannot write"


class InteractiveSessionRequiredError(UsageError):
    """A question needs an answer but there is no terminal to ask it on."""

    title = "No terminal"


class InvalidAnswerError(SvcforgeError):
    """An answer was rejected by the template's validator or choices."""

    exit_code = 3
    title = "Invalid answer"


class TemplateError(SvcforgeError):
    """The template cannot be found or Copier failed to render it."""

    exit_code = 4
    title = "Template error"


class BrokenOutputError(TemplateError):
    """The rendered project does not parse (Python, TOML, JSON, YAML); nothing was kept."""

    title = "Generated project is invalid"


class ToolError(SvcforgeError):
    """An external tool (git, uv) is missing."""

    exit_code = 5
    title = "Missing tool"


class PostGenerationError(SvcforgeError):
    """A follow-up step (``uv lock``, git) failed after rendering; the run was undone."""

    exit_code = 6
    title = "Post-generation step failed"


class AbortedError(SvcforgeError):
    """The user interrupted the run (Ctrl-C, SIGINT)."""

    exit_code = 130
    title = "Aborted"


class TerminatedError(AbortedError):
    """The run was stopped by SIGTERM (``kill``, a service manager, CI cancelling)."""

    exit_code = 143


class HangupError(AbortedError):
    """The run was stopped by SIGHUP (its terminal was closed)."""

    exit_code = 129


def aborted_by(signum: int, message: str, *, hint: str | None = None) -> AbortedError:
    """Return the error for a run stopped by signal ``signum`` (exit code 128 + signum)."""
    for kind in (AbortedError, TerminatedError, HangupError):
        if kind.exit_code == 128 + signum:
            return kind(message, hint=hint)
    return AbortedError(message, hint=hint)


class NotAGeneratedProjectError(UsageError):
    """The directory has no (readable) Copier answers file."""

    title = "Not a generated project"


class NotAGitRepositoryError(UsageError):
    """The project is not under git, which a 3-way update needs."""

    title = "Not a git repository"


class DowngradeError(UsageError):
    """The requested template version is older than the project's."""

    title = "Downgrade refused"


class UnknownRefError(UsageError):
    """``update --to`` names no tag, branch or commit of the template repository."""

    title = "Unknown template version"


class MissingTemplateVersionError(UsageError):
    """The project records no template version (``_commit``), so it cannot be merged."""

    title = "No template version recorded"


class TemplateSourceError(TemplateError):
    """The template the project records (or SVCFORGE_TEMPLATE names) cannot be reached."""

    title = "Template source not resolvable"


class DirtyTreeError(SvcforgeError):
    """The project has uncommitted changes, which an update could mix with its own."""

    exit_code = 8
    title = "Uncommitted changes"


class UpdateConflictsError(SvcforgeError):
    """The update finished but left conflicts for the team to resolve."""

    exit_code = 7
    title = "Update left conflicts"

    def __init__(self, message: str, *, files: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.files = files

    def details(self) -> dict[str, Any]:
        """Add the files left to resolve."""
        return {"files": self.files}


#: Every exit code of svcforge and what it means (shown by ``svcforge --help``).
#: A test checks that each ``SvcforgeError`` subclass's code is listed here.
#: ``svcforge update --check``: a newer template version exists (not an error).
UPDATE_AVAILABLE_EXIT_CODE = 10

EXIT_CODES: dict[int, str] = {
    0: "success (update --check: up to date)",
    1: "unexpected error (a bug: please report it with the traceback); diff --exit-code: "
    "the project differs from its template",
    2: "invalid usage: bad option or --data, unusable destination, not a generated "
    "project or not a git repository, downgrade refused, a file could not be written",
    3: "an answer was rejected by the template's validators",
    4: "template error: not found, not resolvable, failed to render, or rendered an "
    "invalid project",
    5: "a required tool (git, uv) is missing",
    6: "a follow-up step (uv lock, git commit) failed; nothing was left behind",
    7: "update finished with conflicts to resolve by hand",
    8: "uncommitted changes in the project (commit or stash them first)",
    9: "check: some applicable standard fails (failures recorded in --baseline do not count)",
    10: "update --check: a newer template version is available",
    129: "stopped by SIGHUP (terminal closed); what the run had written was removed",
    130: "interrupted by Ctrl-C (SIGINT); what the run had written was removed",
    143: "stopped by SIGTERM; what the run had written was removed",
}
