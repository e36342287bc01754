"""Version parsing of template refs, and the project-state helpers updates rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from svcforge.errors import NotAGeneratedProjectError, NotAGitRepositoryError
from svcforge.project import load_project, reject_files, require_git_repository
from svcforge.versions import parse_ref
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
