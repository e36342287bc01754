"""Ctrl-C, SIGTERM and SIGHUP sent for real to a running `svcforge new`.

A fake `git` / `uv` on PATH stops at a chosen call (mid-render, `uv lock`, `git init`,
`git commit`) until the test has sent its signal; then the destination must be byte
for byte what it was before the run (removed if it did not exist), the temporary
directory empty, and stderr must say so in one line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import snapshot

PAUSE_TIMEOUT = 90  # seconds to reach the pause point (rendering takes ~3 s)

FAKE_TOOL = """#!/bin/sh
# Stand-in for {name}: on the Nth call whose arguments match $PAUSE_PATTERN (a shell
# pattern), wait until the test creates $PAUSE_DIR/resume; then run the real {name}.
if [ "$PAUSE_TOOL" = "{name}" ]; then
  case " $* " in
    $PAUSE_PATTERN)
      n=$(( $(cat "$PAUSE_DIR/count" 2>/dev/null || echo 0) + 1 ))
      echo "$n" > "$PAUSE_DIR/count"
      if [ "$n" -eq "$PAUSE_AT" ]; then
        : > "$PAUSE_DIR/paused"
        while [ ! -e "$PAUSE_DIR/resume" ]; do sleep 0.05; done
      fi;;
  esac
fi
exec {real} "$@"
"""


@pytest.fixture(scope="module")
def fake_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with pausable `git` and `uv` wrappers around the real ones."""
    directory = tmp_path_factory.mktemp("fake-bin")
    for name in ("git", "uv"):
        real = shutil.which(name)
        assert real, f"{name} must be installed for these tests"
        script = directory / name
        script.write_text(FAKE_TOOL.format(name=name, real=real))
        script.chmod(0o755)
    return directory


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def interruption_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "Interrupted" in line]


@dataclass
class Sandbox:
    root: Path
    tmpdir: Path
    pause_dir: Path
    env: dict[str, str]

    def run_interrupted(
        self, args: list[str], *, tool: str, pattern: str, at: int, sig: signal.Signals
    ) -> Outcome:
        env = {
            **self.env,
            "PAUSE_TOOL": tool,
            "PAUSE_PATTERN": pattern,
            "PAUSE_AT": str(at),
            "PAUSE_DIR": str(self.pause_dir),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "svcforge", "new", *args],
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + PAUSE_TIMEOUT
            while not (self.pause_dir / "paused").exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    out, errors = proc.communicate(timeout=10)
                    pytest.fail(f"never reached the pause point:\n{out}\n{errors}")
                time.sleep(0.05)
            proc.send_signal(sig)
            # Git steps hold the signal until git is done: let the paused call finish.
            time.sleep(0.3)
            (self.pause_dir / "resume").touch()
            out, errors = proc.communicate(timeout=60)
        finally:
            (self.pause_dir / "resume").touch()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        return Outcome(proc.returncode, out, errors)

    def run(self, args: list[str]) -> Outcome:
        proc = subprocess.run(
            [sys.executable, "-m", "svcforge", "new", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def sandbox(tmp_path: Path, fake_bin: Path) -> Sandbox:
    root = tmp_path / "work"
    tmpdir = tmp_path / "tmp"
    pause_dir = tmp_path / "pause"
    for directory in (root, tmpdir, pause_dir):
        directory.mkdir()
    env = {
        **os.environ,
        "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
        # Everything the run puts in the temporary directory must be gone afterwards.
        "TMPDIR": str(tmpdir),
    }
    return Sandbox(root, tmpdir, pause_dir, env)


def existing_project(dest: Path) -> None:
    """A non-empty directory with files the template overwrites and files it does not."""
    (dest / "docs").mkdir(parents=True)
    (dest / "README.md").write_text("# Our own README\n")
    (dest / "uv.lock").write_text("our lock file\n")
    (dest / "NOTES.txt").write_bytes(b"caf\xc3\xa9 \x00 binary\n")
    (dest / "docs" / "notes.md").write_text("mine\n")
    (dest / "run.sh").write_text("#!/bin/sh\n")
    (dest / "run.sh").chmod(0o750)


def assert_one_line(outcome: Outcome, sig: signal.Signals, *phrases: str) -> None:
    assert outcome.returncode == 128 + sig.value, outcome.stderr
    assert "Traceback" not in outcome.stderr
    [line] = outcome.interruption_lines
    assert f"Interrupted by {sig.name}" in line
    for phrase in phrases:
        assert phrase in line, line


# (tool, pattern of its arguments, nth matching call, extra options): where the run
# is stopped. Copier runs `git config ... core.fileMode` once per rendered file, and a
# `git commit` of its own in its clone of a dirty template: svcforge's says "svcforge".
RENDERING = ("git", "* core.fileMode *", 30, ["--no-lock"])  # 30th of ~90 files
LOCKING = ("uv", " lock ", 1, [])
GIT_INIT = ("git", "* init --quiet *", 1, ["--no-lock"])
GIT_COMMIT = ("git", "* commit *svcforge*", 1, ["--no-lock"])


@pytest.mark.parametrize(
    ("phase", "sig"),
    [
        pytest.param(RENDERING, signal.SIGINT, id="rendering-SIGINT"),
        pytest.param(LOCKING, signal.SIGTERM, id="uv-lock-SIGTERM"),
        pytest.param(GIT_COMMIT, signal.SIGHUP, id="git-commit-SIGHUP"),
    ],
)
def test_interrupt_removes_a_new_destination(sandbox: Sandbox, phase: tuple, sig):
    tool, pattern, at, options = phase
    outcome = sandbox.run_interrupted(
        ["svc", "--defaults", *options], tool=tool, pattern=pattern, at=at, sig=sig
    )
    expected = "nothing was generated" if phase is RENDERING else "removed"
    assert_one_line(outcome, sig, expected)
    assert not (sandbox.root / "svc").exists()
    assert list(sandbox.tmpdir.iterdir()) == []
    assert outcome.stdout == ""
    if phase is RENDERING:
        # Nothing is left in the way: the same command now succeeds.
        again = sandbox.run(["svc", "--defaults", "--no-lock", "--no-git"])
        assert again.returncode == 0, again.stderr
        assert (sandbox.root / "svc" / "pyproject.toml").is_file()


def test_interrupt_empties_an_empty_destination_again(sandbox: Sandbox):
    dest = sandbox.root / "svc"
    dest.mkdir(mode=0o750)
    before = snapshot(dest)
    tool, pattern, at, options = GIT_INIT
    outcome = sandbox.run_interrupted(
        ["svc", "--defaults", *options], tool=tool, pattern=pattern, at=at, sig=signal.SIGINT
    )
    assert_one_line(outcome, signal.SIGINT, "empty again")
    assert snapshot(dest) == before


@pytest.mark.parametrize(
    ("phase", "sig"),
    [
        pytest.param(RENDERING, signal.SIGTERM, id="rendering-SIGTERM"),
        pytest.param(LOCKING, signal.SIGINT, id="uv-lock-SIGINT"),
        pytest.param(GIT_COMMIT, signal.SIGTERM, id="git-commit-SIGTERM"),
    ],
)
def test_interrupted_force_run_restores_overwritten_files(sandbox: Sandbox, phase: tuple, sig):
    dest = sandbox.root / "svc"
    existing_project(dest)
    before = snapshot(dest)
    tool, pattern, at, options = phase
    outcome = sandbox.run_interrupted(
        ["svc", "--defaults", "--force", *options], tool=tool, pattern=pattern, at=at, sig=sig
    )
    if phase is RENDERING:
        # Rendering happens in a temporary directory: the destination was not touched.
        assert_one_line(outcome, sig, "nothing was generated")
    else:
        assert_one_line(outcome, sig, "restored", "README.md", "is as it was")
        assert "nothing was generated" not in outcome.stderr
        # The overwritten files were announced before anything was written.
        assert "Overwriting" in outcome.stderr
    assert snapshot(dest) == before
    assert list(sandbox.tmpdir.iterdir()) == []


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def test_interrupted_commit_into_enclosing_repo_leaves_it_as_it_was(sandbox: Sandbox):
    repo = sandbox.root
    git(repo, "init", "--quiet")
    (repo / "README.md").write_text("monorepo\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "--quiet", "-m", "init")
    (repo / "staged.txt").write_text("staged by the team\n")
    git(repo, "add", "staged.txt")

    def state() -> tuple[str, str, str]:
        return (
            git(repo, "rev-parse", "HEAD"),
            git(repo, "status", "--porcelain", "-z", "--untracked-files=all"),
            git(repo, "diff", "--cached"),
        )

    before = state()
    tool, pattern, at, options = GIT_COMMIT
    outcome = sandbox.run_interrupted(
        ["services/billing", "--defaults", "--commit-in-enclosing-repo", *options],
        tool=tool,
        pattern=pattern,
        at=at,
        sig=signal.SIGINT,
    )
    assert_one_line(outcome, signal.SIGINT)
    assert not (repo / "services").exists()
    assert state() == before
