"""Signals at random moments, thousands of times: clean-up must never be skipped.

A raising signal handler runs wherever the interpreter next checks for signals: at a
function's call or return, between any two steps of the code. These tests send a real
SIGINT to the process at a random one of those moments of the two operations whose
clean-up protects the user: a scratch directory's life, and the journaled copy of a
rendered tree over an existing destination followed by its rollback. The moment is
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
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest
from prompt_toolkit.application import Application
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from svcforge.destination import Journal, check_destination, plan_install
from svcforge.interrupts import InterruptGuard, RunInterrupted

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


def _calls_and_returns(operation: Callable[[], None]) -> int:
    """How many calls and returns (Python and C) one undisturbed run of ``operation`` makes."""
    seen = 0

    def count(_frame: FrameType, _event: str, _arg: object) -> None:
        nonlocal seen
        seen += 1

    sys.setprofile(count)
    try:
        operation()
    finally:
        sys.setprofile(None)
    return seen


def _run_with_signal_at(operation: Callable[[], None], moment: int) -> None:
    """Run ``operation``, sending SIGINT to the process at its ``moment``-th call or return.

    ``raise_signal`` is a real ``raise(3)``: the C handler trips and the Python handler
    runs, as for a signal from outside, at that exact point of the operation.
    """
    seen = 0

    def strike(_frame: FrameType, _event: str, _arg: object) -> None:
        nonlocal seen
        seen += 1
        if seen == moment:
            sys.setprofile(None)
            signal.raise_signal(signal.SIGINT)

    sys.setprofile(strike)
    try:
        operation()
    finally:
        sys.setprofile(None)


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


def shoot_from_a_timer(operation: Callable[[], None], *, rounds: int) -> int:
    """Like shoot_at_random_moments, but the SIGINT comes from a timer thread.

    The delay is drawn over a window that adapts to the machine: a round the signal
    missed narrows it, a round it cut short widens it. Used where the test's own glue
    around the operation must stay out of reach (see the copy test).
    """
    generator = random.Random(SEED)  # noqa: S311 - reproducible moments, not secrets
    main = threading.main_thread().ident
    assert main is not None
    started = time.perf_counter()
    operation()
    window = (time.perf_counter() - started) * 1.2
    interrupted = 0
    with harmless_sigint():
        for _ in range(rounds):
            delay = generator.uniform(0, window)
            shooter = threading.Timer(delay, signal.pthread_kill, (main, signal.SIGINT))
            shooter.start()
            try:
                operation()
            except RunInterrupted:
                interrupted += 1
                window *= 1.05
            else:
                window *= 0.9
            shooter.join()
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


def test_an_interrupted_install_over_existing_files_always_rolls_back(tmp_path: Path):
    """Signals anywhere in the copy: the rollback restores every overwritten file."""
    staging = tmp_path / "staging"
    dest = tmp_path / "dest"
    for root, text in ((staging, "new"), (dest, "team's own")):
        for index in range(15):
            path = root / f"pkg-{index % 3}" / f"module_{index}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{text} {index}\n")
    (staging / "only-new.txt").write_text("new\n")
    (dest / "only-theirs.txt").write_text("theirs\n")
    before = _entries(dest)
    plan = plan_install(staging, dest, keep=lambda _name: False)

    def install_then_roll_back() -> None:
        """Copy, then undo as `svcforge new` does when a later step fails or a signal comes."""
        journal = Journal(check_destination(dest, force=True))
        with InterruptGuard() as guard:
            try:
                journal.install(staging, plan)
            finally:
                with guard.shielded():
                    report = journal.rollback()
                assert report.complete, report.failures

    def survives_every_round() -> None:
        install_then_roll_back()
        assert _entries(dest) == before

    # A timer, not the profile hook: the hook would also strike this test's own glue
    # between install() and entering shielded(), a window the test does not model.
    interrupted = shoot_from_a_timer(survives_every_round, rounds=ROUNDS * 2)

    assert interrupted > ROUNDS // 10, "the signals missed the copy; the test proves nothing"


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
