"""Template repositories with release tags, built in temporary clones for update tests.

Tests never rely on tags in the clone they run from: `make_template_repo` clones this
checkout, lays the working tree over it (uncommitted changes included, as Copier does
for a dirty local template), commits that as the release candidate, and tags the
previous release recorded in releases.yml and the candidate (src/svcforge/__init__.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import yaml

from svcforge import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]
IGNORED_IN_COMPARISON = {".git", "uv.lock", ".venv"}


def run_git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity (fresh machines have none); return stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "svcforge tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "svcforge tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
    }
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def previous_release() -> tuple[str, str]:
    """(tag, commit) of the newest release recorded in releases.yml."""
    recorded = yaml.safe_load((REPO_ROOT / "releases.yml").read_text())["releases"]
    newest = recorded[0]
    return f"v{newest['version']}", newest["commit"]


@dataclass
class TemplateRepo:
    """A throwaway template repository with the previous release and the candidate tagged."""

    path: Path
    previous: str
    candidate: str

    def release(self, tag: str, relpath: str, old: str, new: str) -> None:
        """Commit a change of one line of a template file and tag it as a release."""
        self.edit(relpath, lambda text: text.replace(old, new, 1) if old in text else "")
        self.tag(tag)

    def edit(self, relpath: str, change: Callable[[str], str]) -> None:
        """Change a template file (``change`` gets and returns its text)."""
        file = self.path / relpath
        text = file.read_text()
        changed = change(text)
        assert changed, f"the change of {relpath} emptied it"
        assert changed != text, f"the change of {relpath} changed nothing"
        file.write_text(changed)

    def add(self, relpath: str, content: str) -> None:
        """Add a template file."""
        file = self.path / relpath
        assert not file.exists(), f"{relpath} exists already"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content)

    def delete(self, relpath: str) -> None:
        """Delete a template file."""
        (self.path / relpath).unlink()

    def tag(self, tag: str) -> None:
        """Commit the template changes made so far and tag them as release ``tag``."""
        run_git(self.path, "add", "--all")
        run_git(self.path, "commit", "--quiet", "-m", f"Release {tag}")
        run_git(self.path, "tag", tag)


def make_template_repo(dest: Path) -> TemplateRepo:
    """Clone this checkout with its uncommitted changes and tag two releases in it."""
    run_git(REPO_ROOT.parent, "clone", "--quiet", "--no-checkout", str(REPO_ROOT), str(dest))
    run_git(dest, "checkout", "--quiet", "HEAD")
    # Mirror the working tree: changed and untracked files, minus deleted ones.
    listed = run_git(REPO_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    wanted = {name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()}
    for name in wanted:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    for name in run_git(dest, "ls-files", "-z").split("\0"):
        if name and name not in wanted:
            (dest / name).unlink(missing_ok=True)
    run_git(dest, "add", "--all")
    run_git(dest, "commit", "--quiet", "--allow-empty", "-m", "Release candidate")
    previous, commit = previous_release()
    candidate = f"v{__version__}"
    assert previous != candidate, "bump __version__ after recording a release"
    # -f: a clone of a repository that has the tags already brings them along.
    run_git(dest, "tag", "-f", previous, commit)
    run_git(dest, "tag", "-f", candidate)
    return TemplateRepo(dest, previous, candidate)


def generate_at(repo: TemplateRepo, ref: str, dest: Path, **answers: str) -> Path:
    """Generate a project from ``repo`` at ``ref`` and commit it, as `svcforge new` does."""
    # The project name defaults to the destination folder's; tests compare projects made in
    # folders of different names, so they all get the same default name.
    answers = {"project_name": "Example Service", **answers}
    copier.run_copy(
        str(repo.path), dest, data=answers, defaults=True, vcs_ref=ref, quiet=True, unsafe=False
    )
    run_git(dest, "init", "--quiet")
    run_git(dest, "add", "--all")
    run_git(dest, "commit", "--quiet", "-m", "Generated")
    return dest


def tree(root: Path) -> dict[str, bytes]:
    """The project's files by path, without git data, the lock file and ``_commit``."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or IGNORED_IN_COMPARISON.intersection(relative.parts):
            continue
        content = path.read_bytes()
        if relative.name == ".copier-answers.yml":
            content = b"".join(
                line
                for line in content.splitlines(keepends=True)
                if not line.startswith(b"_commit:")
            )
        files[str(relative)] = content
    return files


def exact_state(root: Path) -> dict[str, object]:
    """Everything an interrupted or failed update must leave as it was, byte for byte.

    Every file outside ``.git`` (contents, link targets, permission bits), HEAD, what
    ``git status`` reports (untracked and ignored files included) and the staged diff.
    """
    files: dict[str, tuple[int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if ".git" in relative.parts:
            continue
        if path.is_symlink():
            files[str(relative)] = (0, os.fsencode(str(path.readlink())))
        elif path.is_file():
            files[str(relative)] = (path.stat().st_mode, path.read_bytes())
        else:
            files[f"{relative}/"] = (path.stat().st_mode, b"")
    return {
        "files": files,
        "head": run_git(root, "rev-parse", "HEAD"),
        "status": run_git(root, "status", "--porcelain", "--untracked-files=all", "--ignored"),
        "staged": run_git(root, "diff", "--cached", "--binary"),
    }
