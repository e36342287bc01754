"""What an update did (or, for a dry run, would do), and what the team does next."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from svcforge.update.merging import KeptFile, Merge, MissedChange

#: What `git add -A && git commit` would be for an update: new files included.
COMMIT_COMMAND = "git add -A && git commit -m {message}"


@dataclass
class UpdateReport:
    """The outcome of ``svcforge update`` (applied) or ``--dry-run`` (predicted).

    The dry run and the update compute it with the same merge, so a prediction lists
    exactly the conflicts and changes that the update then makes.
    """

    dry_run: bool
    previous: str | None
    #: The template version after the update (``_commit``).
    current: str | None
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    kept: list[KeptFile] = field(default_factory=list)
    missed: list[MissedChange] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    changed_by_template: list[str] = field(default_factory=list)
    customised: list[str] = field(default_factory=list)
    relocked: bool = False
    lock_needed: bool = False
    source_recorded: str | None = None
    #: Uncommitted files (dry run): the prediction is for the last commit.
    uncommitted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Signals that arrived while the update was written; it was completed first.
    deferred_signals: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing needs resolving by hand."""
        return not self.conflicts and not self.rejects

    @property
    def to_resolve(self) -> list[str]:
        """The conflicts and rejects, each with why when the reason is not a marker."""
        kept = {kept.path for kept in self.kept}
        return [
            f"{path} (you changed it; the new version no longer has it)" if path in kept else path
            for path in self.conflicts + self.rejects
        ]

    @property
    def next_steps(self) -> list[str]:
        """What to do after this update, in order."""
        if not self.changed:
            return []
        steps = []
        if self.dry_run:
            return ["Run the same command without --dry-run to apply it."]
        if self.conflicts:
            steps.append(
                "Resolve the conflict markers in the files listed; for a file the new version "
                "no longer has, keep it with `git add <file>` or drop it with `git rm <file>`."
            )
        if self.rejects:
            steps.append("Apply or delete the hunks in the .rej files listed.")
        if self.lock_needed:
            steps.append(
                "pyproject.toml changed: run `uv lock` "
                + ("once its conflicts are resolved " if "pyproject.toml" in self.conflicts else "")
                + "so that uv.lock matches it."
            )
        message = shlex.quote(f"Update svcforge template to {self.current}")
        steps.append(
            "Review with `git status` and `git diff`, then commit everything, new files "
            f"included: {COMMIT_COMMAND.format(message=message)}"
        )
        return steps

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--json``."""
        return {
            "dry_run": self.dry_run,
            "previous": self.previous,
            "current": self.current,
            "changed": self.changed,
            "added": self.added,
            "deleted": self.deleted,
            "conflicts": self.conflicts,
            "rejects": self.rejects,
            "kept": [{"path": k.path, "counterpart": k.counterpart} for k in self.kept],
            "missed": [
                {"path": m.path, "added": m.added, "moved_to": m.moved_to, "diff": m.diff}
                for m in self.missed
            ],
            "leftovers": self.leftovers,
            "changed_by_template": self.changed_by_template,
            "customised": self.customised,
            "relocked": self.relocked,
            "lock_needed": self.lock_needed,
            "source_recorded": self.source_recorded,
            "uncommitted": self.uncommitted,
            "warnings": self.warnings,
            "deferred_signals": self.deferred_signals,
            "next_steps": self.next_steps,
        }


def _describe_missed(change: MissedChange) -> str:
    if change.added:
        return (
            f"The new version adds {change.path} in a folder your project no longer has; "
            "it was created there: move it where the code lives now."
        )
    where = f" (moved to {change.moved_to}?)" if change.moved_to else ""
    return (
        f"The template changed {change.path}, which your project no longer has{where}: "
        "the change had no file to land in; apply it by hand (diff shown)."
    )


def report_merge(merge: Merge, *, dry_run: bool, source_recorded: str | None) -> UpdateReport:
    """Turn a computed merge into the report shown to the team."""
    warnings = [_describe_missed(change) for change in merge.missed]
    if merge.leftovers:
        warnings.append(
            "Files of yours stay in folders the new version no longer has: "
            + ", ".join(merge.leftovers)
        )
    warnings += merge.warnings
    return UpdateReport(
        dry_run=dry_run,
        previous=merge.previous,
        current=merge.current,
        changed=sorted(merge.changes),
        added=merge.added,
        deleted=merge.deleted,
        conflicts=merge.conflicts,
        rejects=merge.rejects,
        kept=merge.kept,
        missed=merge.missed,
        leftovers=merge.leftovers,
        changed_by_template=merge.changed_by_template,
        customised=merge.customised,
        relocked=merge.relocked,
        lock_needed=merge.lock_needed,
        source_recorded=source_recorded,
        warnings=warnings,
    )
