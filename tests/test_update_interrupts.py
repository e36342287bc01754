"""An update is atomic: interrupted or failing anywhere, it completes or changes nothing.

Real `svcforge update` processes are stopped with real signals sent from the test when
a marker shows they reached a given step: its work folder exists, Copier renders a
version, Copier merges in the sandbox, `uv lock` runs there, the project's index is
locked for the apply step (nothing else in an update takes that lock). The project is
then compared byte for byte (files, modes, HEAD, `git status`, the staged diff) with its
state before, and `update --check` must still offer the update.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from svcforge.cli import app
from svcforge.update import UPDATE_AVAILABLE_EXIT_CODE, applying
from tests.releases import TemplateRepo, exact_state, generate_at, make_template_repo, run_git

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

HOSTILE_NAME = "docs/naïve “notes” – ü $(x) 'q'.md"  # noqa: RUF001 (hostile on purpose)
PROCESS_TIMEOUT_SECONDS = 180
MARKER_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    return make_template_repo(tmp_path_factory.mktemp("template") / "svcforge")


@pytest.fixture(scope="module")
def project(repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project at the previous release with team edits, a hostile name and a .env."""
    root = generate_at(repo, repo.previous, tmp_path_factory.mktemp("project") / "svc")
    with (root / "Makefile").open("a") as makefile:
        makefile.write("\n# team: deploy with care\n")
    (root / HOSTILE_NAME).write_text("Our notes.\n")
    run_git(root, "add", "--all")
    run_git(root, "commit", "--quiet", "-m", "Team edits")
    # Ignored, never tracked: must survive byte for byte too.
    (root / ".env").write_text("DATABASE_URL=postgresql://secret\n")
    return root


@pytest.fixture(scope="module")
def updated(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The state of a copy of ``project`` after a complete, uninterrupted update."""
    copy = tmp_path_factory.mktemp("reference") / "svc"
    shutil.copytree(project, copy, symlinks=True)
    result = CliRunner().invoke(app, ["update", str(copy), "--no-lock"])
    assert result.exit_code == 0, result.output
    state = exact_state(copy)
    assert state != exact_state(project)
    return state


def _copy(project: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "svc"
    shutil.copytree(project, copy, symlinks=True)
    return copy


class Run:
    """A real `svcforge update` in its own process group, with its own TMPDIR."""

    def __init__(self, project: Path, tmp: Path, *args: str) -> None:
        self.tmp = tmp
        tmp.mkdir(exist_ok=True)
        env = {**os.environ, "TMPDIR": str(tmp), "NO_COLOR": "1", "COLUMNS": "200"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "svcforge", "update", str(project), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def wait_for(self, what: str, reached: Callable[[], bool]) -> None:
        """Poll until the run reaches a step; fail if it ends or takes too long first."""
        deadline = time.monotonic() + MARKER_TIMEOUT_SECONDS
        while not reached():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                pytest.fail(f"the update ended before {what}:\n{out}\n{err}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"the update never reached {what}")
            time.sleep(0.002)

    def temporary(self, prefix: str) -> bool:
        return any(entry.name.startswith(prefix) for entry in self.tmp.iterdir())

    def child_running(self, *argv: str) -> bool:
        """Whether a direct child of the run has this command line (read from /proc)."""
        wanted = "\0".join(argv).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            if parent == self.proc.pid and wanted in cmdline:
                return True
        return False

    def interrupt(self, signum: int, *, group: bool = False) -> tuple[int, str, str]:
        """Send ``signum`` (to the whole process group, as a terminal's Ctrl-C does)."""
        if group:
            os.killpg(self.proc.pid, signum)
        else:
            self.proc.send_signal(signum)
        out, err = self.proc.communicate(timeout=PROCESS_TIMEOUT_SECONDS)
        return self.proc.returncode, out, err


def _assert_untouched(project: Path, before: dict[str, object], run: Run) -> None:
    assert exact_state(project) == before
    assert not run.temporary("svcforge-update-"), "the sandbox was left behind"
    check = CliRunner().invoke(app, ["update", str(project), "--check"])
    assert check.exit_code == UPDATE_AVAILABLE_EXIT_CODE, check.output


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.xdist_group("update-interrupts")
@pytest.mark.parametrize(
    ("step", "signum", "group"),
    [
        pytest.param("workdir", signal.SIGINT, False, id="SIGINT-right-after-the-checks"),
        pytest.param("renders", signal.SIGTERM, False, id="SIGTERM-while-rendering"),
        pytest.param("merge", signal.SIGINT, True, id="Ctrl-C-to-the-group-while-merging"),
    ],
)
def test_an_interrupt_before_the_apply_step_changes_nothing(
    project: Path, tmp_path: Path, step: str, signum: int, group: bool
):
    before = exact_state(project)
    run = Run(project, tmp_path / "tmp", "--no-lock")
    if step == "workdir":
        run.wait_for("its work folder", lambda: run.temporary("svcforge-update-"))
    elif step == "renders":
        run.wait_for("a render", lambda: run.temporary("copier._vcs.clone."))
    else:
        run.wait_for("Copier's merge", lambda: run.temporary("copier._main.old_copy."))

    code, _out, err = run.interrupt(signum, group=group)

    _assert_untouched(project, before, run)
    assert code == 128 + signum, err
    name = signal.Signals(signum).name
    assert f"Interrupted by {name}: the update was not applied; nothing in" in _flat(err)
    assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.xdist_group("update-interrupts")
def test_an_interrupt_while_uv_lock_runs_in_the_sandbox_changes_nothing(
    project: Path, tmp_path: Path
):
    root = _copy(project, tmp_path)
    subprocess.run(["uv", "lock"], cwd=root, check=True, capture_output=True, timeout=300)
    run_git(root, "add", "uv.lock")
    run_git(root, "commit", "--quiet", "-m", "Lock")
    before = exact_state(root)
    run = Run(root, tmp_path / "tmp")
    run.wait_for("uv lock", lambda: run.child_running("uv", "lock"))

    code, _out, err = run.interrupt(signal.SIGINT, group=True)

    assert code == 130, err
    assert "nothing in" in _flat(err)
    _assert_untouched(root, before, run)


@pytest.mark.xdist_group("update-apply")
def test_a_signal_during_the_apply_step_waits_until_the_update_is_complete(
    project: Path, updated: dict[str, object], tmp_path: Path
):
    root = _copy(project, tmp_path)
    answers = root / ".copier-answers.yml"
    recorded = answers.read_bytes()
    run = Run(root, tmp_path / "tmp", "--no-lock")
    # The first file the update writes into the project (it sorts first).
    run.wait_for("the first write", lambda: answers.read_bytes() != recorded)

    code, out, err = run.interrupt(signal.SIGTERM)

    assert exact_state(root) == updated
    assert code == 0, err
    assert "SIGTERM arrived while the update was being written: it was completed first" in _flat(
        err
    )
    assert "Updated" in out
    assert not (root / ".git" / "index.lock").exists()


@pytest.mark.xdist_group("update-apply")
def test_a_failure_while_writing_restores_every_file_and_the_index(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = _copy(project, tmp_path)
    before = exact_state(root)
    real_write = applying.write_state
    calls = []

    def failing_write(path, state):
        calls.append(path)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        real_write(path, state)

    monkeypatch.setattr(applying, "write_state", failing_write)

    result = CliRunner().invoke(app, ["update", str(root), "--no-lock"])

    assert result.exit_code == 1, result.output
    assert "No space left on device" in _flat(result.output)
    assert "Every file was restored; nothing was changed." in _flat(result.output)
    assert len(calls) > 5, "the failure must come after some files were written"
    assert exact_state(root) == before
    assert not (root / ".git" / "index.lock").exists()


@pytest.mark.xdist_group("update-apply")
def test_ctrl_c_in_the_middle_of_writing_files_is_held_until_they_are_all_written(
    project: Path, updated: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = _copy(project, tmp_path)
    real_write = applying.write_state
    calls = []

    def interrupted_write(path, state):
        calls.append(path)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        real_write(path, state)

    monkeypatch.setattr(applying, "write_state", interrupted_write)

    result = CliRunner().invoke(app, ["update", str(root), "--no-lock"])

    assert result.exit_code == 0, result.output
    assert "SIGINT arrived while the update was being written" in _flat(result.output)
    assert exact_state(root) == updated


@pytest.mark.xdist_group("update-apply")
def test_a_project_changed_while_the_update_was_prepared_is_left_alone(
    project: Path, tmp_path: Path
):
    root = _copy(project, tmp_path)
    run = Run(root, tmp_path / "tmp", "--no-lock")
    run.wait_for("Copier's merge", lambda: run.temporary("copier._main.old_copy."))
    (root / "Makefile").write_text("edited during the update\n")
    before = exact_state(root)

    out, err = run.proc.communicate(timeout=PROCESS_TIMEOUT_SECONDS)

    assert run.proc.returncode == 8, out + err
    assert "changed while the update was being prepared; nothing was applied" in _flat(err)
    assert "Makefile" in err
    assert exact_state(root) == before
