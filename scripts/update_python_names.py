"""Regenerate includes/python_names.jinja, the names copier.yml refuses as a package name.

Run it with every supported interpreter on PATH (e.g. PYENV_VERSION=3.11.7:3.12.1:3.13.0)
whenever the supported Python versions change:

    python scripts/update_python_names.py 3.11 3.12 3.13
"""

from __future__ import annotations

import json
import keyword
import subprocess
import sys
from pathlib import Path

# Importable names of the generated service's dependencies and its top-level folders:
# a package with one of these names would shadow them.
RESERVED_BY_SERVICE = [
    "alembic",
    "anyio",
    "asyncpg",
    "coverage",
    "docs",
    "fastapi",
    "httpx",
    "importlinter",
    "migrations",
    "mypy",
    "pydantic",
    "pydantic_settings",
    "pytest",
    "ruff",
    "scripts",
    "sqlalchemy",
    "src",
    "starlette",
    "structlog",
    "tests",
    "uvicorn",
]

HEADER = """{#- Names a generated package must not take: Python keywords, standard-library
    modules (3.11-3.13) and the generated service's own dependencies and folders.
    Imported by the validators in copier.yml; plain Jinja so that no extension
    (and so no --trust) is needed. Regenerate with scripts/update_python_names.py. -#}
"""


def stdlib_names(version: str) -> set[str]:
    """Top-level standard-library module names of one interpreter version."""
    out = subprocess.check_output(
        [
            f"python{version}",
            "-c",
            "import sys, json; print(json.dumps(sorted(sys.stdlib_module_names)))",
        ]
    )
    return {name for name in json.loads(out) if not name.startswith("_")}


def main(versions: list[str]) -> None:
    """Write the union of the standard-library names of `versions` into the include."""
    names: set[str] = set()
    for version in versions:
        names |= stdlib_names(version)
    target = Path(__file__).resolve().parent.parent / "includes" / "python_names.jinja"
    target.write_text(
        HEADER
        + "{%- set keywords = "
        + json.dumps(keyword.kwlist)
        + " -%}\n"
        + "{%- set stdlib_modules = "
        + json.dumps(sorted(names))
        + " -%}\n"
        + "{%- set reserved_by_service = "
        + json.dumps(sorted(RESERVED_BY_SERVICE))
        + " -%}\n",
        encoding="utf-8",
    )
    print(f"wrote {target} ({len(names)} stdlib modules)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["3.11", "3.12", "3.13"])
