"""The built wheel carries the template, so `svcforge new` works without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(out), str(repo_root)],
        check=True,
        timeout=300,
    )
    [built] = out.glob("svcforge-*.whl")
    return built


def test_wheel_contains_template(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert "svcforge/_template/copier.yml" in names
    assert "svcforge/_template/includes/python_names.jinja" in names
    assert any(n.startswith("svcforge/_template/template/") for n in names)


def test_new_from_installed_wheel_uses_bundled_template(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    # A fresh environment with nothing but the wheel and its dependencies (from uv's
    # cache or the registry): no checkout on the import path.
    subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(python), str(wheel)],
        check=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    proc = subprocess.run(
        [str(python), "-m", "svcforge", "new", "svc", "--defaults", "--no-git", "--no-lock"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "not a git repository" in " ".join(proc.stderr.split())
    src_path = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text())["_src_path"]
    assert src_path.startswith(str(venv))
    assert src_path.endswith("svcforge/_template")
