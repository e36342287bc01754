"""The dry run predicts exactly what the update does, and no update loses the team's work.

Each scenario generates a project at the release candidate, commits the team's changes,
then runs `update --dry-run --json` and `update --json` to the same new release (v99,
made in a temporary clone): the predicted conflicts and changes must equal the real
ones, and the team's files must survive (kept as conflicts, or listed as warnings).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from svcforge.cli import app
from tests.releases import TemplateRepo, generate_at, make_template_repo, run_git

PACKAGE = "src/example_service"
ITEMS = f"{PACKAGE}/items"
# Added by the new release. Not a hostile name: Copier 9.19 reads the add/add list without
# unquoting it, so it cannot merge a non-ASCII path both sides add (a template's choice).
GUIDE = "docs/Guide for new members.md"
DROPPED_ADR = "docs/adr/0009-hardened-http-edge.md"  # deleted by the new release
TEAM_REJECT = "docs/naïve plan.md.rej"  # a team file that happens to end in .rej
COMPARED = ("changed", "added", "deleted", "conflicts", "rejects", "kept", "missed", "leftovers")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """The candidate and a v99.0.0 release that edits, adds and deletes template files."""
    repo = make_template_repo(tmp_path_factory.mktemp("template") / "svcforge")
    repo.edit(
        "template/CONTRIBUTING.md",
        lambda text: text.replace("# Contributing", "# How to contribute", 1),
    )
    repo.edit("template/Dockerfile.jinja", lambda text: "# Built by CI.\n" + text)
    repo.edit("template/pyproject.toml.jinja", lambda text: text + "\n# A template change.\n")
    repo.edit(
        'template/src/{{ package_name }}/items/{% if auth != "none" %}service.py{% endif %}.jinja',
        lambda text: text + "\n\n# A template change to the item use cases.\n",
    )
    repo.add("template/src/{{ package_name }}/items/constants.py", "MAX_ITEMS = 100\n")
    repo.add(f"template/{GUIDE}", "# Guide\n\nThe template's guide.\n")
    repo.delete(f"template/{DROPPED_ADR}")
    repo.tag("v99.0.0")
    return repo


@dataclass
class Outcome:
    plan: dict[str, Any]
    result: dict[str, Any]
    exit_code: int
    stderr: str
    root: Path


def flat(text: str) -> str:
    return " ".join(text.split())


def predict_then_update(root: Path, *args: str) -> Outcome:
    """Run the dry run, check it changed nothing, then the update; both with --json."""
    status = run_git(root, "status", "--porcelain")
    planned = CliRunner().invoke(app, ["update", str(root), "--dry-run", "--json", *args])
    assert planned.exit_code == 0, planned.output
    assert run_git(root, "status", "--porcelain") == status
    done = CliRunner().invoke(app, ["update", str(root), "--json", "--no-lock", *args])
    assert done.exit_code in {0, 7}, done.output
    plan, result = json.loads(planned.stdout), json.loads(done.stdout)
    for key in COMPARED:
        assert plan[key] == result[key], f"the dry run predicted other {key}"
    assert plan["current"] == result["current"] == "v99.0.0"
    return Outcome(plan, result, done.exit_code, done.stderr, root)


def project_with(repo: TemplateRepo, tmp_path: Path) -> Path:
    return generate_at(repo, repo.candidate, tmp_path / "svc", project_name="Example Service")


def commit(root: Path, message: str = "Team changes") -> None:
    run_git(root, "add", "--all")
    run_git(root, "commit", "--quiet", "-m", message)


def test_clean_merges_are_predicted_as_clean_and_team_rej_files_do_not_count(
    repo: TemplateRepo, tmp_path: Path
):
    root = project_with(repo, tmp_path)
    dockerfile, readme = root / "Dockerfile", root / "README.md"
    dockerfile.write_text(dockerfile.read_text() + "LABEL team=payments\n")
    readme.write_text(readme.read_text() + "\n## On call\n\nThe payments team.\n")
    (root / TEAM_REJECT).write_text("@@ a hunk we keep on purpose\n")
    (root / "notes.rej").write_text("ours\n")
    commit(root)

    outcome = predict_then_update(root)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.result["conflicts"] == outcome.result["rejects"] == []
    assert {"Dockerfile", "README.md"} <= set(outcome.result["changed"])
    assert dockerfile.read_text().startswith("# Built by CI.\n")
    assert dockerfile.read_text().endswith("LABEL team=payments\n")
    assert readme.read_text().endswith("\n## On call\n\nThe payments team.\n")
    assert (root / TEAM_REJECT).read_text() == "@@ a hunk we keep on purpose\n"
    assert TEAM_REJECT not in outcome.result["changed"]
    # Not customised: the template's deletion stands.
    assert outcome.result["deleted"] == [DROPPED_ADR]
    assert not (root / DROPPED_ADR).exists()


def test_a_same_line_edit_is_the_predicted_conflict_and_the_hints_cover_uv_lock_and_new_files(
    repo: TemplateRepo, tmp_path: Path
):
    root = project_with(repo, tmp_path)
    contributing = root / "CONTRIBUTING.md"
    contributing.write_text(
        contributing.read_text().replace("# Contributing", "# Contributing to payments", 1)
    )
    commit(root)

    outcome = predict_then_update(root)

    assert outcome.exit_code == 7
    assert outcome.result["conflicts"] == ["CONTRIBUTING.md"]
    assert "<<<<<<<" in contributing.read_text()
    assert "pyproject.toml" in outcome.result["changed"]
    assert outcome.result["lock_needed"] is True
    hints = flat(outcome.stderr)
    assert "pyproject.toml changed: run `uv lock`" in hints
    # New template files are untracked: `git commit -am` would leave them out.
    assert GUIDE in outcome.result["added"]
    assert "git add -A && git commit" in hints
    assert "git commit -am" not in hints


def test_a_team_file_where_the_new_version_adds_one_is_an_add_add_conflict(
    repo: TemplateRepo, tmp_path: Path
):
    root = project_with(repo, tmp_path)
    (root / GUIDE).write_text("# Guide\n\nOur own guide.\n")
    commit(root)

    outcome = predict_then_update(root)

    assert outcome.exit_code == 7
    assert outcome.result["conflicts"] == [GUIDE]
    text = (root / GUIDE).read_text()
    assert "Our own guide." in text
    assert "<<<<<<<" in text
    assert GUIDE in flat(outcome.stderr)


def test_a_customised_file_the_new_version_deletes_is_kept_as_a_conflict(
    repo: TemplateRepo, tmp_path: Path
):
    root = project_with(repo, tmp_path)
    adr = root / DROPPED_ADR
    customised = adr.read_bytes() + b"\n## Our amendment\n\nWe also rate-limit.\n"
    adr.write_bytes(customised)
    untouched_adr = "docs/adr/0010-outages-and-graceful-shutdown.md"
    commit(root)

    outcome = predict_then_update(root)

    assert outcome.exit_code == 7
    assert outcome.result["conflicts"] == [DROPPED_ADR]
    assert outcome.result["kept"] == [{"path": DROPPED_ADR, "counterpart": None}]
    assert adr.read_bytes() == customised
    assert DROPPED_ADR not in outcome.result["deleted"]
    # "deleted by them": `git add` keeps the file, `git rm` drops it.
    assert f"UD {DROPPED_ADR}" in run_git(root, "status", "--porcelain").splitlines()
    assert (root / untouched_adr).exists()
    assert f"{DROPPED_ADR} (you changed it; the new version no longer has it)" in flat(
        outcome.stderr
    )


def test_template_changes_to_a_renamed_feature_package_are_listed(
    repo: TemplateRepo, tmp_path: Path
):
    root = project_with(repo, tmp_path)
    run_git(root, "mv", ITEMS, f"{PACKAGE}/products")
    commit(root, "Items are products")

    outcome = predict_then_update(root)

    assert outcome.exit_code == 0, outcome.stderr
    missed = {change["path"]: change for change in outcome.result["missed"]}
    assert missed[f"{ITEMS}/service.py"]["moved_to"] == f"{PACKAGE}/products/service.py"
    assert "+# A template change to the item use cases." in missed[f"{ITEMS}/service.py"]["diff"]
    assert missed[f"{ITEMS}/constants.py"]["added"] is True
    warnings = flat(" ".join(outcome.result["warnings"]))
    assert f"The template changed {ITEMS}/service.py, which your project no longer has" in warnings
    assert f"moved to {PACKAGE}/products/service.py?" in warnings
    assert f"adds {ITEMS}/constants.py in a folder your project no longer has" in warnings
    assert (root / PACKAGE / "products" / "service.py").is_file()


def test_a_moved_package_keeps_customised_files_and_lists_the_teams_own(
    repo: TemplateRepo, tmp_path: Path
):
    root = project_with(repo, tmp_path)
    router = root / ITEMS / "router.py"
    customised = router.read_bytes() + b"\n# Our own route tweak.\n"
    router.write_bytes(customised)
    (root / ITEMS / "pricing.py").write_text("RATE = 3\n")
    commit(root)

    outcome = predict_then_update(root, "--set", "package_name=billing")

    assert outcome.exit_code == 7
    assert outcome.result["conflicts"] == [f"{ITEMS}/router.py"]
    assert outcome.result["kept"] == [
        {"path": f"{ITEMS}/router.py", "counterpart": "src/billing/items/router.py"}
    ]
    assert router.read_bytes() == customised
    assert (root / ITEMS / "pricing.py").read_text() == "RATE = 3\n"
    assert outcome.result["leftovers"] == [f"{ITEMS}/pricing.py"]
    assert (root / "src/billing/items/router.py").is_file()
    assert not (root / ITEMS / "service.py").exists()
