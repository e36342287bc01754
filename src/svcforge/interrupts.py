"""Termination signals as exceptions, and child processes that die with the run.

``svcforge new`` must clean up after Ctrl-C, ``kill`` (SIGTERM) or a closed terminal
(SIGHUP). Python turns only SIGINT into an exception, and only sometimes (a prompt
library may own the terminal); :class:`InterruptGuard` turns all three into
:class:`RunInterrupted` so one ``except`` clause can undo the run. Steps that must not
be cut in half (a ``git commit`` in the user's repository) run with the signal held
back until they finish.

A raising signal handler can strike between any two bytecodes, including the first
line of an ``except`` or ``finally`` block, so three rules make clean-up certain: only
the first signal raises (everything after it is clean-up, which later signals must not
cut short); no signal raises while the guard's own exit runs (the handler sees that
frame on the stack, so even the exit's first instruction is safe); and what must be
undone (scratch directories, a journal's rollback) is registered with the guard
*before* it is needed, so that the guard's exit does whatever an ``except`` or
``finally`` block could not.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeAlias

#: What `signal.signal` takes and returns: a function, SIG_DFL/SIG_IGN, or None.
SignalHandler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

#: The signals a user sends to stop a command: Ctrl-C, ``kill``, a closed terminal.
HANDLED_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

#: How long a child gets to exit after SIGTERM before it is killed.
_CHILD_GRACE_SECONDS = 5


class RunInterrupted(BaseException):
    """A termination signal arrived while a guarded run was in progress.

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception`` in
    Copier or anywhere else never swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        """``SIGINT``, ``SIGTERM``...: what the user sent."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell convention for death by signal: 128 + the signal number."""
        return 128 + self.signum


class InterruptGuard:
    """While active, the handled signals raise :class:`RunInterrupted` in the main thread.

    Outside the main thread (where Python cannot install handlers) the guard does
    nothing; ``KeyboardInterrupt`` still arrives the usual way there.
    """

    def __init__(self) -> None:
        #: The first signal received, if any.
        self.received: int | None = None
        self._holding = 0
        self._raised = False
        self._previous: dict[int, SignalHandler] = {}
        self._scratch: list[Path] = []
        self._on_success: Callable[[], object] | None = None
        self._on_failure: Callable[[], object] | None = None

    def __enter__(self) -> InterruptGuard:
        """Install the handlers (main thread only)."""
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Settle the run, remove leftover scratch directories, put the previous handlers back.

        The handler never raises while this frame is on the stack (see ``_in_exit``), so
        from its first instruction on it runs to its end whatever arrives.
        """
        self._holding += 1
        try:
            settle = self._on_success if exc_type is None else self._on_failure
            self._on_success = self._on_failure = None
            if settle is not None:
                settle()
        finally:
            self._remove_scratch_and_restore_handlers()

    def _remove_scratch_and_restore_handlers(self) -> None:
        try:
            for path in reversed(self._scratch):
                shutil.rmtree(path, ignore_errors=True)
            self._scratch.clear()
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            self._previous.clear()
            self._holding -= 1

    def settle_on_exit(
        self, *, success: Callable[[], object], failure: Callable[[], object]
    ) -> None:
        """Have the guard's exit run ``success`` if the block completes, else ``failure``.

        The one safe place to keep or undo a run's changes: an ``except`` clause can be
        cut before its first line by a signal that arrives just after an ordinary error,
        the guard's exit cannot. Whatever leaves the block (an error, the first signal,
        a signal that struck between the last line and the exit) runs ``failure``.
        """
        self._on_success = success
        self._on_failure = failure

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        if self._holding or self._raised or _in_exit(frame):
            return
        self._raised = True
        if _end_running_prompt(RunInterrupted(signum)):
            return
        raise RunInterrupted(signum)

    def reinstall(self) -> None:
        """Take the handlers back from a library that replaced them without restoring."""
        if self._previous:
            for signum in HANDLED_SIGNALS:
                signal.signal(signum, self._handle)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold signals back until the block is done, then raise if one arrived."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        self.raise_if_received()

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """Ignore signals during the block (clean-up must run to its end)."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1

    def raise_if_received(self) -> None:
        """Raise :class:`RunInterrupted` now if a signal arrived while held back."""
        if self.received is not None and not self._holding and not self._raised:
            self._raised = True
            raise RunInterrupted(self.received)

    @contextlib.contextmanager
    def scratch_directory(self, prefix: str) -> Iterator[Path]:
        """Create a private temporary directory, removed when the block ends, whatever happens.

        Its name is chosen and registered before it is created, so there is no moment at
        which it exists unknown to the guard: a signal anywhere, even before the
        ``finally`` below starts its work, leaves it to :meth:`__exit__`.
        """
        path = self._create_scratch(prefix)
        try:
            yield path
        finally:
            with self.shielded():
                shutil.rmtree(path, ignore_errors=True)
                if path in self._scratch:  # not yet removed by __exit__
                    self._scratch.remove(path)

    def _create_scratch(self, prefix: str) -> Path:
        parent = Path(tempfile.gettempdir())
        while True:
            path = parent / f"{prefix}{secrets.token_hex(8)}"
            self._scratch.append(path)
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:
                # Someone else's (a 1 in 2**64 clash): never ours to remove.
                self._scratch.remove(path)
                continue
            # Any other failure (or a signal) leaves the path registered: removing a
            # directory that was never made is harmless, forgetting one that was is not.
            return path


def _in_exit(frame: FrameType | None) -> bool:
    """Whether ``frame`` (where a signal struck) is inside an :class:`InterruptGuard`'s exit.

    Checked by walking the stack rather than by a flag the exit sets, because the exit's
    first instruction (before any flag could be set) is itself a moment a signal can hit.
    """
    while frame is not None:
        if frame.f_code in _EXIT_CODE:
            return True
        frame = frame.f_back
    return False


_EXIT_CODE = frozenset({InterruptGuard.__exit__.__code__})


def _end_running_prompt(interrupt: RunInterrupted) -> bool:
    """End the interactive prompt on screen, if any, with ``interrupt``; say if there was one.

    A prompt runs prompt_toolkit's event loop: an exception raised by a signal handler
    while one of its callbacks runs is caught there, reported, and the prompt then waits
    for Enter, so a ``kill`` would hang the command. Ending the prompt with the exception
    makes the prompt call itself raise it.
    """
    try:
        from prompt_toolkit.application.current import get_app_or_none  # noqa: PLC0415 - only on a signal
    except ImportError:  # Copier's prompts come with it; without it there is no prompt
        return False
    app = get_app_or_none()
    if app is None or not app.is_running or app.future is None or app.future.done():
        return False
    app.exit(exception=interrupt)
    return True


def run_process(
    argv: Sequence[str],
    *,
    cwd: os.PathLike[str] | str,
    env: Mapping[str, str] | None = None,
    timeout: float,
    stdin_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a child in its own process group and capture its output.

    Its own session keeps a terminal's Ctrl-C away from it: svcforge decides what
    happens to the child. If this call is interrupted (or times out) the whole
    group gets SIGTERM, then SIGKILL, so no ``uv`` or ``git`` outlives the run.
    Raises ``FileNotFoundError`` when the program is missing and
    ``subprocess.TimeoutExpired`` after ``timeout`` seconds.
    """
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(stdin_text, timeout=timeout)
    except BaseException:
        _stop_group(proc)
        raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, stdout, stderr)


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the child's process group, SIGKILL it if it lingers, reap the child."""
    for sig, wait in ((signal.SIGTERM, _CHILD_GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        return
