"""Template releases (tags or releases.yml), version parsing, and project-state helpers."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from packaging.version import Version

from svcforge.errors import NotAGeneratedProjectError, NotAGitRepositoryError, TemplateSourceError
from svcforge.project import load_project, reject_files, require_git_repository
from svcforge.versions import (
    RELEASES_FILE,
    base_of,
    copier_ref,
    describe,
    git_url,
    parse_ref,
    releases,
)
from tests.releases import run_git


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("v0.1.0", Version("0.1.0")),
        ("0.2.0", Version("0.2.0")),
        ("v0.1.0-3-gabc1234", Version("0.1.0.post3")),
        ("abc1234", None),
        ("main", None),
        (None, None),
    ],
)
def test_parse_ref(ref: str | None, expected: Version | None):
    assert parse_ref(ref) == expected


def test_commits_after_a_tag_sort_between_releases():
    after_first = parse_ref("v0.1.0-3-gabc1234")
    assert after_first is not None
    assert parse_ref("v0.1.0") < after_first < parse_ref("v0.2.0")


def test_reject_files_are_found_anywhere_but_in_git_and_venv(tmp_path: Path):
    for name in ("Makefile.rej", "src/pkg/main.py.rej", ".venv/lib/x.rej", ".git/y.rej"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("@@ hunk @@\n")

    assert reject_files(tmp_path) == ["Makefile.rej", "src/pkg/main.py.rej"]


def test_malformed_answers_file_is_a_clear_error(tmp_path: Path):
    (tmp_path / ".copier-answers.yml").write_text("- just\n- a list\n")

    with pytest.raises(NotAGeneratedProjectError, match="does not hold a mapping"):
        load_project(tmp_path)


def test_a_subdirectory_of_a_repository_is_not_a_project_root(tmp_path: Path):
    run_git(tmp_path, "init", "--quiet")
    (tmp_path / "service").mkdir()

    with pytest.raises(NotAGitRepositoryError):
        require_git_repository(tmp_path / "service")
    require_git_repository(tmp_path)


def _commit(repo: Path, message: str) -> str:
    (repo / "history.txt").write_text((repo / "history.txt").read_text() + f"{message}\n")
    run_git(repo, "add", "--all")
    run_git(repo, "commit", "--quiet", "-m", message)
    return run_git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def template_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository with five commits: 1.0.0 tagged, 1.1.0 and 2.0.0 only listed."""
    repo = tmp_path / "template repo ü"
    repo.mkdir()
    run_git(repo, "init", "--quiet")
    (repo / "history.txt").write_text("")
    commits = [_commit(repo, f"commit {n}") for n in range(5)]
    run_git(repo, "tag", "-a", "-m", "annotated", "v1.0.0", commits[0])
    run_git(repo, "tag", "v1.1.0rc1", commits[1])  # pre-releases never count
    (repo / RELEASES_FILE).write_text(
        "releases:\n"
        f"  - version: 2.0.0\n    commit: {commits[3]}\n"
        f"  - version: 1.1.0\n    commit: {commits[1][:10]}\n"
        f"  - version: 1.0.0\n    commit: {commits[2]}\n"  # the tag wins
        f"  - version: 0.9.0\n    commit: '{'0' * 40}'\n"  # not in this clone: left out
    )
    run_git(repo, "add", "--all")
    run_git(repo, "commit", "--quiet", "-m", "Record releases")
    return repo, commits


def test_releases_are_the_tags_and_the_listed_commits(template_repo: tuple[Path, list[str]]):
    repo, commits = template_repo

    found = releases(str(repo))

    assert (
        [(str(r.version), r.tag, r.ref, r.commit) for r in found]
        == [
            ("1.0.0", "v1.0.0", "v1.0.0", commits[0]),  # annotated tag, peeled to its commit
            ("1.1.0", "v1.1.0", f"v1.1.0-0-g{commits[1][:12]}", commits[1]),
            ("2.0.0", "v2.0.0", f"v2.0.0-0-g{commits[3][:12]}", commits[3]),
        ]
    )
    # The same through a URL (cloned, as a remote template would be).
    assert releases(f"file://{quote(str(repo))}") == found


def test_refs_of_listed_releases_resolve_without_their_tags(
    template_repo: tuple[Path, list[str]],
):
    repo, commits = template_repo

    for wanted in ("v1.1.0", "1.1.0"):
        ref = copier_ref(str(repo), wanted)
        assert run_git(repo, "rev-parse", f"{ref}^{{commit}}").strip() == commits[1]
    assert copier_ref(str(repo), "v1.0.0") == "v1.0.0"
    assert copier_ref(str(repo), "main-or-any-ref") == "main-or-any-ref"


def test_describe_names_the_nearest_release_even_without_tags(
    template_repo: tuple[Path, list[str]],
):
    repo, commits = template_repo

    assert describe(str(repo), commits[4][:7]) == f"v2.0.0-1-g{commits[4][:7]}"
    assert describe(str(repo), commits[2][:9]) == f"v1.1.0-1-g{commits[2][:9]}"
    assert describe(str(repo), commits[1]) == f"v1.1.0-0-g{commits[1]}"
    assert describe(str(repo), "f" * 12) is None  # not in this repository
    base = base_of(str(repo), commits[4][:7])
    assert (base.ref, base.version) == (commits[4][:7], Version("2.0.0.post1"))
    assert base_of(str(repo), "v1.1.0").ref == f"v1.1.0-0-g{commits[1][:12]}"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("releases: [", "not valid YAML"),
        ("- 1.0.0\n", "has no `releases:` list"),
        ("releases:\n  - version: one\n    commit: abcdef1\n", "invalid entry"),
        ("releases:\n  - version: 1.0.0\n    commit: HEAD\n", "invalid entry"),
    ],
)
def test_a_broken_releases_file_is_a_clear_error(tmp_path: Path, content: str, problem: str):
    run_git(tmp_path, "init", "--quiet")
    (tmp_path / RELEASES_FILE).write_text(content)
    run_git(tmp_path, "add", "--all")
    run_git(tmp_path, "commit", "--quiet", "-m", "Broken")

    with pytest.raises(TemplateSourceError, match=problem):
        releases(str(tmp_path))


def test_an_abbreviated_commit_made_of_digits_is_no_version():
    assert parse_ref("1234567") is None
    assert parse_ref("v1.2.0-0-g1234567") == Version("1.2.0")


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("gh:org/svcforge", "https://github.com/org/svcforge.git"),
        ("gl:/org/svcforge.git", "https://gitlab.com/org/svcforge.git"),
        ("git+https://example.com/svcforge", "https://example.com/svcforge"),
        ("git@example.com:org/svcforge.git", "git@example.com:org/svcforge.git"),
        ("/srv/svcforge", "/srv/svcforge"),
    ],
)
def test_git_url_drops_copier_only_spellings(location: str, expected: str):
    assert git_url(location) == expected
