"""Drift of generated projects from their template (the drift section of `svcforge check`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from svcforge.check.drift import UnknownVersionError, commit_id, compute_drift, render_at, skipped
from svcforge.check.model import Drift
from svcforge.check.render_cache import CachedRender, RenderedFile, cache_key, load, store
from svcforge.template_source import set_recorded
from svcforge.update import rendering
from svcforge.versions import Release
from tests.check.drift_support import (
    BINARY,
    KEPT,
    NEWEST,
    NON_ASCII,
    copy_of,
    drift_template,
    generate,
    tree_state,
)
from tests.releases import TemplateRepo


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A render cache of this module's own (shared by its tests): never the user's."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    return drift_template(tmp_path_factory.mktemp("template") / "svcforge")


@pytest.fixture(scope="module")
def behind(template: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated at v0.2.0: one release behind."""
    return generate(template, template.candidate, tmp_path_factory.mktemp("behind"))


@pytest.fixture(scope="module")
def current(template: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated at the newest release."""
    return generate(template, NEWEST, tmp_path_factory.mktemp("current"))


@pytest.fixture(autouse=True)
def _module_cache(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every test of the module, even one without a project, uses the private cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))


#: What v0.3.0 changes in a v0.2.0 project: its two edits, and the version in the README.
OUTDATED = {".dockerignore": "outdated", "CONTRIBUTING.md": "outdated", "README.md": "outdated"}


def _states(drift: Drift) -> dict[str, str]:
    return {item.path: item.state for item in drift.files}


def test_untouched_project_at_the_newest_release_has_no_drift(template, current):
    drift = compute_drift(current)

    assert drift is not None
    assert drift.problem is None
    assert drift.files == []
    assert drift.behind is False
    assert drift.recorded_version == NEWEST
    assert drift.newest_version == NEWEST
    assert drift.template == str(template.path)


def test_not_a_generated_project_has_no_drift_section(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")

    assert compute_drift(tmp_path) is None


def test_edited_deleted_and_outdated_files_are_each_reported(behind, tmp_path):
    project = copy_of(behind, tmp_path)
    (project / "Dockerfile").write_text((project / "Dockerfile").read_text() + "# ours\n")
    (project / "Makefile").unlink()
    # .dockerignore changes in v0.3.0, but the team changed it first: customised wins.
    (project / ".dockerignore").write_text("*\n")
    # Not template-managed: the lock file, the team's own files, the answers file.
    (project / "uv.lock").write_text("version = 1\n")
    (project / "src" / "own_module.py").write_text("VALUE = 1\n")

    drift = compute_drift(project)

    assert drift is not None
    assert drift.problem is None
    assert drift.behind is True
    assert drift.recorded_version == "v0.2.0"
    assert drift.newest_version == NEWEST
    assert _states(drift) == {
        ".dockerignore": "customised",
        "CONTRIBUTING.md": "outdated",
        "Dockerfile": "customised",
        "Makefile": "deleted",
        # It names the template version it was generated from.
        "README.md": "outdated",
    }


def test_untouched_project_one_release_behind_only_has_outdated_files(behind):
    drift = compute_drift(behind)

    assert drift is not None
    assert drift.behind is True
    assert _states(drift) == OUTDATED


def test_a_changed_executable_bit_or_a_link_in_place_of_a_file_is_customised(current, tmp_path):
    project = copy_of(current, tmp_path)
    (project / "Makefile").chmod(0o755)
    (project / "CHANGELOG.md").unlink()
    (project / "CHANGELOG.md").symlink_to("README.md")
    # A folder where a file was rendered: the file is gone.
    (project / "alembic.ini").unlink()
    (project / "alembic.ini").mkdir()

    drift = compute_drift(project)

    assert drift is not None
    assert _states(drift) == {
        "CHANGELOG.md": "customised",
        "Makefile": "customised",
        "alembic.ini": "deleted",
    }


def test_files_the_template_keeps_on_purpose_are_not_customised(current, tmp_path):
    project = copy_of(current, tmp_path)
    (project / KEPT).write_text("Our own notes.\n")

    drift = compute_drift(project)
    assert drift is not None
    assert drift.files == []

    (project / KEPT).unlink()
    drift = compute_drift(project)
    assert drift is not None
    assert _states(drift) == {KEPT: "deleted"}


def test_non_ascii_and_binary_files_in_a_project_with_a_non_ascii_name(template, tmp_path):
    project = generate(template, NEWEST, tmp_path, name="sérvice ñ")
    (project / NON_ASCII).write_text("# Café\n\nÉdité par l'équipe.\n", encoding="utf-8")
    (project / BINARY).write_bytes(b"\0\1\2")
    (project / "docs" / "ünïcode 文件.md").write_text("ours\n", encoding="utf-8")

    drift = compute_drift(project)

    assert drift is not None
    assert drift.problem is None
    assert _states(drift) == {BINARY: "customised", NON_ASCII: "customised"}


def test_the_project_is_never_written(behind, tmp_path):
    project = copy_of(behind, tmp_path)
    (project / "Dockerfile").write_text("FROM scratch\n")
    (project / "README.md").unlink()
    before = tree_state(project)

    assert compute_drift(project) is not None

    assert tree_state(project) == before


def test_renders_are_cached_so_a_second_run_renders_nothing(behind, cache_home, monkeypatch):
    assert compute_drift(behind) is not None
    entries = list((cache_home / "svcforge" / "renders").glob("*.json"))
    assert len(entries) >= 2  # the recorded version and the newest release

    def no_render(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("rendered again although the render is cached")

    monkeypatch.setattr(rendering, "render_version", no_render)
    drift = compute_drift(behind)

    assert drift is not None
    assert _states(drift) == OUTDATED


def test_a_damaged_cache_entry_is_rendered_again(tmp_path):
    render = CachedRender("v1.0.0", {"a.txt": RenderedFile(b"a\n", executable=True)}, (".env",))
    key = cache_key("/template", "0" * 40, {"name": "x"}, "service")
    store(key, render, tmp_path)

    assert load(key, tmp_path) == render
    assert key != cache_key("/template", "0" * 40, {"name": "y"}, "service")

    (tmp_path / f"{key}.json").write_text("{not json")
    assert load(key, tmp_path) is None
    assert load("missing", tmp_path) is None


def test_an_unreachable_template_is_a_problem_not_a_traceback(behind, tmp_path):
    project = copy_of(behind, tmp_path)
    set_recorded(project / ".copier-answers.yml", "_src_path", str(tmp_path / "gone"))

    drift = compute_drift(project)

    assert drift is not None
    assert drift.files == []
    assert drift.problem is not None
    assert str(tmp_path / "gone") in drift.problem
    assert "does not exist" in drift.problem


def test_svcforge_template_overrides_the_recorded_source(behind, template, tmp_path, monkeypatch):
    project = copy_of(behind, tmp_path)
    set_recorded(project / ".copier-answers.yml", "_src_path", str(tmp_path / "moved"))
    monkeypatch.setenv("SVCFORGE_TEMPLATE", str(template.path))

    drift = compute_drift(project)

    assert drift is not None
    assert drift.problem is None
    assert drift.template == str(template.path)
    assert _states(drift) == OUTDATED


def test_a_recorded_version_the_template_lacks_is_a_problem(behind, tmp_path):
    project = copy_of(behind, tmp_path)
    set_recorded(project / ".copier-answers.yml", "_commit", "v9.9.9")

    drift = compute_drift(project)

    assert drift is not None
    assert drift.recorded_version == "v9.9.9"
    assert drift.problem is not None
    assert "v9.9.9" in drift.problem


def test_no_recorded_version_or_broken_answers_is_a_problem(behind, tmp_path):
    project = copy_of(behind, tmp_path)
    answers = project / ".copier-answers.yml"
    answers.write_text(
        "".join(line for line in answers.read_text().splitlines(True) if "_commit" not in line)
    )

    drift = compute_drift(project)
    assert drift is not None
    assert drift.problem is not None
    assert "_commit" in drift.problem

    answers.write_text("_commit: [unclosed\n")
    drift = compute_drift(project)
    assert drift is not None
    assert drift.problem is not None
    assert "not valid YAML" in drift.problem


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        (".env", (".env",), True),
        ("deploy/.env", (".env",), True),
        ("docs/local-notes.md", ("docs/local-notes.md",), True),
        ("docs/local-notes.md", ("/docs/*.md",), True),
        ("docs/adr/0001.md", ("docs",), True),
        ("other/docs/x.md", ("/docs/x.md",), False),
        ("README.md", (".env", "# a comment", ""), False),
    ],
)
def test_skip_if_exists_patterns_match_like_gitignore(path, patterns, expected):
    assert skipped(path, patterns) is expected


def test_two_concurrent_runs_share_the_cache_safely(behind, tmp_path):
    """Two processes render the same entries at once: both succeed, one whole entry each."""
    cache = tmp_path / "cache"
    script = (
        "import json, sys; from pathlib import Path; "
        "from svcforge.check.drift import compute_drift; "
        "drift = compute_drift(Path(sys.argv[1])); "
        "print(json.dumps([drift.problem, [[f.path, f.state] for f in drift.files]]))"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(behind)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]

    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        problem, files = json.loads(stdout)
        assert problem is None
        assert dict(files) == OUTDATED
    entries = sorted(path.name for path in (cache / "svcforge" / "renders").iterdir())
    assert len(entries) == 2
    assert all(name.endswith(".json") for name in entries)  # no temporary file left


def test_a_cached_drift_does_not_import_copier(behind):
    """Copier takes longer to import than a cached drift to compute: `check` stays fast."""
    assert compute_drift(behind) is not None  # fills the cache
    script = (
        "import sys; from pathlib import Path; "
        "from svcforge.check.drift import compute_drift; "
        "drift = compute_drift(Path(sys.argv[1])); "
        "assert drift.problem is None and drift.files, drift; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'copier'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(behind)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_remote_templates_are_cached_by_commit_and_unknown_refs_are_reported(monkeypatch):
    url = "https://git.example.com/platform/svcforge.git"
    release = Release(Version("1.0.0"), "v1.0.0", "v1.0.0", "f" * 40)

    assert commit_id(url, "v1.0.0", (release,)) == "f" * 40
    assert commit_id(url, "v1.0.0-3-gabcdef1", ()) == "abcdef1"
    assert commit_id(url, "main", (release,)) is None  # a branch moves: never cached

    def unknown(_location: str, ref: str, *_args: object) -> None:
        raise rendering.UnknownRevision(ref)

    monkeypatch.setattr(rendering, "render_version", unknown)
    with pytest.raises(UnknownVersionError):
        render_at(url, "v2.0.0-0-g0123456789ab", {}, "service")
