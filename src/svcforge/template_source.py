"""Decide which copy of the svcforge template ``svcforge new`` renders."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from svcforge.errors import TemplateError

#: Environment variable that overrides the template location (path or git URL).
TEMPLATE_ENV = "SVCFORGE_TEMPLATE"
#: Optional git ref (tag, branch, commit) to use together with ``SVCFORGE_TEMPLATE``.
TEMPLATE_REF_ENV = "SVCFORGE_TEMPLATE_REF"

# Forms Copier accepts as remote git locations (see copier's vcs.get_repo).
_URL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|gh:|gl:)", re.IGNORECASE)


class SourceKind(StrEnum):
    """Where the template was found."""

    ENV = "env"
    CHECKOUT = "checkout"
    BUNDLED = "bundled"


@dataclass(frozen=True)
class TemplateSource:
    """A template location Copier can render from.

    ``location`` is an absolute path or a URL, never a relative path: Copier
    stores it verbatim as ``_src_path`` and a relative one breaks ``copier update``.
    """

    location: str
    vcs_ref: str | None
    kind: SourceKind
    #: Set when generation works but later ``copier update`` will not.
    warning: str | None = None

    @property
    def is_url(self) -> bool:
        """Whether ``location`` is a remote git URL rather than a local path."""
        return is_url(self.location)


def is_url(value: str) -> bool:
    """Return whether ``value`` looks like a git URL Copier would clone."""
    return bool(_URL_RE.match(value))


def _checkout_root() -> Path | None:
    """Return the repository root when svcforge runs from a git checkout."""
    root = Path(__file__).resolve().parents[2]
    # .git may be a file (worktrees, submodules), hence exists() not is_dir().
    if (root / "copier.yml").is_file() and (root / ".git").exists():
        return root
    return None


def _bundled_root() -> Path:
    """Return the template directory shipped inside the wheel."""
    return Path(__file__).resolve().parent / "_template"


def resolve_template_source(env: dict[str, str] | None = None) -> TemplateSource:
    """Find the template to render.

    Order: ``$SVCFORGE_TEMPLATE`` (path or URL), then the git checkout this code
    runs from (rendered at ``HEAD`` so template and CLI code match), then the
    copy bundled in the wheel.
    """
    environ = dict(os.environ) if env is None else env
    override = environ.get(TEMPLATE_ENV, "").strip()
    ref = environ.get(TEMPLATE_REF_ENV, "").strip() or None
    if override:
        if is_url(override):
            return TemplateSource(override, ref, SourceKind.ENV)
        path = Path(override).expanduser().absolute()
        if not path.is_dir():
            raise TemplateError(
                f"{TEMPLATE_ENV} points to {path}, which is not a directory.",
                hint=f"Set {TEMPLATE_ENV} to a clone of the svcforge repository or a git URL.",
            )
        warning = None
        if not (path / ".git").exists():
            warning = _not_git_warning(path)
        return TemplateSource(str(path), ref, SourceKind.ENV, warning)

    checkout = _checkout_root()
    if checkout is not None:
        # HEAD, not the newest tag: the template must match the code being run.
        return TemplateSource(str(checkout), "HEAD", SourceKind.CHECKOUT)

    bundled = _bundled_root()
    if not (bundled / "copier.yml").is_file():
        raise TemplateError(
            f"The bundled template is missing ({bundled}).",
            hint=f"Reinstall svcforge or set {TEMPLATE_ENV} to a clone of the svcforge repository.",
        )
    return TemplateSource(str(bundled), None, SourceKind.BUNDLED, _not_git_warning(bundled))


def _not_git_warning(path: Path) -> str:
    return (
        f"The template at {path} is not a git repository, so projects generated from it "
        "cannot be updated later with `copier update`. To get updatable projects, point "
        f"{TEMPLATE_ENV} at a git clone or URL of the svcforge template."
    )
