"""Child processes with a time bound: one-shot commands, measured commands and servers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Seconds a server gets to exit after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 10.0


class StepError(RuntimeError):
    """A benchmark step failed; the message says which command and shows its output."""


def child_env(base: Mapping[str, str], pycache: Path, **extra: str) -> dict[str, str]:
    """Environment for every child process of the benchmark.

    The coding environment may export PYTHONDONTWRITEBYTECODE, which makes every Python
    start-up compile all imported modules again (about 1 s for copier alone). Users'
    machines cache bytecode, so the children do too, but into a private
    PYTHONPYCACHEPREFIX: nothing is written into the repository or its virtualenv.
    VIRTUAL_ENV is dropped so that ``uv`` in a generated project uses that project's own
    environment instead of the one ``uv run`` activated for this script.
    """
    env = {
        key: value
        for key, value in base.items()
        if key not in {"PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV"}
    }
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(extra)
    return env


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> str:
    """Run a command to completion and return its stdout; raise StepError on failure."""
    try:
        completed = subprocess.run(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise StepError(f"timed out after {timeout:.0f} s: {' '.join(argv)}") from error
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-3000:]
        raise StepError(f"exit {completed.returncode}: {' '.join(argv)}\n{output}")
    return completed.stdout


@dataclass(frozen=True)
class Measured:
    """Outcome of one measured child process."""

    seconds: float
    #: Peak resident set size of the child itself (not its own children), in KiB.
    peak_rss_kib: int
    #: User plus system CPU time of the child, in seconds.
    cpu_seconds: float
    output: str


def run_measured(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Measured:
    """Run a command and measure its wall time and peak memory.

    ``os.wait4`` returns the resource usage of exactly this child, which
    ``RUSAGE_CHILDREN`` cannot (it keeps the maximum over every child so far). The
    command runs in its own process group so that a timeout also ends what it started.
    """
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            _signal_group(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            # Interrupted (Ctrl-C, deadline): do not leave the child behind.
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        # Popen must not try to reap the child again.
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    if timed_out.is_set():
        raise StepError(f"timed out after {timeout:.0f} s: {' '.join(argv)}")
    if process.returncode != 0:
        raise StepError(f"exit {process.returncode}: {' '.join(argv)}\n{text[-3000:]}")
    return Measured(seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, text)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Server:
    """One uvicorn process serving an app on a loopback port."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.cwd = cwd
        self.env = dict(env)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """URL of the server root."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the running server."""
        if self._process is None:
            raise StepError(f"server {self.name} is not running")
        return self._process.pid

    def start(self, *, ready_path: str, timeout: float) -> None:
        """Start the server and wait until ``ready_path`` answers 200."""
        with self.log_path.open("ab") as log:
            # Own session: stop() can end the whole group, and Ctrl-C reaches only us.
            self._process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StepError(f"server {self.name} exited at start-up; see {self.log_path}")
            if _answers_ok(self.base_url + ready_path):
                return
            time.sleep(0.1)
        raise StepError(f"server {self.name} not ready after {timeout:.0f} s; see {self.log_path}")

    def rss_kib(self) -> int:
        """Return the resident set size (VmRSS) of the server process, in KiB."""
        return _status_field(self.pid, "VmRSS")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # Fields 14 and 15 of proc(5) (utime, stime), counted after the ")" of comm.
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it does not exit in time."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback URL
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise StepError(f"no {name} in /proc/{pid}/status")


def busy_cpu_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (from /proc/stat)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
