"""Signals at random moments, thousands of times: clean-up must never be skipped.

A raising signal handler runs wherever the interpreter next checks for signals: at a
function's call or return, between any two steps of the code. These tests send a real
SIGINT to the process at a random one of those moments of the two operations whose
clean-up protects the user: a scratch directory's life, the journaled copy of a
rendered tree over an existing destination followed by its rollback, and the end of a
`generate` whose lock step failed. The moment is
drawn from the operation's own calls and returns, counted by a profile hook, so the
aim does not depend on how busy the machine is. Whatever the moment, no scratch
directory may survive and the destination must come back byte for byte. Each test uses
its own TMPDIR and a harmless outer SIGINT handler, so a signal that lands after the
guard is gone only does nothing.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

import pytest
from prompt_toolkit.application import Application
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from svcforge.answers import ANSWERS_FILE
from svcforge.destination import Journal, RollbackReport, check_destination, plan_install
from svcforge.errors import AbortedError, ToolError
from svcforge.interrupts import InterruptGuard, RunInterrupted
from svcforge.new import generate
from svcforge.template_source import SourceKind, TemplateSource

ROUNDS = 400
SEED = 20261122


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A TMPDIR of the test's own, so leftovers are ours and nobody else's."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    yield tmp
    tempfile.tempdir = None


@contextmanager
def harmless_sigint() -> Iterator[None]:
    """Make SIGINT do nothing outside the guard (the guard restores this on exit)."""
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Flag:
    """Raised by an operation at the moment from which the profile hook counts.

    A plain attribute, not a ``threading.Event``: the hook must not take locks.
    """

    up = False


def _calls_and_returns(operation: Callable[[], None], *, after: Flag | None = None) -> int:
    """How many calls and returns (Python and C) one undisturbed run of ``operation`` makes.

    With ``after``, only those from the moment the operation raises that flag.
    """
    seen = 0

    def count(_frame: FrameType, _event: str, _arg: object) -> None:
        nonlocal seen
        if after is None or after.up:
            seen += 1

    if after is not None:
        after.up = False
    sys.setprofile(count)
    try:
        operation()
    finally:
        sys.setprofile(None)
    return seen


def _run_with_signal_at(
    operation: Callable[[], None], moment: int, *, after: Flag | None = None
) -> bool:
    """Run ``operation``, sending SIGINT to the process at its ``moment``-th call or return.

    With ``after``, moments count from the moment the operation raises that flag.
    ``raise_signal`` is a real ``raise(3)``: the C handler trips and the Python handler
    runs, as for a signal from outside, at that exact point of the operation. Returns
    whether the signal was sent before the operation ended.
    """
    seen = 0
    sent = False

    def strike(_frame: FrameType, _event: str, _arg: object) -> None:
        nonlocal seen, sent
        if after is not None and not after.up:
            return
        seen += 1
        if seen == moment:
            sys.setprofile(None)
            sent = True
            signal.raise_signal(signal.SIGINT)

    if after is not None:
        after.up = False
    sys.setprofile(strike)
    try:
        operation()
    finally:
        sys.setprofile(None)
    return sent


def shoot_at_random_moments(operation: Callable[[], None], *, rounds: int) -> int:
    """Run ``operation`` ``rounds`` times, each with one SIGINT at a random moment in it.

    The moments are drawn uniformly over the calls and returns of an undisturbed run,
    plus a tenth past its end (a signal after the guard is gone must be harmless too).
    Returns how many rounds the signal actually interrupted.
    """
    generator = random.Random(SEED)  # noqa: S311 - reproducible moments, not secrets
    moments = max(_calls_and_returns(operation) for _ in range(3))
    interrupted = 0
    with harmless_sigint():
        for _ in range(rounds):
            try:
                _run_with_signal_at(operation, generator.randint(1, moments + moments // 10))
            except RunInterrupted:
                interrupted += 1
    return interrupted


def _entries(root: Path) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        found[relative] = path.read_bytes() if path.is_file() else None
    return found


def test_a_scratch_directory_never_survives_a_signal(private_tmp: Path):
    def operation() -> None:
        with InterruptGuard() as guard, guard.scratch_directory("svcforge-scratch-") as scratch:
            for index in range(20):
                (scratch / f"file-{index}").write_text("rendered\n")

    interrupted = shoot_at_random_moments(operation, rounds=ROUNDS)

    assert interrupted > ROUNDS // 4, "the signals missed the operation; the test proves nothing"
    assert list(private_tmp.iterdir()) == []


@pytest.mark.usefixtures("private_tmp")
def test_only_the_first_signal_raises_so_clean_up_runs_to_its_end():
    removed: list[str] = []
    guard = InterruptGuard()

    def interrupted_run() -> None:
        with guard:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)  # the signal raises here
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # a second one, during clean-up
                time.sleep(0.01)
                removed.append("clean-up finished")

    with harmless_sigint(), pytest.raises(RunInterrupted):
        interrupted_run()
    assert removed == ["clean-up finished"]
    assert guard.received == signal.SIGINT


def test_a_directory_the_guard_never_saw_created_is_still_removed(private_tmp: Path):
    """The name is registered before the directory exists: the guard's exit removes it."""
    made: list[Path] = []

    def cut_before_its_clean_up() -> None:
        with InterruptGuard() as guard:
            block = guard.scratch_directory("svcforge-scratch-")  # entered, never left
            made.append(block.__enter__())
            assert made[0].is_dir()
            # As if a signal struck before the block's own clean-up started.
            raise RunInterrupted(signal.SIGINT)

    with harmless_sigint(), pytest.raises(RunInterrupted):
        cut_before_its_clean_up()
    assert not made[0].exists()
    assert list(private_tmp.iterdir()) == []


def test_a_folder_of_the_same_name_is_never_adopted(
    private_tmp: Path, monkeypatch: pytest.MonkeyPatch
):
    names = iter(["taken", "free"])
    monkeypatch.setattr("svcforge.interrupts.secrets.token_hex", lambda _size: next(names))
    theirs = private_tmp / "svcforge-scratch-taken"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("someone else's\n")

    with InterruptGuard() as guard, guard.scratch_directory("svcforge-scratch-") as scratch:
        assert scratch.name == "svcforge-scratch-free"

    assert (theirs / "keep.txt").read_text() == "someone else's\n"
    assert [entry.name for entry in private_tmp.iterdir()] == ["svcforge-scratch-taken"]


def _tree(root: Path, text: str, *, files: int = 15) -> None:
    for index in range(files):
        path = root / f"pkg-{index % 3}" / f"module_{index}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"TEXT = '{text} {index}'\n")


class LaterStepError(Exception):
    """An ordinary error after the copy, as a failed ``uv lock`` would be."""


def test_an_interrupted_install_over_existing_files_always_rolls_back(tmp_path: Path):
    """Signals anywhere in the copy, its failure and its undoing: the files come back."""
    staging = tmp_path / "staging"
    dest = tmp_path / "dest"
    _tree(staging, "new")
    _tree(dest, "team's own")
    (staging / "only-new.txt").write_text("new\n")
    (dest / "only-theirs.txt").write_text("theirs\n")
    before = _entries(dest)
    plan = plan_install(staging, dest, keep=lambda _name: False)
    reports: list[RollbackReport] = []

    def install_then_fail() -> None:
        """Copy, then fail, with the guard settling the journal as `svcforge new` does."""
        journal = Journal(check_destination(dest, force=True))
        try:
            with InterruptGuard() as guard:
                guard.settle_on_exit(success=journal.commit, failure=journal.rollback)
                journal.install(staging, plan)
                raise LaterStepError
        finally:
            if journal.last_rollback is None:  # struck before settle_on_exit: nothing done
                assert not journal.touched, "the guard's exit did not roll back"
                reports.append(RollbackReport(touched=False))
            else:
                reports.append(journal.last_rollback)

    def survives_every_round() -> None:
        with suppress(LaterStepError):
            install_then_fail()
        assert reports[-1].complete, reports[-1].failures
        assert _entries(dest) == before

    interrupted = shoot_at_random_moments(survives_every_round, rounds=ROUNDS)

    assert interrupted > ROUNDS // 4, "the signals missed the copy; the test proves nothing"


def test_generate_rolls_back_whatever_moment_a_signal_follows_a_late_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A first signal just after an ordinary error (here a failed lock) must not skip the undo.

    Every call and return from the failure to the end of ``generate`` is struck once:
    the window between an ``except`` clause's start and its first line is among them.
    """
    rendered = tmp_path / "rendered"
    _tree(rendered, "new", files=4)
    (rendered / ANSWERS_FILE).write_text("_src_path: /nowhere\nproject_name: Demo\n")
    dest = tmp_path / "dest"
    _tree(dest, "team's own", files=4)
    before = _entries(dest)
    armed = Flag()

    def render_instead_of_copier(_source: object, staging: Path, **_answers: object):
        shutil.copytree(rendered, staging)
        return lambda _name: False

    def failing_lock(_dest: Path, _journal: Journal) -> None:
        armed.up = True
        raise ToolError("uv lock failed.")

    monkeypatch.setattr("svcforge.new._run_copier", render_instead_of_copier)
    monkeypatch.setattr("svcforge.new._lock", failing_lock)
    source = TemplateSource(str(tmp_path / "template"), None, SourceKind.CHECKOUT)

    messages: list[str] = []

    def run_generate() -> None:
        try:
            generate(dest, data={}, defaults=True, force=True, git=False, lock=True, source=source)
        except (ToolError, AbortedError) as error:
            messages.append(error.message)

    tail = _calls_and_returns(run_generate, after=armed)
    interrupted = 0
    with harmless_sigint():
        for moment in range(1, tail + 1):
            if _run_with_signal_at(run_generate, moment, after=armed):
                interrupted += 1
            # Checked outside the struck operation, so every moment is the operation's.
            assert _entries(dest) == before, f"not restored (signal at moment {moment})"
            assert "as it was" in messages[-1], messages[-1]

    assert tail > 50, "the failure's unwinding was not observed"
    assert interrupted > 0, "no signal landed after the failure; the test proves nothing"


def test_a_signal_inside_a_prompt_callback_ends_the_prompt_instead_of_hanging_it():
    """prompt_toolkit catches exceptions raised in its callbacks and waits for Enter."""
    with create_pipe_input() as keys:
        prompt = Application(input=keys, output=DummyOutput())

        def busy_callback() -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            sum(range(100_000))  # the handler runs here, inside the event loop's callback

        async def run_prompt() -> object:
            asyncio.get_running_loop().call_later(0.05, busy_callback)
            # Bounded: without the fix the prompt waits for an Enter that never comes.
            return await asyncio.wait_for(prompt.run_async(), timeout=10)

        with InterruptGuard() as guard, pytest.raises(RunInterrupted):
            asyncio.run(run_prompt())
    assert guard.received == signal.SIGTERM
