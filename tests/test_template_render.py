"""Rendering the template (pytest-copie and plain Copier): layout, names, no leftovers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

EXPECTED_FILES = [
    ".copier-answers.yml",
    ".dockerignore",
    ".env.example",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    "CHANGELOG.md",
    "CONTRIBUTING.md",
    "Dockerfile",
    "Makefile",
    "README.md",
    "alembic.ini",
    "compose.yaml",
    "docs/adr/0001-record-architecture-decisions.md",
    "docs/openapi.json",
    "migrations/env.py",
    "migrations/script.py.mako",
    "migrations/versions/0001_create_items.py",
    "pyproject.toml",
    "scripts/export_openapi.py",
    "src/{pkg}/__init__.py",
    "src/{pkg}/main.py",
    "src/{pkg}/seed.py",
    "src/{pkg}/core/settings.py",
    "src/{pkg}/core/database.py",
    "src/{pkg}/core/errors.py",
    "src/{pkg}/core/problems.py",
    "src/{pkg}/core/logs.py",
    "src/{pkg}/core/middleware.py",
    "src/{pkg}/health/router.py",
    "src/{pkg}/health/service.py",
    *(
        f"src/{{pkg}}/items/{layer}.py"
        for layer in ("router", "service", "repository", "schemas", "models", "exceptions")
    ),
    "tests/conftest.py",
    "tests/unit/test_items_service.py",
    "tests/integration/test_items_repository.py",
    "tests/integration/test_migrations.py",
    "tests/api/test_items_api.py",
]


def _copy(copie, **answers: str) -> Path:
    # pytest-copie renders into copie000, ...: name the project as the layout expects.
    answers = {"project_name": "Example Service", **answers}
    result = copie.copy(extra_answers=answers, template_dir=REPO_ROOT)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return Path(result.project_dir)


def _all_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_default_layout_is_complete(copie):
    root = _copy(copie)

    missing = [
        name.format(pkg="example_service")
        for name in EXPECTED_FILES
        if not (root / name.format(pkg="example_service")).is_file()
    ]
    assert missing == []
    adrs = sorted(path.name for path in (root / "docs" / "adr").iterdir())
    assert adrs[0] == "0001-record-architecture-decisions.md"
    assert len(adrs) >= 8


def test_no_template_syntax_or_suffix_survives(copie):
    root = _copy(copie)

    leftovers = []
    for path in _all_files(root):
        text = re.sub(r"\$\{\{[^}]*\}\}", "", path.read_text(encoding="utf-8"))
        if "{{" in text or "{%" in text or "{#" in text or path.suffix == ".jinja":
            leftovers.append(str(path.relative_to(root)))
    assert leftovers == []


def test_names_follow_the_answers(copie):
    root = _copy(copie, project_name="Billing API", package_name="billing", python_version="3.12")

    assert (root / "src" / "billing" / "items" / "service.py").is_file()
    assert not (root / "src" / "billing_api").exists()
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "billing-api"' in pyproject
    assert 'root_package = "billing"' in pyproject
    assert 'containers = ["billing.items"]' in pyproject
    assert "BILLING_DB_PASSWORD=" in (root / ".env.example").read_text()
    settings = (root / "src" / "billing" / "core" / "settings.py").read_text()
    assert 'env_prefix="BILLING_"' in settings
    assert '"billing.main:create_app"' in (root / "Dockerfile").read_text()
    assert "python:3.12-slim" in (root / "Dockerfile").read_text()
    assert (root / "README.md").read_text().startswith("# Billing API\n")
    assert '"title": "Billing API"' in (root / "docs" / "openapi.json").read_text()
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "billing-api"
    assert answers["package_name"] == "billing"


def test_answers_file_records_an_absolute_source_and_commit(copie):
    root = _copy(copie)

    answers = yaml.safe_load((root / ".copier-answers.yml").read_text())
    assert Path(answers["_src_path"]).is_absolute()
    assert answers["_commit"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("package_name=json", "standard-library module"),
        ("package_name=import", "Python keyword"),
        ("package_name=sqlalchemy", "is an import name of SQLAlchemy"),
        ("project_slug=My_Service", "may contain only lowercase ASCII letters"),
        ("author_email=team.example.com", 'must contain exactly one "@"'),
        ("description=say\nhi", "U+000A LINE FEED"),
    ],
)
def test_validators_explain_what_is_wrong(copie, answer: str, message: str):
    key, value = answer.split("=", 1)
    result = copie.copy(extra_answers={key: value}, template_dir=REPO_ROOT)
    assert result.exit_code != 0
    assert message in str(result.exception)


def test_plain_copier_copy_works_without_trust(tmp_path: Path):
    # The folder names the project: "billing-api" -> Billing Api / billing_api.
    dest = tmp_path / "billing-api"
    proc = subprocess.run(
        ["copier", "copy", "--defaults", "--vcs-ref", "HEAD", str(REPO_ROOT), str(dest)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (dest / "src" / "billing_api" / "main.py").is_file()
    assert (
        yaml.safe_load((dest / ".copier-answers.yml").read_text())["project_name"] == "Billing Api"
    )
    assert "--trust" not in proc.stderr
