"""The static QA and DOC rules: generated projects pass, each broken standard is named alone."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from svcforge.check.engine import applicability, how_checked, static_rules
from svcforge.check.model import Status, Verdict
from svcforge.check.repository import Repository

IDS = ("QA-1", "QA-2", "QA-3", "QA-4", "DOC-1", "DOC-2", "DOC-3", "DOC-4")


def judge(root: Path) -> dict[str, Verdict]:
    """Every QA and DOC static rule on ``root``."""
    rules = static_rules()
    repository = Repository(root)
    return {standard_id: rules[standard_id](repository) for standard_id in IDS}


def not_passing(root: Path) -> dict[str, Status]:
    """Every standard of every area that does not pass on ``root`` (waivers applied).

    All areas, not only QA and DOC: a realistic breach must be flagged once, under its own
    standard, and nowhere else.
    """
    repository = Repository(root)
    waived = applicability(repository)
    verdicts = {key: rule(repository) for key, rule in static_rules().items() if key not in waived}
    return {key: v.status for key, v in verdicts.items() if v.status is not Status.PASS}


def edit(path: Path, old: str, new: str, *, pattern: bool = False) -> None:
    """Replace ``old`` (once, which must be there) in a file of the project copy."""
    text = path.read_text(encoding="utf-8")
    changed = re.sub(old, new, text, count=1, flags=re.M) if pattern else text.replace(old, new, 1)
    assert changed != text, f"{old!r} not found in {path}"
    path.write_text(changed, encoding="utf-8")


# -- generated projects ----------------------------------------------------------------


@pytest.mark.parametrize("which", ["defaults", "everything on", "everything off"])
def test_generated_projects_meet_every_quality_and_doc_standard(
    rendered_projects: dict[str, Path], which: str
) -> None:
    verdicts = judge(rendered_projects[which])
    failing = {k: v.summary for k, v in verdicts.items() if v.status is not Status.PASS}
    assert failing == {}
    for verdict in verdicts.values():
        assert verdict.evidence, verdict.standard_id
        assert verdict.summary.endswith("."), verdict.summary


def test_passing_evidence_points_at_the_settings(rendered_projects: dict[str, Path]) -> None:
    verdicts = judge(rendered_projects["defaults"])
    gate = verdicts["QA-1"].evidence[0]
    assert (gate.path, gate.key) == ("pyproject.toml", "[tool.coverage.report] fail_under")
    lines = (rendered_projects["defaults"] / "pyproject.toml").read_text().splitlines()
    assert gate.line is not None
    assert lines[gate.line - 1].startswith("fail_under = 80")
    notes = " ".join(e.note for e in verdicts["QA-4"].evidence)
    assert "mypy strict = true" in notes
    assert "pre-commit hooks" in notes
    tiers = [e.path for e in verdicts["QA-2"].evidence]
    assert [path.split("/")[1] for path in tiers if path] == ["unit", "integration", "api"]


def test_each_rule_says_how_it_checks() -> None:
    for standard_id in IDS:
        assert len(how_checked(standard_id)) > 60, standard_id
    assert "fail_under" in how_checked("QA-1")
    assert "With --run" in how_checked("QA-1")


# -- one standard broken at a time -------------------------------------------------------


def test_coverage_gate_at_60_fails_qa1_only(service_copy: Path) -> None:
    edit(service_copy / "pyproject.toml", "fail_under = 80", "fail_under = 60")
    assert not_passing(service_copy) == {"QA-1": Status.FAIL}
    verdict = judge(service_copy)["QA-1"]
    assert "60%" in verdict.summary
    assert verdict.evidence[0].key == "[tool.coverage.report] fail_under"
    assert verdict.remediation


def test_branch_coverage_off_fails_qa1_only(service_copy: Path) -> None:
    edit(service_copy / "pyproject.toml", "branch = true", "branch = false")
    assert not_passing(service_copy) == {"QA-1": Status.FAIL}
    assert "branch" in judge(service_copy)["QA-1"].summary


def test_mypy_not_strict_fails_qa4_only(service_copy: Path) -> None:
    edit(service_copy / "pyproject.toml", r"^strict = true$", "strict = false", pattern=True)
    assert not_passing(service_copy) == {"QA-4": Status.FAIL}
    verdict = judge(service_copy)["QA-4"]
    assert "not strict" in verdict.summary
    assert any(e.key == "[tool.mypy] strict" and e.line for e in verdict.evidence)


def test_no_adr_folder_fails_doc1_only(service_copy: Path) -> None:
    shutil.rmtree(service_copy / "docs" / "adr")
    assert not_passing(service_copy) == {"DOC-1": Status.FAIL}


def test_first_adr_about_something_else_fails_doc1_only(service_copy: Path) -> None:
    adr = service_copy / "docs" / "adr"
    (adr / "0001-record-architecture-decisions.md").unlink()
    (adr / "0001-use-postgresql.md").write_text(
        "# 1. Use PostgreSQL\n\n- Status: accepted\n\n## Decision\n\nWe use PostgreSQL.\n",
        encoding="utf-8",
    )
    assert not_passing(service_copy) == {"DOC-1": Status.FAIL}
    verdict = judge(service_copy)["DOC-1"]
    assert "not the decision to record decisions" in verdict.summary
    assert any(e.path == "docs/adr/0001-use-postgresql.md" for e in verdict.evidence)


def test_adr_without_status_fails_doc1(service_copy: Path) -> None:
    edit(service_copy / "docs/adr/0002-fastapi-as-web-framework.md", "- Status: accepted\n", "")
    assert not_passing(service_copy) == {"DOC-1": Status.FAIL}
    assert "0002-fastapi-as-web-framework.md has no status" in judge(service_copy)["DOC-1"].summary


def test_readme_without_commands_fails_doc2_only(service_copy: Path) -> None:
    (service_copy / "README.md").write_text(
        "# Example Service\n\nInstall the dependencies, then run the tests.\n", encoding="utf-8"
    )
    assert not_passing(service_copy) == {"DOC-2": Status.FAIL}
    assert "no install and no test command" in judge(service_copy)["DOC-2"].summary


def test_readme_naming_a_make_target_that_does_not_exist_fails_doc2(service_copy: Path) -> None:
    edit(service_copy / "Makefile", "\ninstall: ##", "\nsetup: ##")
    assert not_passing(service_copy) == {"DOC-2": Status.FAIL}
    verdict = judge(service_copy)["DOC-2"]
    assert "no install command" in verdict.summary
    assert "`make install` names a make target that does not exist" in [
        e.note for e in verdict.evidence
    ]


def test_no_changelog_fails_doc4_only(service_copy: Path) -> None:
    (service_copy / "CHANGELOG.md").unlink()
    assert not_passing(service_copy) == {"DOC-4": Status.FAIL}
    assert "no changelog" in judge(service_copy)["DOC-4"].summary


def test_no_runbook_fails_doc3_only(service_copy: Path) -> None:
    (service_copy / "docs" / "runbook.md").unlink()
    edit(service_copy / "README.md", "runbook", "operations notes")
    assert not_passing(service_copy) == {"DOC-3": Status.FAIL}


def test_no_locustfile_fails_qa3_only(service_copy: Path) -> None:
    (service_copy / "loadtest" / "locustfile.py").unlink()
    assert not_passing(service_copy) == {"QA-3": Status.FAIL}


def test_no_integration_tests_fails_qa2_only(service_copy: Path) -> None:
    shutil.rmtree(service_copy / "tests" / "integration")
    assert not_passing(service_copy) == {"QA-2": Status.FAIL}
    assert "integration" in judge(service_copy)["QA-2"].summary


def test_invalid_pyproject_is_unknown_not_a_crash(service_copy: Path) -> None:
    with (service_copy / "pyproject.toml").open("a", encoding="utf-8") as file:
        file.write("\n[[[ not toml\n")
    found = not_passing(service_copy)
    assert found["QA-1"] is Status.UNKNOWN
    assert found["QA-4"] is Status.UNKNOWN
    assert found.get("QA-3", Status.UNKNOWN) is Status.UNKNOWN
    # Every standard whose settings live in pyproject.toml is unknown, none is failed.
    assert set(found) <= {"QA-1", "QA-3", "QA-4", "ARCH-2", "SEC-6"}
    assert set(found.values()) == {Status.UNKNOWN}
    assert any("invalid TOML" in (e.note or "") for e in judge(service_copy)["QA-1"].evidence)


def test_non_ascii_file_names_are_read(service_copy: Path) -> None:
    (service_copy / "tests" / "unit" / "test_größe.py").write_text(
        "def test_größe() -> None:\n    assert 'ß'.upper() == 'SS'\n", encoding="utf-8"
    )
    (service_copy / "docs" / "adr" / "0020-entscheidung-über-größen.md").write_text(
        "# 20. Größen in Bytes\n\n- Status: accepted\n\n## Decision\n\nBytes.\n", encoding="utf-8"
    )
    (service_copy / "docs" / "notizen-ü.md").write_text("# Notizen\n", encoding="utf-8")
    assert not_passing(service_copy) == {}


# -- repositories that are not svcforge projects -----------------------------------------


def test_empty_directory_fails_cleanly(tmp_path: Path) -> None:
    verdicts = judge(tmp_path)
    assert {v.status for v in verdicts.values()} == {Status.FAIL}
    assert all(v.remediation for v in verdicts.values())


def test_non_python_repository(tmp_path: Path) -> None:
    files = {
        "go.mod": "module example.com/svc\n\ngo 1.22\n",
        "main.go": "package main\n\nfunc main() {}\n",
        "README.md": "# svc\n\n```sh\ngo mod download\ngo test ./...\n```\n",
        "CONTRIBUTING.md": "# Contributing\n\nFork it.\nBranch.\nOpen a pull request.\n",
        "CHANGELOG.md": "# Changelog\n\n## 1.0.0\n\n- First release.\n",
        "load/script.js": "import http from 'k6/http';\n\nexport default function () {\n"
        "  http.get('http://localhost:8080/');\n}\n",
    }
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    verdicts = judge(tmp_path)
    for standard_id in ("QA-1", "QA-2", "QA-4"):
        assert verdicts[standard_id].status is Status.FAIL
        assert "No Python project" in verdicts[standard_id].summary
    assert verdicts["QA-3"].status is Status.PASS  # the k6 script
    assert verdicts["DOC-2"].status is Status.PASS
    assert verdicts["DOC-4"].status is Status.PASS
    assert verdicts["DOC-1"].status is Status.FAIL


# -- other layouts of the same standards ---------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    return root


_DEPENDENCIES = (
    '[project]\nname = "svc"\ndependencies = ["asyncpg"]\n'
    '[dependency-groups]\ndev = ["pytest-cov", "locust"]\n'
)


def test_gate_in_coveragerc_wins_over_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": _DEPENDENCIES
            + "[tool.coverage.report]\nfail_under = 95\n[tool.coverage.run]\nbranch = true\n",
            ".coveragerc": "[run]\nbranch = True\n[report]\nfail_under = 70\n",
        },
    )
    verdict = judge(tmp_path)["QA-1"]
    assert verdict.status is Status.FAIL
    assert (verdict.evidence[0].path, verdict.evidence[0].line) == (".coveragerc", 4)


def test_gate_in_pytest_addopts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": _DEPENDENCIES
            + '[tool.pytest.ini_options]\naddopts = "--cov=svc --cov-branch --cov-fail-under=85"\n',
        },
    )
    verdict = judge(tmp_path)["QA-1"]
    assert verdict.status is Status.PASS
    assert "85%" in verdict.summary


def test_mypy_ini_is_read_before_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": _DEPENDENCIES
            + '[tool.ruff.lint]\nselect = ["E", "F"]\n[tool.ruff.format]\n'
            + "[tool.mypy]\nstrict = true\n",
            "mypy.ini": "[mypy]\nwarn_unused_ignores = True\n",
            ".pre-commit-config.yaml": "repos:\n  - repo: local\n    hooks:\n"
            "      - id: ruff\n        name: ruff\n        entry: ruff check\n"
            "        language: system\n",
        },
    )
    verdict = judge(tmp_path)["QA-4"]
    assert verdict.status is Status.FAIL
    assert verdict.summary == "Code quality tooling is incomplete: the type checker is not strict."
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n", encoding="utf-8")
    assert judge(tmp_path)["QA-4"].status is Status.PASS


_TIERS = {
    "pyproject.toml": _DEPENDENCIES,
    "tests/unit/test_rules.py": "def test_rule() -> None:\n    assert 1 + 1 == 2\n",
    "tests/api/test_items.py": "from fastapi.testclient import TestClient\n\n\n"
    "def test_list(client: TestClient) -> None:\n"
    "    assert client.get('/items').status_code == 200\n",
    "tests/integration/test_repository.py": "from sqlalchemy import create_engine, text\n\n\n"
    "def test_select() -> None:\n"
    "    engine = create_engine('postgresql+psycopg://localhost/test')\n"
    "    with engine.connect() as connection:\n"
    "        assert connection.execute(text('select 1')).scalar() == 1\n",
}


def test_three_tiers_in_a_hand_written_layout(tmp_path: Path) -> None:
    assert judge(write(tmp_path, _TIERS))["QA-2"].status is Status.PASS


def test_integration_tests_on_sqlite_are_not_the_real_database(tmp_path: Path) -> None:
    write(tmp_path, _TIERS)
    edit(tmp_path / "tests/integration/test_repository.py", "postgresql+psycopg", "sqlite")
    verdict = judge(tmp_path)["QA-2"]
    assert verdict.status is Status.FAIL
    assert "SQLite" in verdict.summary


def test_api_folder_without_http_calls_is_not_an_api_tier(tmp_path: Path) -> None:
    write(tmp_path, _TIERS)
    (tmp_path / "tests/api/test_items.py").write_text(
        "def test_items() -> None:\n    assert [] == []\n", encoding="utf-8"
    )
    verdict = judge(tmp_path)["QA-2"]
    assert verdict.status is Status.FAIL
    assert "no API tests" in verdict.summary


def test_locust_scenario_without_locust_installed_fails(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "load/locustfile.py": "from locust import HttpUser, task\n\n\n"
            "class Reader(HttpUser):\n    @task\n    def read(self) -> None:\n"
            "        self.client.get('/')\n",
        },
    )
    verdict = judge(tmp_path)["QA-3"]
    assert verdict.status is Status.FAIL
    assert (verdict.evidence[0].path, verdict.evidence[0].line) == ("load/locustfile.py", 4)
    edit(tmp_path / "pyproject.toml", 'name = "svc"', 'name = "svc"\ndependencies = ["locust"]')
    assert judge(tmp_path)["QA-3"].status is Status.PASS


def test_rst_documents_and_madr_front_matter(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "README.rst": "svc\n===\n\nQuick start::\n\n    pip install -e .[dev]\n    tox\n",
            "docs/decisions/0000-use-markdown-architectural-decision-records.md": "---\n"
            "status: accepted\n---\n# Use Markdown Architectural Decision Records\n\n"
            "## Decision Outcome\n\nMADR.\n",
            "docs/decisions/0001-use-litestar.md": "---\nstatus: proposed\n---\n"
            "# Use Litestar\n\n## Decision Outcome\n\nLitestar.\n",
            "HISTORY.rst": "History\n=======\n\n2.1.0 (2024-05-01)\n------------------\n\n* Fix.\n",
            "docs/CONTRIBUTING.rst": "Contributing\n============\n\n"
            "Run tox.\nOpen a PR.\nBe kind.\n",
        },
    )
    verdicts = judge(tmp_path)
    assert verdicts["DOC-1"].status is Status.PASS
    assert verdicts["DOC-2"].status is Status.PASS
    assert verdicts["DOC-4"].status is Status.PASS
