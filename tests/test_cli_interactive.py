"""The interactive questionnaire through a real pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

pytestmark = pytest.mark.interactive

CLEAR_LINE = "\x15"  # Ctrl-U: questionary prefills the default, clear it before typing
DOWN = "\x1b[B"
ENTER = "\r"
TIMEOUT = 30  # seconds per expect: a hung prompt fails the test instead of the run


def spawn_new(workdir: Path) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "svcforge", "new", "svc", "--no-git", "--no-lock"],
        cwd=str(workdir),
        # No cursor-position requests: pexpect never answers them, prompt_toolkit would wait.
        env={**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 200),
    )
    child.logfile_read = (workdir / "terminal.log").open("w")  # for post-mortems
    return child


def answer(child: pexpect.spawn, prompt: str, keys: str = ENTER) -> None:
    child.expect_exact(prompt)
    child.send(keys)


def finish(child: pexpect.spawn, workdir: Path) -> dict:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, (workdir / "terminal.log").read_text()
    return yaml.safe_load((workdir / "svc" / ".copier-answers.yml").read_text())


def test_type_name_accept_derived_defaults_pick_python(tmp_path: Path):
    child = spawn_new(tmp_path)
    answer(child, "Human-readable name", CLEAR_LINE + "Billing API" + ENTER)
    answer(child, "Repository / distribution name")
    answer(child, "Python package name")
    answer(child, "One-line description")
    answer(child, "Author or owning team")
    answer(child, "Contact e-mail")
    answer(child, "Python version of the service", DOWN + ENTER)  # 3.13 -> 3.12
    answer(child, "How clients authenticate", DOWN + ENTER)  # jwt -> api_key
    answer(child, "Rate limits per client", "n")
    answer(child, "Prometheus metrics", "n")
    answer(child, "OpenTelemetry tracing", "y")
    answer(child, "Work off the request path")  # none
    answer(child, "Redis cache-aside", "y")
    answer(child, "Kubernetes manifests")  # no
    answer(child, "The CI pipeline to generate", DOWN + ENTER)  # github -> gitlab
    child.expect_exact("svcforge new svc --defaults")
    got = finish(child, tmp_path)
    assert got["project_slug"] == "billing-api"
    assert got["package_name"] == "billing_api"
    assert got["python_version"] == "3.12"
    assert got["auth"] == "api_key"
    assert got["rate_limiting"] is False
    assert got["metrics"] is False
    assert got["tracing"] is True
    assert got["background_jobs"] == "none"
    assert got["cache"] is True
    assert got["kubernetes"] is False
    assert got["ci"] == "gitlab"
    assert (tmp_path / "svc" / "pyproject.toml").is_file()
    assert (tmp_path / "svc" / ".gitlab-ci.yml").is_file()


def test_invalid_answer_is_explained_and_can_be_corrected(tmp_path: Path):
    child = spawn_new(tmp_path)
    answer(child, "Human-readable name", CLEAR_LINE + "Billing API" + ENTER)
    answer(child, "Repository / distribution name", CLEAR_LINE + "9abc" + ENTER)
    child.expect_exact("must start with a lowercase ASCII letter")
    child.send(CLEAR_LINE + "payments-core" + ENTER)
    answer(child, "Python package name", CLEAR_LINE + "json" + ENTER)
    child.expect_exact("standard-library module")
    # One error per prompt: prompt_toolkit redraws a second message as a diff of
    # the first, so its text never appears contiguously in the terminal output.
    child.send(CLEAR_LINE + "payments" + ENTER)
    for prompt in ("One-line description", "Author or owning team", "Contact e-mail"):
        answer(child, prompt)
    answer(child, "Python version of the service")
    answer(child, "How clients authenticate")
    answer(child, "Rate limits per client")
    for prompt in (
        "Prometheus metrics",
        "OpenTelemetry tracing",
        "Work off the request path",
        "Redis cache-aside",
        "Kubernetes manifests",
        "The CI pipeline to generate",
    ):
        answer(child, prompt)
    got = finish(child, tmp_path)
    assert got["auth"] == "jwt"
    assert got["rate_limiting"] is True
    assert got["project_slug"] == "payments-core"
    assert got["package_name"] == "payments"
    assert got["python_version"] == "3.13"


def test_ctrl_c_aborts_and_writes_nothing(tmp_path: Path):
    child = spawn_new(tmp_path)
    answer(child, "Human-readable name")
    answer(child, "Repository / distribution name", "\x03")
    child.expect_exact("nothing was generated")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert not (tmp_path / "svc").exists()


@pytest.mark.parametrize("typing", [False, True], ids=["idle", "while-typing"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_during_questions_writes_nothing(
    tmp_path: Path, sig: signal.Signals, *, typing: bool
):
    child = spawn_new(tmp_path)
    answer(child, "Human-readable name")
    child.expect_exact("Repository / distribution name")
    if typing:
        # Keys keep the prompt library's event loop busy: the signal lands inside one of
        # its callbacks, where a raised exception would be caught and reported instead.
        child.send("x" * 400)
    child.kill(sig)
    child.expect_exact(f"Interrupted by {sig.name}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 128 + sig.value, (tmp_path / "terminal.log").read_text()
    assert "Traceback" not in (tmp_path / "terminal.log").read_text()
    assert not (tmp_path / "svc").exists()
