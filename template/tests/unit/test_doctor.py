"""`make doctor`: the checks that need no database server."""

import platform
from pathlib import Path

import pytest

from scripts.doctor import (
    CREATE_ENV_FILE,
    INSTALL_UV,
    PREFIX,
    Result,
    check_env_file,
    check_python,
    check_uv,
    load_settings,
    report,
    run_checks,
)


def test_uv_is_looked_up_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = check_uv()
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\n")
    uv.chmod(0o755)

    assert missing == Result("uv", ok=False, detail="not found on PATH", fix=INSTALL_UV)
    assert check_uv() == Result("uv", ok=True, detail=str(uv))


@pytest.mark.parametrize(
    "pinned",
    [
        platform.python_version(),
        platform.python_version().rsplit(".", 1)[0],
    ],
)
def test_the_running_python_matches_its_pin(tmp_path: Path, pinned: str) -> None:
    (tmp_path / ".python-version").write_text(f"{pinned}\n")

    assert check_python(tmp_path).ok


def test_another_python_is_reported_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.1\n")

    result = check_python(tmp_path)

    assert not result.ok
    assert result.fix == "uv sync --python 3.1"
    assert "pins 3.1" in result.detail


def test_a_missing_env_file_is_reported_with_the_fix(tmp_path: Path) -> None:
    missing = check_env_file(tmp_path)
    (tmp_path / ".env").write_text("")

    assert missing == Result(".env", ok=False, detail="missing", fix=CREATE_ENV_FILE)
    assert check_env_file(tmp_path).ok


def test_settings_come_from_the_projects_env_file(tmp_path: Path) -> None:
    # The doctor checks what the service would use: the project's .env, which the tests hide.
    (tmp_path / ".env").write_text(f"{PREFIX}DB_NAME=from_the_env_file\n")

    settings = load_settings(tmp_path)

    assert not isinstance(settings, Result)
    assert settings.db_name == "from_the_env_file"


@pytest.mark.anyio
async def test_invalid_settings_stop_before_the_database_checks(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text(platform.python_version())
    (tmp_path / ".env").write_text(f"{PREFIX}DB_PORT=not-a-port\n")

    results = await run_checks(tmp_path)

    assert [result.name for result in results] == ["uv", "python", ".env", "settings"]
    assert not results[-1].ok
    assert results[-1].detail.startswith("db_port: ")
    assert results[-1].fix


def test_the_report_prints_each_fix_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    failing = [
        Result("uv", ok=True, detail="/usr/bin/uv"),
        Result(".env", ok=False, detail="missing", fix=CREATE_ENV_FILE),
    ]

    assert report(failing) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ok", "uv", "/usr/bin/uv"]
    assert lines[1].split() == ["FAIL", ".env", "missing"]
    assert lines[2].split() == ["fix:", "cp", ".env.example", ".env"]
    assert lines[3] == "1 check(s) failed"


def test_the_report_passes_when_every_check_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert report([Result("uv", ok=True, detail="/usr/bin/uv")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "all checks passed"
