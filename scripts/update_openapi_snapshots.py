"""Regenerate the OpenAPI documents that generated projects commit as docs/openapi.json.

The document depends on the answers that change the API (see `SNAPSHOT_QUESTIONS`): one
snapshot per combination of their choices lives in includes/openapi/, and
template/docs/openapi.json.jinja includes the one a project's answers select. This script
renders each combination from the working tree, installs it, runs its own
`scripts/export_openapi.py`, and stores the result with the project's name and
description turned back into template variables.

Usage: uv run python scripts/update_openapi_snapshots.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import copier
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_DIR = REPO_ROOT / "includes" / "openapi"
#: The questions whose answers change the OpenAPI document, in the snapshot name's order.
SNAPSHOT_QUESTIONS = ("auth", "rate_limiting")
PROJECT_NAME = "Snapshot Service"
DESCRIPTION = "Snapshot description."
HEADER = '{%- from "includes/escape.jinja" import quoted -%}\n'


def _choices(question: dict[str, object]) -> list[object]:
    if question.get("type") == "bool":
        return [True, False]
    choices = question["choices"]
    return list(choices.values()) if isinstance(choices, dict) else list(choices)


def combinations() -> list[dict[str, object]]:
    """Every combination of the snapshot questions' choices, as declared in copier.yml."""
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    axes = [_choices(questions[name]) for name in SNAPSHOT_QUESTIONS]
    return [
        dict(zip(SNAPSHOT_QUESTIONS, values, strict=True)) for values in itertools.product(*axes)
    ]


def snapshot_name(answers: dict[str, object]) -> str:
    """Return the file stem of the snapshot for `answers` (as docs/openapi.json.jinja has it)."""
    limited = "rate-limited" if answers["rate_limiting"] else "unlimited"
    return f"{answers['auth']}-{limited}"


def _templated(document: str) -> str:
    info = json.loads(document)["info"]
    if (info["title"], info["description"]) != (PROJECT_NAME, DESCRIPTION):
        msg = f"unexpected info in the exported document: {info}"
        raise SystemExit(msg)
    document = document.replace(
        f'"title": {json.dumps(PROJECT_NAME)}', '"title": {{ quoted(project_name) }}', 1
    )
    document = document.replace(
        f'"description": {json.dumps(DESCRIPTION)}', '"description": {{ quoted(description) }}', 1
    )
    return HEADER + document


def export(answers: dict[str, object], workdir: Path) -> str:
    """Render `answers`, export the project's document, return it as a snapshot."""
    project = workdir / snapshot_name(answers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DirtyLocalWarning: the working tree is the point
        copier.run_copy(
            str(REPO_ROOT),
            str(project),
            data={"project_name": PROJECT_NAME, "description": DESCRIPTION, **answers},
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    # uv finds pyenv's shims, which fail for versions pyenv does not expose: expose all.
    versions = Path(env.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if versions.is_dir():
        env["PYENV_VERSION"] = ":".join(sorted(p.name for p in versions.iterdir()))
    subprocess.run(["uv", "sync", "--quiet"], cwd=project, env=env, check=True)
    subprocess.run(
        ["uv", "run", "--frozen", "python", "scripts/export_openapi.py"],
        cwd=project,
        env=env,
        check=True,
    )
    return _templated((project / "docs" / "openapi.json").read_text(encoding="utf-8"))


def main() -> int:
    """Regenerate every snapshot (or the ones named with --only)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="snapshot names to refresh")
    wanted = parser.parse_args().only
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="svcforge-openapi-") as workdir:
        for answers in combinations():
            name = snapshot_name(answers)
            if wanted and name not in wanted:
                continue
            target = SNAPSHOT_DIR / f"{name}.json.jinja"
            if not target.exists():
                # Rendering includes the snapshot: a new combination starts from an empty one.
                target.write_text(HEADER + "{}\n", encoding="utf-8")
            target.write_text(export(answers, Path(workdir)), encoding="utf-8")
            print(f"wrote {target.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
