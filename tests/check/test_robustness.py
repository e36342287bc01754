"""`svcforge check` on hostile trees: a result or a clear message, never a traceback or a write.

Each tree is built by the test: symlink loops and links out of the repository, binary,
huge, undecodable and unreadable files, Python and TOML that do not parse, non-ASCII
names, an empty directory and a repository that is not Python at all. For each, every
standard gets a verdict, the problems are listed by path, and the tree is byte for byte
(and mtime for mtime) what it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from svcforge.check import engine
from svcforge.check.engine import judge, static_rules
from svcforge.check.model import Status, Verdict
from svcforge.check.repository import MAX_FILE_BYTES, Repository, parse_dockerfile
from svcforge.standards import load_standards


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes | str | None]]:
    """Every entry below ``root`` with its mode, mtime and content (links: their target)."""
    found: dict[str, tuple[int, int, bytes | str | None]] = {}
    for directory, subdirectories, names in os.walk(root):
        for name in subdirectories + names:
            path = Path(directory, name)
            info = path.lstat()
            if path.is_symlink():
                content: bytes | str | None = str(path.readlink())
            elif path.is_file() and os.access(path, os.R_OK):
                content = path.read_bytes()
            else:
                content = None
            found[path.relative_to(root).as_posix()] = (info.st_mode, info.st_mtime_ns, content)
    return found


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    root = tmp_path / "hostile"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "broken.py").write_text("def oops(:\n    pass\n")
    (root / "src" / "pkg" / "ünïcödé_módule.py").write_text("ВЕЛИЧИНА = 1\n", encoding="utf-8")
    (root / "pyproject.toml").write_text("[project\nname = 'x'\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    (root / "latin1.py").write_bytes("café = 'é'\n".encode("latin-1"))
    (root / "huge.py").write_text("x = 1\n" * (MAX_FILE_BYTES // 6 + 10))
    secret = root / "unreadable.py"
    secret.write_text("TOKEN = 'x'\n")
    secret.chmod(0)
    locked = root / "locked-dir"
    locked.mkdir()
    (locked / "inside.py").write_text("")
    locked.chmod(0)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "self-link").symlink_to("self-link")
    (root / "outside.py").symlink_to("/etc/hostname")
    (root / "dangling.py").symlink_to(root / "missing.py")
    (root / "Dockerfile").write_text("FROM python:3.12-slim\\\n")  # a continuation to nowhere
    yield root
    secret.chmod(0o600)
    locked.chmod(0o700)


def test_a_hostile_tree_gets_a_verdict_per_standard_and_is_left_as_it_was(hostile_tree: Path):
    before = _snapshot(hostile_tree)

    result = judge(hostile_tree)

    assert [v.standard_id for v in result.verdicts] == list(load_standards())
    assert _snapshot(hostile_tree) == before
    problems = result.problems
    assert problems["pyproject.toml"].startswith("invalid TOML")
    # Nothing about what was never read as source: links out, loops, dangling links.
    assert not {"outside.py", "loop", "self-link", "dangling.py"} & set(problems)


def test_unreadable_kinds_of_file_are_recorded_not_raised(hostile_tree: Path):
    repository = Repository(hostile_tree)

    assert repository.text("image.png") is None
    assert repository.problems["image.png"] == "binary"
    assert repository.text("latin1.py") is None
    assert repository.problems["latin1.py"] == "not UTF-8 text"
    assert repository.text("huge.py") is None
    assert "larger than" in repository.problems["huge.py"]
    assert repository.python("src/pkg/broken.py") is None
    assert repository.problems["src/pkg/broken.py"].startswith("invalid Python (line 1)")
    if os.geteuid() != 0:  # root reads anything: these two need a normal user
        assert repository.text("unreadable.py") is None
        assert repository.problems["unreadable.py"].startswith("cannot read")
        assert repository.problems["locked-dir"].startswith("cannot list")
    tree = repository.python("src/pkg/ünïcödé_módule.py")
    assert tree is not None
    assert "outside.py" not in repository.files  # a link out of the repository is not read
    assert "loop/pyproject.toml" not in repository.files  # the loop is never entered
    assert repository.dockerfile is not None
    assert [i.keyword for i in repository.dockerfile.instructions] == ["FROM"]


def test_an_empty_directory_fails_every_standard_with_one_clear_reason(tmp_path: Path):
    result = judge(tmp_path)

    assert {v.status for v in result.verdicts} == {Status.FAIL}
    assert {v.summary for v in result.verdicts} == {"The repository has no files."}
    assert result.reached_level() is None
    assert list(tmp_path.iterdir()) == []


def test_a_repository_that_is_not_python_is_judged_not_crashed(tmp_path: Path):
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text('package main\n\nfunc main() { println("hi") }\n')
    before = _snapshot(tmp_path)

    result = judge(tmp_path)

    assert len(result.verdicts) == len(load_standards())
    assert all(v.summary for v in result.verdicts)
    failed = [v for v in result.verdicts if v.status is Status.FAIL]
    assert failed, "a Go repository cannot meet the Python service standards"
    assert all(v.remediation for v in failed), [v.standard_id for v in failed if not v.remediation]
    assert _snapshot(tmp_path) == before


def test_dockerfile_instructions_keep_their_lines_and_stages():
    content = (
        "# syntax=docker/dockerfile:1\n"
        "FROM python:3.12-slim AS build\n"
        "RUN pip install \\\n"
        "    # a comment inside a continuation\n"
        "    uv\n"
        "\n"
        "FROM python:3.12-slim\n"
        "USER app\n"
    )
    instructions = parse_dockerfile(content)

    assert [(i.keyword, i.line, i.stage) for i in instructions] == [
        ("FROM", 2, 0),
        ("RUN", 3, 0),
        ("FROM", 7, 1),
        ("USER", 8, 1),
    ]
    assert instructions[1].arguments == "pip install uv"


def test_files_and_folders_nobody_may_read_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """As a normal user sees them (the suite runs as root, who may read anything)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("from fastapi import FastAPI\n")
    (tmp_path / "secret.py").write_text("TOKEN = 'x'\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "inside.py").write_text("")
    real_read_bytes = Path.read_bytes
    real_scandir = os.scandir

    def read_bytes(path: Path) -> bytes:
        if path.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path).name == "private":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(os, "scandir", scandir)
    repository = Repository(tmp_path)

    assert "private/inside.py" not in repository.files
    assert repository.problems["private"] == "cannot list: Permission denied"
    assert repository.text("secret.py") is None
    assert repository.problems["secret.py"] == "cannot read: Permission denied"
    assert repository.python("app/main.py") is not None
    result = judge(tmp_path)
    assert len(result.verdicts) == len(load_standards())


def test_a_rule_that_breaks_costs_one_verdict_not_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\n")
    rules = static_rules()

    def broken(_repository: Repository) -> Verdict:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(engine, "static_rules", lambda: {**rules, "API-1": broken})

    result = judge(tmp_path)

    verdict = next(v for v in result.verdicts if v.standard_id == "API-1")
    assert verdict.status is Status.UNKNOWN
    assert "its rule failed (RecursionError" in verdict.summary
    assert len(result.verdicts) == len(load_standards())
