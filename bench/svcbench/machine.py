"""What the figures were measured on: hardware, load and software versions."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

from svcbench.procs import StepError, run


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo."""
    match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return match.group(1).strip() if match else platform.processor() or "unknown"


def memory_gib() -> float:
    """Total memory in GiB (MemTotal from /proc/meminfo)."""
    match = re.search(r"^MemTotal:\s+(\d+) kB$", Path("/proc/meminfo").read_text(), re.M)
    return int(match.group(1)) / 1024 / 1024 if match else 0.0


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def wrk_version() -> str:
    """Return the first line of ``wrk -v`` (which exits 1 after printing it)."""
    completed = subprocess.run(
        ["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False
    )
    return (completed.stdout or completed.stderr).splitlines()[0].split(" Copyright")[0]


def git_revision(repo: Path) -> str:
    """``git describe`` of the checkout, with ``-dirty`` for uncommitted changes."""
    try:
        return run(
            ["git", "describe", "--tags", "--always", "--dirty"], cwd=repo, timeout=30
        ).strip()
    except StepError:
        return "unknown"


def describe(repo: Path, bin_dir: Path) -> dict[str, str]:
    """Facts printed above the figures; versions of the served stack are added later."""
    tools = {
        name: run([str(bin_dir / name), "--version"], timeout=60).strip()
        for name in ("svcforge", "copier")
    }
    return {
        "CPU": f"{cpu_model()}, {os.cpu_count()} cores (nproc)",
        "memory": f"{memory_gib():.1f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "load average at start": load_average(),
        "svcforge checkout": git_revision(repo),
        "generator": f"{tools['svcforge']}, {tools['copier']}, Python {platform.python_version()}",
        "load tool": wrk_version(),
    }
