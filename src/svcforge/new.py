"""Generate a new service from the template (the work behind ``svcforge new``)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier
from copier.errors import (
    CopierAnswersInterrupt,
    CopierError,
    DirtyLocalWarning,
    InteractiveSessionError,
)

from svcforge import __version__
from svcforge.answers import ANSWERS_FILE, public_answers, read_answers
from svcforge.errors import (
    AbortedError,
    DestinationError,
    InteractiveSessionRequiredError,
    InvalidAnswerError,
    PostGenerationError,
    TemplateError,
    ToolError,
)
from svcforge.project import git
from svcforge.template_source import TemplateSource

#: ``uv lock`` resolves against PyPI; give it time but never hang forever.
LOCK_TIMEOUT_SECONDS = 600

# Copier reports these ValueErrors for problems with the template, not the answers.
_TEMPLATE_VALUE_ERRORS = ("Local template must be a directory", "Unknown revision")


@dataclass
class GenerationResult:
    """What ``generate`` produced."""

    dest: Path
    #: Everything in ``.copier-answers.yml``, including ``_src_path``/``_commit``.
    answers: dict[str, Any]
    source: TemplateSource
    #: Commit created in the new repository, ``None`` with ``git=False``.
    commit: str | None
    locked: bool
    #: Problems worth telling the user about (the source's own warning excluded).
    warnings: list[str] = field(default_factory=list)

    @property
    def public_answers(self) -> dict[str, Any]:
        """The answers to the template's questions (no ``_``-prefixed metadata)."""
        return public_answers(self.answers)


def generate(
    dest: Path,
    *,
    data: Mapping[str, Any],
    defaults: bool,
    force: bool,
    git: bool,
    lock: bool,
    source: TemplateSource,
) -> GenerationResult:
    """Render the template into ``dest``, then optionally ``uv lock`` and commit.

    Questions without an answer in ``data`` are asked on the terminal unless
    ``defaults`` is set. If rendering fails, ``dest`` is left as it was found
    (removed if it did not exist, emptied again if it was empty). Raises a
    ``SvcforgeError`` subclass for every expected failure.
    """
    dest = dest.expanduser().absolute()
    # Check tools first so a missing one never leaves a half-finished project.
    if git and shutil.which("git") is None:
        raise ToolError("git is not installed.", hint="Install git or pass --no-git.")
    if lock and shutil.which("uv") is None:
        raise ToolError("uv is not installed.", hint="Install uv or pass --no-lock.")

    existed, before = _check_destination(dest, force=force)
    interactive = not defaults and sys.stdin.isatty()
    try:
        with _copier_output(silenced=not defaults and not interactive):
            _run_copier(source, dest, data=data, defaults=defaults, force=force)
    except BaseException:
        _restore_destination(dest, existed=existed, before=before)
        raise

    answers_path = dest / ANSWERS_FILE
    if not answers_path.is_file():
        raise TemplateError(f"The template did not write {ANSWERS_FILE} into {dest}.")
    answers = read_answers(dest)
    notes: list[str] = []
    unknown = sorted(set(data) - set(answers))
    if unknown:
        notes.append(f"Ignored data for unknown question(s): {', '.join(unknown)}.")

    lock_error = uv_lock(dest) if lock else None
    commit = _git_commit(dest) if git else None
    if lock_error is not None:
        committed = " and committed" if commit else ""
        hint = f"Fix the problem, then run: cd {dest} && uv lock"
        if commit:
            hint += " && git add uv.lock && git commit -m 'Add uv.lock'"
        if "pyenv" in lock_error:
            # uv found a pyenv shim for a version pyenv does not currently expose.
            hint += (
                ". With pyenv, expose every installed version first, e.g. "
                "export PYENV_VERSION=3.11.7:3.12.1:3.13.0 (see `pyenv versions`)."
            )
        raise PostGenerationError(
            f"The project was generated{committed} in {dest}, but `uv lock` failed:\n{lock_error}",
            hint=hint,
        )
    return GenerationResult(dest, answers, source, commit, lock, notes)


def _check_destination(dest: Path, *, force: bool) -> tuple[bool, set[str]]:
    """Refuse unusable destinations; return (existed, names already inside)."""
    if not dest.exists():
        return False, set()
    if not dest.is_dir():
        raise DestinationError(f"{dest} exists and is not a directory.")
    before = {entry.name for entry in dest.iterdir()}
    if before and not force:
        raise DestinationError(
            f"{dest} is not empty.",
            hint="Choose a new or empty directory, or pass --force to generate into it "
            "(files with the same names are overwritten).",
        )
    return True, before


def _restore_destination(dest: Path, *, existed: bool, before: set[str]) -> None:
    """Undo a failed render: remove what it created, keep what was there."""
    if not existed:
        shutil.rmtree(dest, ignore_errors=True)
        return
    if not dest.is_dir():
        return
    # Overwritten files cannot be restored, but Copier validates every answer
    # before writing anything, so in practice only new entries need removing.
    for name in {entry.name for entry in dest.iterdir()} - before:
        path = dest / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _copier_output(*, silenced: bool) -> Iterator[None]:
    """Discard prompt output when there is no terminal to prompt on.

    Without a TTY prompt_toolkit prints a warning and a half-drawn prompt before
    Copier gives up; the user only needs our "pass --defaults" message.
    """
    with warnings.catch_warnings():
        # Rendering our own checkout at HEAD includes uncommitted edits on purpose.
        warnings.simplefilter("ignore", DirtyLocalWarning)
        if not silenced:
            yield
            return
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield


def _run_copier(
    source: TemplateSource,
    dest: Path,
    *,
    data: Mapping[str, Any],
    defaults: bool,
    force: bool,
) -> None:
    """Call Copier and translate its exceptions into svcforge errors."""
    try:
        copier.run_copy(
            source.location,
            dest,
            data=dict(data),
            defaults=defaults,
            unsafe=False,
            vcs_ref=source.vcs_ref,
            overwrite=force,
            quiet=True,
        )
    except InteractiveSessionError:
        raise InteractiveSessionRequiredError(
            "Some questions have no answer and there is no terminal to ask them on.",
            hint="Pass --defaults (and --data key=value to override single answers), "
            "or run svcforge new in a terminal.",
        ) from None
    except (CopierAnswersInterrupt, KeyboardInterrupt):
        raise AbortedError("Interrupted: nothing was generated.") from None
    except ValueError as err:
        message = str(err)
        if message.startswith(_TEMPLATE_VALUE_ERRORS):
            raise TemplateError(f"Cannot use template {source.location}: {message}") from None
        # Copier's wording names the question and the validator's message: keep it.
        raise InvalidAnswerError(message) from None
    except CopierError as err:
        raise TemplateError(f"Copier failed: {err}") from None


def uv_lock(dest: Path) -> str | None:
    """Run ``uv lock`` in ``dest``; return the error text on failure."""
    env = dict(os.environ)
    # Locking must never download an interpreter behind the user's back.
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    # An activated venv from elsewhere only produces a warning from uv.
    env.pop("VIRTUAL_ENV", None)
    try:
        proc = subprocess.run(
            ["uv", "lock"],
            cwd=dest,
            env=env,
            capture_output=True,
            text=True,
            timeout=LOCK_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"uv lock did not finish within {LOCK_TIMEOUT_SECONDS} s."
    except OSError as err:
        return str(err)
    if proc.returncode != 0:
        return (proc.stderr or proc.stdout).strip() or f"exit code {proc.returncode}"
    return None


def _git(dest: Path, *args: str) -> str:
    try:
        return git(dest, *args).strip()
    except ToolError as error:
        raise PostGenerationError(
            f"The project was generated in {dest}, but {error.message}",
            hint=f"Fix the problem, then run: cd {dest} && git init && git add -A "
            f"&& git commit -m 'Initial commit from svcforge {__version__}'",
        ) from None


def _git_commit(dest: Path) -> str:
    """Create the repository and its first commit; return the commit id."""
    _git(dest, "init", "--quiet")
    _git(dest, "add", "--all")
    _git(
        dest,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        f"Initial commit from svcforge {__version__}",
    )
    return _git(dest, "rev-parse", "HEAD")
