"""`svcforge new` and where it writes: --force, monorepos, hostile and broken destinations,
a template that renders a broken project, failing follow-up steps.

After every failure the destination is compared byte for byte with what it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from svcforge.errors import (
    BadDataError,
    BrokenOutputError,
    DestinationError,
    PostGenerationError,
)
from svcforge.output_checks import check_rendered
from tests.support import run_svcforge, snapshot, svcforge

FAST = ["--no-git", "--no-lock"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def user_files(dest: Path) -> None:
    """An existing directory: one file the template overwrites, others it does not."""
    (dest / "docs").mkdir(parents=True)
    (dest / "README.md").write_text("# Our README\n")
    (dest / "docs" / "notes.md").write_text("mine\n")
    (dest / "NOTES café.txt").write_text("keep me, never commit me\n")


# --force ------------------------------------------------------------------------------


def test_force_lists_overwrites_and_commits_only_generated_files(workdir: Path):
    dest = workdir / "svc"
    user_files(dest)
    result = svcforge("new", "svc", "--defaults", "--force", "--no-lock", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["overwritten"] == ["README.md"]
    # Announced on stderr (before writing: the interrupt tests check the order).
    assert "Overwriting 1 existing file(s)" in result.stderr
    assert "  README.md" in result.stderr.splitlines()
    committed = sorted(git(dest, "ls-files", "-z").split("\0")[:-1])
    assert committed == sorted(payload["files"])
    assert "NOTES café.txt" not in committed
    assert "docs/notes.md" not in committed
    untracked = git(dest, "status", "--porcelain", "-z", "--untracked-files=all").split("\0")
    assert sorted(filter(None, untracked)) == ["?? NOTES café.txt", "?? docs/notes.md"]
    assert (dest / "NOTES café.txt").read_text() == "keep me, never commit me\n"
    assert "only the generated files were committed" in flat(result.stderr).lower()
    assert payload["command"].endswith(" --force")


def test_force_refuses_to_write_through_a_symlink(workdir: Path):
    outside = workdir / "outside.md"
    outside.write_text("not yours to overwrite\n")
    dest = workdir / "svc"
    dest.mkdir()
    (dest / "README.md").symlink_to(outside)
    (dest / "Dockerfile").mkdir()  # a directory where the template writes a file
    before, outside_before = snapshot(dest), outside.read_bytes()
    result = svcforge("new", "svc", "--defaults", "--force", *FAST)
    assert result.exit_code == DestinationError.exit_code, result.output
    assert "README.md (a symbolic link" in result.output
    assert "Dockerfile (a directory" in result.output
    assert snapshot(dest) == before
    assert outside.read_bytes() == outside_before


# Monorepos -----------------------------------------------------------------------------


@pytest.fixture
def monorepo(workdir: Path) -> Path:
    git(workdir, "init", "--quiet")
    (workdir / "README.md").write_text("monorepo\n")
    git(workdir, "add", "README.md")
    git(workdir, "commit", "--quiet", "-m", "init")
    (workdir / "staged.txt").write_text("the team's staged work\n")
    git(workdir, "add", "staged.txt")
    return workdir


def test_inside_a_repository_no_nested_repo_and_no_commit(monorepo: Path):
    head = git(monorepo, "rev-parse", "HEAD")
    result = svcforge("new", "services/billing", "--defaults", "--no-lock", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["commit"] is None
    assert not (monorepo / "services" / "billing" / ".git").exists()
    assert git(monorepo, "rev-parse", "HEAD") == head
    assert git(monorepo, "diff", "--cached", "--name-only") == "staged.txt\n"
    warning = flat(result.stderr)
    assert "no nested repository was created and nothing was committed" in warning
    assert "--commit-in-enclosing-repo" in warning


def test_commit_into_enclosing_repo_only_with_consent(monorepo: Path):
    result = svcforge(
        "new", "services/billing", "--defaults", "--no-lock", "--json",
        "--commit-in-enclosing-repo",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["repository"] == str(monorepo)
    assert payload["commit"] == git(monorepo, "rev-parse", "HEAD").strip()
    assert not (monorepo / "services" / "billing" / ".git").exists()
    in_commit = git(monorepo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(in_commit) == sorted(f"services/billing/{name}" for name in payload["files"])
    # The team's staged change is neither committed nor unstaged.
    assert git(monorepo, "diff", "--cached", "--name-only") == "staged.txt\n"
    assert payload["command"].endswith(" --commit-in-enclosing-repo")


# Destinations that cannot be used ------------------------------------------------------


def broken_link(workdir: Path) -> Path:
    link = workdir / "svc"
    link.symlink_to(workdir / "gone")
    return link


def link_loop(workdir: Path) -> Path:
    (workdir / "a").symlink_to(workdir / "svc")
    (workdir / "svc").symlink_to(workdir / "a")
    return workdir / "svc"


def regular_file(workdir: Path) -> Path:
    (workdir / "svc").write_text("a file\n")
    return workdir / "svc"


def below_a_file(workdir: Path) -> Path:
    (workdir / "file").write_text("a file\n")
    return workdir / "file" / "svc"


def below_a_broken_link(workdir: Path) -> Path:
    (workdir / "parent").symlink_to(workdir / "gone")
    return workdir / "parent" / "svc"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (broken_link, "is a symbolic link to"),
        (link_loop, "is a symbolic link to"),
        (regular_file, "exists and is not a directory"),
        (below_a_file, "is not a directory"),
        (below_a_broken_link, "is a broken symbolic link"),
    ],
)
def test_unusable_destination_is_explained(workdir: Path, make, message: str):
    dest = make(workdir)
    before = snapshot(workdir)
    result = svcforge("new", str(dest), "--defaults", "--force", *FAST)
    assert result.exit_code == DestinationError.exit_code, result.output
    assert message in flat(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert snapshot(workdir) == before


def test_control_character_in_destination(workdir: Path):
    result = svcforge("new", "svc\nname", "--defaults", *FAST)
    assert result.exit_code == DestinationError.exit_code
    assert "contains a control character" in result.output
    assert "svc\\nname" in result.output
    assert list(workdir.iterdir()) == []


def test_destination_that_is_not_utf8(workdir: Path):
    result = run_svcforge(["new", b"svc-\xff", "--defaults", *FAST], cwd=workdir)
    assert result.returncode == DestinationError.exit_code, result.stderr
    assert "is not valid UTF-8" in flat(result.stderr)
    assert "svc-\\xff" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(Path(os.fsencode(workdir).decode("utf-8", "surrogateescape")).iterdir()) == []


def test_data_value_that_is_not_utf8(workdir: Path):
    result = run_svcforge(
        ["new", "svc", "--defaults", *FAST, "-d", b"project_name=\xff"], cwd=workdir
    )
    assert result.returncode == BadDataError.exit_code, result.stderr
    assert "is not valid UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(workdir.iterdir()) == []


@contextlib.contextmanager
def unwritable(directory: Path) -> Iterator[None]:
    """Make ``directory`` unwritable, also for root (immutable attribute)."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(directory)], check=False).returncode != 0:
        pytest.skip("running as root without chattr: cannot make a directory unwritable")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


@contextlib.contextmanager
def tmpfs(mountpoint: Path, options: str) -> Iterator[Path]:
    """A small tmpfs (needs root and permission to mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a test file system needs root")
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mountpoint)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


@pytest.mark.parametrize("existing", [False, True], ids=["new-dest", "existing-empty-dest"])
def test_unwritable_parent_or_destination(workdir: Path, existing: bool):
    parent = workdir / "parent"
    parent.mkdir()
    if existing:
        (parent / "svc").mkdir()
    locked = parent / "svc" if existing else parent
    with unwritable(locked):
        result = svcforge("new", str(parent / "svc"), "--defaults", *FAST)
    assert result.exit_code == DestinationError.exit_code, result.output
    assert "is not writable" in result.output
    assert sorted(path.name for path in parent.iterdir()) == (["svc"] if existing else [])


def test_read_only_file_system(workdir: Path):
    with tmpfs(workdir / "ro", "ro,size=1m") as mountpoint:
        result = svcforge("new", str(mountpoint / "svc"), "--defaults", *FAST)
        assert result.exit_code == DestinationError.exit_code, result.output
        assert "is on a read-only file system" in result.output


@pytest.mark.parametrize("existing", [False, True], ids=["new-dest", "force-into-files"])
def test_no_space_left_undoes_everything(workdir: Path, existing: bool):
    with tmpfs(workdir / "small", "size=64k") as mountpoint:
        dest = mountpoint / "svc"
        if existing:
            user_files(dest)
        before = snapshot(dest)
        result = svcforge("new", str(dest), "--defaults", "--force", *FAST)
        assert result.exit_code == DestinationError.exit_code, result.output
        assert "No space left on device" in result.output
        assert "Nothing was kept" in result.output
        assert snapshot(dest) == before


@pytest.fixture(scope="module")
def tiny_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal template whose output breaks with a newline or quote in an answer."""
    root = tmp_path_factory.mktemp("tiny-template")
    (root / "copier.yml").write_text(
        "_subdirectory: template\n_templates_suffix: .jinja\n_skip_if_exists: [.env]\n"
        "project_name:\n  type: str\n  default: Tiny\n"
        "size:\n  type: int\n  default: 10\n"
    )
    template = root / "template"
    template.mkdir()
    (template / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml -}}\n"
    )
    (template / "main.py.jinja").write_text('NAME = "{{ project_name }}"\n')
    (template / "pyproject.toml.jinja").write_text(
        '[project]\nname = "tiny"\nversion = "0.1.0"\ndescription = "{{ project_name }}"\n'
    )
    (template / "README.md").write_text("# Tiny\n")
    (template / ".env").write_text("SECRET=template default\n")
    (template / "big.txt.jinja").write_text("{{ 'x' * size }}\n")
    return root


@pytest.mark.parametrize("existing", [False, True], ids=["new-dest", "force-into-files"])
def test_broken_output_is_never_written_or_committed(
    workdir: Path, tiny_template: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
):
    monkeypatch.setenv("SVCFORGE_TEMPLATE", str(tiny_template))
    dest = workdir / "svc"
    if existing:
        user_files(dest)
    before = snapshot(dest)
    result = svcforge(
        "new", "svc", "--defaults", "--force", "--no-lock", "-d", 'project_name=Say "hi"\n'
    )
    assert result.exit_code == BrokenOutputError.exit_code, result.output
    output = result.output
    assert "Generated project is invalid" in output
    assert "main.py: line 1" in output
    assert "pyproject.toml:" in output
    assert snapshot(dest) == before


def test_force_keeps_files_the_template_says_to_keep(
    workdir: Path, tiny_template: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SVCFORGE_TEMPLATE", str(tiny_template))
    dest = workdir / "svc"
    dest.mkdir()
    (dest / ".env").write_text("SECRET=the team's\n")
    result = svcforge("new", "svc", "--defaults", "--force", "--no-lock", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["kept"] == [".env"]
    assert ".env" not in payload["overwritten"]
    assert ".env" not in payload["files"]
    assert (dest / ".env").read_text() == "SECRET=the team's\n"
    assert ".env" not in git(dest, "ls-files")


def test_write_failure_while_rendering(workdir: Path, tiny_template: Path):
    # RLIMIT_FSIZE: writing past 16 KiB fails with EFBIG, as a full disk fails with ENOSPC.
    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))

    tmpdir = workdir / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "SVCFORGE_TEMPLATE": str(tiny_template), "TMPDIR": str(tmpdir)}
    result = run_svcforge(
        ["new", "svc", "--defaults", *FAST, "-d", "size=100000"],
        cwd=workdir,
        env=env,
        preexec_fn=limit_file_size,
    )
    assert result.returncode == DestinationError.exit_code, result.stderr
    assert "File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "svc").exists()
    assert list(tmpdir.iterdir()) == []


FAILING_TOOL = """#!/bin/sh
case " $* " in
  *" lock "*|*" commit "*) echo "simulated failure of $0 $1" >&2; exit 1;;
esac
exec {real} "$@"
"""


@pytest.mark.parametrize("tool", ["uv", "git"])
def test_failed_follow_up_step_leaves_nothing(
    workdir: Path, tiny_template: Path, monkeypatch: pytest.MonkeyPatch, tool: str
):
    bin_dir = workdir / "bin"
    bin_dir.mkdir()
    script = bin_dir / tool
    script.write_text(FAILING_TOOL.format(real=shutil.which(tool)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SVCFORGE_TEMPLATE", str(tiny_template))
    dest = workdir / "svc"
    user_files(dest)
    before = snapshot(dest)
    options = ["--no-git"] if tool == "uv" else ["--no-lock"]
    result = svcforge("new", "svc", "--defaults", "--force", *options)
    assert result.exit_code == PostGenerationError.exit_code, result.output
    assert "simulated failure" in result.output
    assert "Nothing was kept" in result.output
    assert "is as it was" in flat(result.output)
    assert snapshot(dest) == before


# The output checks themselves ----------------------------------------------------------

BROKEN_FILES = {
    "app/main.py": 'x = "unterminated\n',
    "app/nul.py": "x = 1\0\n",
    "settings.toml": 'name = "a\nb"\n',
    "docs/openapi.json": '{"a": 1,}\n',
    "compose.yaml": "a: [1, 2\n",
    "alembic.ini": "no section header\n",
}


def test_check_rendered_names_every_broken_file(tmp_path: Path):
    for name, text in BROKEN_FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "bad name"\nversion = "one"\nrequires-python = ">=3.x"\n'
        'dependencies = ["fastapi>=", "ok>=1"]\n'
    )
    (tmp_path / "fine.py").write_text("x = 1\n")
    problems = check_rendered(tmp_path)
    for name in BROKEN_FILES:
        assert any(problem.startswith(f"{name}: ") for problem in problems), (name, problems)
    pyproject = [problem for problem in problems if problem.startswith("pyproject.toml")]
    assert len(pyproject) == 4, pyproject  # name, version, requires-python, one requirement
    assert not any(problem.startswith("fine.py") for problem in problems)


def test_generated_project_passes_its_own_checks(workdir: Path):
    result = svcforge("new", "svc", "--defaults", *FAST)
    assert result.exit_code == 0, result.output
    assert check_rendered(workdir / "svc") == []
    answers = yaml.safe_load((workdir / "svc" / ".copier-answers.yml").read_text())
    assert answers["project_name"]
