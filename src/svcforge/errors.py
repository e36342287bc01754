"""Errors that svcforge reports to the user, each with its own exit code.

Every expected failure (bad input, missing tool, unusable template) is a
``SvcforgeError``; the CLI turns it into a one-paragraph message on stderr and
the exit code below. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import ClassVar


class SvcforgeError(Exception):
    """Base class of all errors shown to the user without a traceback."""

    exit_code: ClassVar[int] = 1
    #: Short label printed before the message.
    title: ClassVar[str] = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


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


class ToolError(SvcforgeError):
    """An external tool (git, uv) is missing."""

    exit_code = 5
    title = "Missing tool"


class PostGenerationError(SvcforgeError):
    """The project was generated but a follow-up step (git, uv lock) failed."""

    exit_code = 6
    title = "Post-generation step failed"


class AbortedError(SvcforgeError):
    """The user interrupted the questionnaire."""

    exit_code = 130
    title = "Aborted"


class NotAGeneratedProjectError(UsageError):
    """The directory has no (readable) Copier answers file."""

    title = "Not a generated project"


class NotAGitRepositoryError(UsageError):
    """The project is not under git, which a 3-way update needs."""

    title = "Not a git repository"


class DowngradeError(UsageError):
    """The requested template version is older than the project's."""

    title = "Downgrade refused"


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
