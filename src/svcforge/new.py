"""Generate a new service from the template (the work behind ``svcforge new``).

A run is all or nothing. The template is rendered into a temporary directory and its
output checked (every Python, TOML, JSON and YAML file must parse) before the
destination is touched; files are then copied in through a :class:`Journal` that
backs up what they replace; ``uv lock`` and the git commit come last. Any failure or
termination signal (Ctrl-C, SIGTERM, SIGHUP) undoes everything the run did and says
so in one line.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
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
from svcforge.destination import (
    DestinationState,
    Journal,
    RollbackReport,
    check_destination,
    describe_os_error,
    display_path,
    plan_install,
)
from svcforge.errors import (
    AbortedError,
    BadDataError,
    BrokenOutputError,
    InteractiveSessionRequiredError,
    InvalidAnswerError,
    PostGenerationError,
    SvcforgeError,
    TemplateError,
    ToolError,
    aborted_by,
)
from svcforge.interrupts import InterruptGuard, RunInterrupted, run_process
from svcforge.output_checks import check_rendered
from svcforge.template_source import SourceKind, TemplateSource, record_template_version

#: ``uv lock`` resolves against PyPI; give it time but never hang forever.
LOCK_TIMEOUT_SECONDS = 600
GIT_TIMEOUT_SECONDS = 120

#: Branch of the first commit; the generated CI workflow runs on pushes to it.
DEFAULT_BRANCH = "main"

# Copier reports these ValueErrors for problems with the template, not the answers.
_TEMPLATE_VALUE_ERRORS = ("Local template must be a directory", "Unknown revision")

#: How many file names an interruption message lists before "and N more".
_NAMES_IN_ONE_LINE = 5


@dataclass
class GenerationResult:
    """What ``generate`` produced."""

    dest: Path
    #: Everything in ``.copier-answers.yml``, including ``_src_path``/``_commit``.
    answers: dict[str, Any]
    source: TemplateSource
    #: Commit created for the generated files, ``None`` when nothing was committed.
    commit: str | None
    locked: bool
    #: Problems worth telling the user about (the source's own warning excluded).
    warnings: list[str] = field(default_factory=list)
    #: Files this run wrote, relative to ``dest`` (``uv.lock`` included when locked).
    files: list[str] = field(default_factory=list)
    #: Existing files it replaced (``--force``).
    overwritten: list[str] = field(default_factory=list)
    #: Existing files the template keeps (``_skip_if_exists``), left untouched.
    kept: list[str] = field(default_factory=list)
    #: The repository the commit went into (``dest`` itself, or an enclosing one).
    repository: Path | None = None

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
    commit_in_enclosing_repo: bool = False,
    on_overwrite: Callable[[list[str]], None] | None = None,
) -> GenerationResult:
    """Render the template into ``dest``, then optionally ``uv lock`` and commit.

    Questions without an answer in ``data`` are asked on the terminal unless
    ``defaults`` is set. ``on_overwrite`` receives the existing files that are about
    to be replaced, before any is written. Inside an existing git repository no
    nested one is created: the generated files are committed there only with
    ``commit_in_enclosing_repo``. Only generated files are ever committed.

    On any failure or termination signal the destination is restored exactly (removed
    if it did not exist) and a ``SvcforgeError`` says what happened.
    """
    dest = dest.expanduser().absolute()
    _check_data(data)
    # Check tools first so a missing one never leaves a half-finished project.
    if git and shutil.which("git") is None:
        raise ToolError("git is not installed.", hint="Install git or pass --no-git.")
    if lock and shutil.which("uv") is None:
        raise ToolError("uv is not installed.", hint="Install uv or pass --no-lock.")
    state = check_destination(dest, force=force)
    enclosing = enclosing_repository(dest) if git else None

    interactive = not defaults and sys.stdin.isatty()
    journal = Journal(state)
    guard = InterruptGuard()
    try:
        with guard:
            # Kept or undone by the guard's exit, which no signal can cut short (an
            # ``except`` clause here could be cut before its first line).
            guard.settle_on_exit(success=journal.commit, failure=journal.rollback)
            with guard.scratch_directory("svcforge-new-") as workspace:
                # Same folder name as the destination: Copier exposes it to the template.
                staging = workspace / (dest.name or "service")
                with _copier_output(silenced=not defaults and not interactive):
                    keep = _run_copier(source, staging, data=data, defaults=defaults)
                guard.reinstall()  # in case a prompt library left its own handler behind
                result = _finish(
                    staging,
                    state,
                    journal,
                    guard,
                    data=data,
                    source=source,
                    lock=lock,
                    git=git,
                    enclosing=enclosing,
                    commit_in_enclosing_repo=commit_in_enclosing_repo,
                    keep=keep,
                    on_overwrite=on_overwrite,
                )
    except BaseException as error:
        report = journal.last_rollback or RollbackReport(touched=False)
        explained = _explain(error, guard.received, state, report)
        if explained is error:
            raise
        raise explained from None
    return result


def _check_data(data: Mapping[str, Any]) -> None:
    """Refuse answers that cannot be written as UTF-8 (undecodable command-line bytes)."""
    for key, value in data.items():
        try:
            str(value).encode("utf-8")
        except UnicodeEncodeError:
            raise BadDataError(
                f"The answer for {key} is not valid UTF-8: {display_path(str(value))}."
            ) from None


def _finish(
    staging: Path,
    state: DestinationState,
    journal: Journal,
    guard: InterruptGuard,
    *,
    data: Mapping[str, Any],
    source: TemplateSource,
    lock: bool,
    git: bool,
    enclosing: Path | None,
    commit_in_enclosing_repo: bool,
    keep: Callable[[str], bool],
    on_overwrite: Callable[[list[str]], None] | None,
) -> GenerationResult:
    """Check the rendered tree, install it, lock and commit (everything via ``journal``)."""
    dest = state.path
    if not (staging / ANSWERS_FILE).is_file():
        raise TemplateError(f"The template did not write {ANSWERS_FILE}.")
    record_template_version(staging, source)  # a release version even without its tags
    answers = read_answers(staging)
    problems = check_rendered(staging)
    if problems:
        raise BrokenOutputError(
            "The rendered project is broken, so nothing was written to "
            f"{display_path(dest)}:\n" + "\n".join(f"  {problem}" for problem in problems),
            hint="An answer probably contains characters the template cannot carry "
            "(control characters, quotes): change it. If the answers are plain, this is a "
            "template bug: please report it with the command you ran.",
        )
    notes: list[str] = []
    unknown = sorted(set(data) - set(answers))
    if unknown:
        notes.append(f"Ignored data for unknown question(s): {', '.join(unknown)}.")

    plan = plan_install(staging, dest, keep=keep)
    if plan.overwritten and on_overwrite is not None:
        on_overwrite(plan.overwritten)
    journal.install(staging, plan)
    files = plan.written
    if lock:
        _lock(dest, journal)
        if "uv.lock" not in files:
            files = sorted([*files, "uv.lock"])

    result = GenerationResult(
        dest,
        answers,
        source,
        None,
        lock,
        notes,
        files=files,
        overwritten=plan.overwritten,
        kept=plan.kept,
    )
    if not git:
        return result
    committer = _Committer(guard)
    if enclosing is None:
        result.commit = committer.new_repository(dest, files, journal)
        result.repository = dest
    elif commit_in_enclosing_repo:
        result.commit = committer.enclosing_repository(enclosing, dest, files, journal)
        result.repository = enclosing
    else:
        notes.append(_not_committed_note(enclosing, state))
    if result.repository is not None and state.entries - {".git"}:
        notes.append(
            "Only the generated files were committed; the other files already in "
            f"{display_path(dest)} were left as they were (uncommitted)."
        )
    return result


def _not_committed_note(enclosing: Path, state: DestinationState) -> str:
    dest = state.path
    try:
        relative = dest.resolve().relative_to(enclosing.resolve()).as_posix()
    except ValueError:
        relative = str(dest)
    add = (
        f"git -C {shlex.quote(str(enclosing))} add -- {shlex.quote(relative)}"
        if not state.entries - {".git"}
        else 'git add the generated files (listed under "files" by --json)'
    )
    where = (
        "is already a git repository"
        if relative == "."
        else f"is inside the git repository {display_path(enclosing)}"
    )
    return (
        f"{display_path(dest)} {where}: "
        "no nested repository was created and nothing was committed. To commit the "
        f"project there: {add}, then git commit; or generate again with "
        "--commit-in-enclosing-repo."
    )


def enclosing_repository(dest: Path) -> Path | None:
    """Return the top of the git work tree that ``dest`` (or where it will be) is in."""
    probe = dest
    while not probe.is_dir():
        if probe.parent == probe:
            return None
        probe = probe.parent
    try:
        proc = run_process(
            ["git", "rev-parse", "--show-toplevel"], cwd=probe, timeout=GIT_TIMEOUT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = proc.stdout.strip()
    return Path(top) if proc.returncode == 0 and top else None


def _explain(
    error: BaseException, signum: int | None, state: DestinationState, report: RollbackReport
) -> BaseException:
    """Return the error to show after rolling back (``error`` itself for bugs)."""
    if isinstance(error, RunInterrupted):
        signum = error.signum
    elif signum is None and isinstance(error, KeyboardInterrupt):
        signum = signal.SIGINT
    if signum is not None:
        name = signal.Signals(signum).name
        return aborted_by(signum, f"Interrupted by {name}: {_undo_summary(state, report)}.")
    if isinstance(error, AbortedError):
        return error
    if isinstance(error, OSError):
        error = describe_os_error(error)
    if not isinstance(error, SvcforgeError):
        return error
    if report.touched or report.failures:
        error.message += f"\nNothing was kept: {_undo_summary(state, report)}."
    return error


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMES_IN_ONE_LINE])
    more = len(names) - _NAMES_IN_ONE_LINE
    return f"{shown} and {more} more" if more > 0 else shown


def _undo_summary(state: DestinationState, report: RollbackReport) -> str:
    """One clause saying what the roll-back did to the destination."""
    dest = display_path(state.path)
    if report.failures:
        summary = f"could not undo everything in {dest}: {_names(report.failures)}" + (
            f"; restored {_names(report.restored)}" if report.restored else ""
        )
        if report.backup_dir is not None:
            summary += (
                f"; the backups of overwritten files are in {display_path(report.backup_dir)}"
            )
        return summary
    if not report.touched:
        return f"nothing was generated ({dest} was not touched)"
    if not state.existed:
        return f"removed {dest} again, nothing was generated"
    if not state.entries:
        return f"removed what it had written, {dest} is empty again"
    if report.restored:
        return (
            f"restored the {len(report.restored)} file(s) it had overwritten "
            f"({_names(report.restored)}) and removed the ones it had added; "
            f"{dest} is as it was"
        )
    return f"removed the files it had added; {dest} is as it was"


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


#: Render-only data (not a question, never recorded): the release a git-less template is.
RELEASE_DATA_KEY = "svcforge_release"


def _release_data(source: TemplateSource) -> dict[str, str]:
    """Name the release of the template bundled in the wheel, for the README's version line.

    Copier knows a version only from git (``_commit``); the bundled copy has none. Without
    this the README says "unversioned", and the first update conflicts on that line: the
    old render it is merged against (of ``v<version>``, recorded as svcforge asks) says
    the version.
    """
    if source.kind is SourceKind.BUNDLED:
        return {RELEASE_DATA_KEY: f"v{__version__}"}
    return {}


def _run_copier(
    source: TemplateSource,
    staging: Path,
    *,
    data: Mapping[str, Any],
    defaults: bool,
) -> Callable[[str], bool]:
    """Render into ``staging``; return the template's keep-if-exists matcher.

    Translates Copier's exceptions into svcforge errors.
    """
    try:
        worker = copier.run_copy(
            source.location,
            staging,
            data={**data, **_release_data(source)},
            defaults=defaults,
            unsafe=False,
            vcs_ref=source.vcs_ref,
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
    match_skip = worker.match_skip
    return lambda name: bool(match_skip(Path(name)))


def uv_lock(dest: Path) -> str | None:
    """Run ``uv lock`` in ``dest``; return the error text on failure."""
    env = dict(os.environ)
    # Locking must never download an interpreter behind the user's back.
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    # An activated venv from elsewhere only produces a warning from uv.
    env.pop("VIRTUAL_ENV", None)
    try:
        proc = run_process(["uv", "lock"], cwd=dest, env=env, timeout=LOCK_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return f"uv lock did not finish within {LOCK_TIMEOUT_SECONDS} s."
    except OSError as err:
        return str(err)
    if proc.returncode != 0:
        return (proc.stderr or proc.stdout).strip() or f"exit code {proc.returncode}"
    return None


def _lock(dest: Path, journal: Journal) -> None:
    """``uv lock`` the installed project; an existing ``uv.lock`` is backed up first."""
    journal.replace_file(dest / "uv.lock", lambda _target: None)
    lock_error = uv_lock(dest)
    if lock_error is None:
        return
    hint = "Fix the problem and run the command again, or pass --no-lock (and run `uv lock` later)."
    if "pyenv" in lock_error:
        # uv found a pyenv shim for a version pyenv does not currently expose.
        hint += (
            " With pyenv, expose every installed version first, e.g. "
            "export PYENV_VERSION=3.11.7:3.12.1:3.13.0 (see `pyenv versions`)."
        )
    raise PostGenerationError(f"`uv lock` failed:\n{lock_error}", hint=hint)


class _Committer:
    """The git steps of a run, each one held back from signals so git is never cut short."""

    def __init__(self, guard: InterruptGuard) -> None:
        self._guard = guard

    def _git(
        self, cwd: Path, *args: str, paths: list[str] | None = None, check: bool = True
    ) -> str:
        # --literal-pathspecs: a file named "*.py" or ":(exclude)x" is just a name.
        argv = ["git", "--literal-pathspecs", *args]
        stdin_text = None
        if paths is not None:
            argv += ["--pathspec-from-file=-", "--pathspec-file-nul"]
            stdin_text = "".join(f"{path}\0" for path in paths)
        with self._guard.held():
            try:
                proc = run_process(
                    argv, cwd=cwd, timeout=GIT_TIMEOUT_SECONDS, stdin_text=stdin_text
                )
            except FileNotFoundError:
                raise ToolError(
                    "git is not installed.", hint="Install git or pass --no-git."
                ) from None
            except (OSError, subprocess.TimeoutExpired) as error:
                raise PostGenerationError(f"`git {args[0]}` failed in {cwd}: {error}") from None
        if check and proc.returncode != 0:
            output = (proc.stderr or proc.stdout).strip()
            raise PostGenerationError(
                f"`git {' '.join(args)}` failed in {display_path(cwd)}:\n{output}",
                hint="Fix the problem and run the command again, or pass --no-git.",
            )
        return proc.stdout

    def _committable(self, root: Path, paths: list[str]) -> list[str]:
        """``paths`` minus the ones git ignores (``git add`` refuses those)."""
        stdin_text = "".join(f"{path}\0" for path in paths)
        with self._guard.held():
            proc = run_process(
                ["git", "--literal-pathspecs", "check-ignore", "-z", "--stdin"],
                cwd=root,
                timeout=GIT_TIMEOUT_SECONDS,
                stdin_text=stdin_text,
            )
        ignored = set(filter(None, proc.stdout.split("\0"))) if proc.returncode == 0 else set()
        return [path for path in paths if path not in ignored]

    def new_repository(self, dest: Path, files: list[str], journal: Journal) -> str:
        """``git init`` in ``dest`` and commit ``files`` (only those) on ``main``."""
        if not os.path.lexists(dest / ".git"):
            journal.created(dest / ".git")
        self._git(dest, "init", "--quiet")
        # The generated CI runs on `main`. Pointing the unborn HEAD at it works with every
        # git version (`git init --initial-branch` needs 2.28) and any init.defaultBranch.
        self._git(dest, "symbolic-ref", "HEAD", f"refs/heads/{DEFAULT_BRANCH}")
        self._git(dest, "add", paths=self._committable(dest, files))
        self._git(
            dest,
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            f"Initial commit from svcforge {__version__}",
        )
        return self._git(dest, "rev-parse", "HEAD").strip()

    def enclosing_repository(
        self, top: Path, dest: Path, files: list[str], journal: Journal
    ) -> str:
        """Commit ``files`` into the repository ``top`` that contains ``dest``.

        ``--only`` with the paths: changes the user had staged stay staged and out of
        this commit. On roll-back the commit is undone and the paths unstaged.
        """
        base = dest.resolve().relative_to(top.resolve())
        paths = self._committable(top, [(base / name).as_posix() for name in files])
        old_head = self._git(top, "rev-parse", "-q", "--verify", "HEAD", check=False).strip()

        def undo() -> None:
            head = self._git(top, "rev-parse", "-q", "--verify", "HEAD", check=False).strip()
            if head and head != old_head:
                if old_head:
                    self._git(top, "reset", "--quiet", "--soft", old_head)
                else:
                    self._git(top, "update-ref", "-d", "HEAD")
            if old_head:
                self._git(top, "reset", "--quiet", old_head, paths=paths)
            else:
                self._git(top, "rm", "--cached", "--quiet", "-r", "--ignore-unmatch", paths=paths)

        journal.on_rollback(f"undo the commit in {display_path(top)}", undo)
        self._git(top, "add", paths=paths)
        self._git(
            top,
            "commit",
            "--quiet",
            "--no-verify",
            "--only",
            "-m",
            f"Add {base.as_posix()} generated by svcforge {__version__}",
            paths=paths,
        )
        return self._git(top, "rev-parse", "HEAD").strip()
