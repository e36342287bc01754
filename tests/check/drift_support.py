"""A template with three releases and projects generated from it, for the drift tests.

`make_template_repo` tags the previous release and the candidate (``v0.2.0`` here);
`drift_template` adds ``v0.3.0``, which changes two files (CONTRIBUTING.md and
.dockerignore) and adds three: a file with a non-ASCII name, a binary one, and one the
template keeps on purpose (``_skip_if_exists``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.releases import TemplateRepo, generate_at, make_template_repo

NEWEST = "v0.3.0"
#: Template-managed files of the newest release that the tests edit.
NON_ASCII = "docs/café notes.md"
BINARY = "docs/logo.bin"
KEPT = "docs/local-notes.md"
BINARY_DATA = bytes(range(256)) * 4


def drift_template(dest: Path) -> TemplateRepo:
    """The svcforge template with a third release, ``v0.3.0``."""
    repo = make_template_repo(dest)
    repo.edit("template/CONTRIBUTING.md", lambda text: text + "\n9. A rule of v0.3.0.\n")
    repo.edit("template/.dockerignore.jinja", lambda text: text + "# added in v0.3.0\n")
    repo.edit(
        "copier.yml",
        lambda text: text.replace(
            "_skip_if_exists:\n  - .env\n", f"_skip_if_exists:\n  - .env\n  - {KEPT}\n", 1
        ),
    )
    repo.add(f"template/{NON_ASCII}", "# Café notes\n\nWritten by the template.\n")
    repo.add(f"template/{KEPT}", "Notes the team keeps for itself.\n")
    (repo.path / "template" / BINARY).write_bytes(BINARY_DATA)
    repo.tag(NEWEST)
    return repo


def generate(repo: TemplateRepo, ref: str, parent: Path, name: str = "example-service") -> Path:
    """A committed project generated at ``ref`` in ``parent/name``."""
    parent.mkdir(parents=True, exist_ok=True)
    return generate_at(repo, ref, parent / name)


def copy_of(project: Path, parent: Path) -> Path:
    """A private copy of ``project`` under the same folder name (so renders are shared)."""
    return Path(shutil.copytree(project, parent / project.name, symlinks=True))


def tree_state(root: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path below ``root``: mode, modification time (ns) and bytes (files only)."""
    found: dict[str, tuple[int, int, bytes | None]] = {}
    for folder, _, names in os.walk(root):
        for name in ["", *names]:
            path = Path(folder, name) if name else Path(folder)
            info = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
            found[str(path.relative_to(root))] = (info.st_mode, info.st_mtime_ns, data)
    return found
