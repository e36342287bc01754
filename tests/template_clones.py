"""Template repositories as users get them: published without tags, cloned to odd paths.

`publish_without_tags` builds what a clone of the published repository looks like: the
working tree committed as the release candidate and recorded in releases.yml (the
release step), and no tag at all, since tags are not pushed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import copier
import yaml

from tests.releases import make_template_repo, run_git


@dataclass(frozen=True)
class Published:
    """A template repository without tags whose releases.yml lists two releases."""

    path: Path
    #: (tag, full commit) of the previous release and of the candidate, as releases.yml says.
    previous: tuple[str, str]
    candidate: tuple[str, str]


def publish_without_tags(dest: Path) -> Published:
    """Clone this checkout (working tree included), record the candidate, drop every tag."""
    repo = make_template_repo(dest)
    candidate_commit = run_git(dest, "rev-parse", "HEAD").strip()
    previous_commit = run_git(dest, "rev-parse", f"{repo.previous}^{{commit}}").strip()
    releases = dest / "releases.yml"
    text = releases.read_text()
    entry = f"  - version: {repo.candidate.removeprefix('v')}\n    commit: {candidate_commit}\n"
    releases.write_text(text.replace("releases:\n", f"releases:\n{entry}", 1))
    assert yaml.safe_load(releases.read_text())["releases"][0]["commit"] == candidate_commit
    run_git(dest, "commit", "--quiet", "-am", f"Record release {repo.candidate}")
    for tag in run_git(dest, "tag", "--list").split():
        run_git(dest, "tag", "-d", tag)
    return Published(dest, (repo.previous, previous_commit), (repo.candidate, candidate_commit))


def clone_without_tags(source: Path, dest: Path) -> Path:
    """``git clone --no-tags`` of ``source`` (what a user gets from the published repository)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_git(dest.parent, "clone", "--quiet", "--no-tags", str(source), str(dest))
    assert run_git(dest, "tag", "--list") == ""
    return dest


def copy_at(template: Path | str, ref: str, dest: Path, **answers: str) -> Path:
    """Generate with plain Copier at ``ref`` and commit, like a team that never used svcforge."""
    copier.run_copy(
        str(template), dest, data=answers, defaults=True, vcs_ref=ref, quiet=True, unsafe=False
    )
    run_git(dest, "init", "--quiet")
    run_git(dest, "add", "--all")
    run_git(dest, "commit", "--quiet", "-m", "Generated")
    return dest


def copy_project(project: Path, dest: Path) -> Path:
    """A private copy of a generated project (its git history included)."""
    shutil.copytree(project, dest, symlinks=True)
    return dest


def answers(project: Path) -> dict[str, object]:
    """The project's Copier answers file."""
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def same_answers_copy(project: Path, template: Path | str, ref: str, dest: Path) -> Path:
    """A fresh generation at ``ref`` with ``project``'s answers (to compare an update with)."""
    recorded = {k: str(v) for k, v in answers(project).items() if not k.startswith("_")}
    return copy_at(template, ref, dest, **recorded)


def file_url(path: Path, *, encoded: bool, git_prefix: bool = False) -> str:
    """``file://`` (or ``git+file://``) URL of ``path``, percent-encoded or written literally."""
    text = quote(str(path)) if encoded else str(path)
    return f"{'git+' if git_prefix else ''}file://{text}"
