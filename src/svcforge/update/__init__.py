"""Bring a generated project to another template version (the work behind ``svcforge update``).

Copier's 3-way update is the engine; this package adds what it lacks. Modules:

- `source`: the template source, the target version, ``--check`` and refusals
  (downgrades, unknown refs, a project without a recorded version);
- `rendering` and `merging`: the whole update computed in a throw-away clone (renders,
  Copier's merge, kept deletions, missed changes, rejects, re-lock);
- `worker`: Copier's renders and merge, reusing svcforge's renders instead of repeating them;
- `applying`: the result written into the project in one all-or-nothing step;
- `files` and `gitio`: working-tree snapshots, atomic writes, binary git plumbing;
- `reporting`: what changed, what conflicts, what to do next;
- `workflow`: the steps in order, for the dry run and for the update; an interrupt
  before the apply step changes nothing, one during it waits until it is complete.
"""

from svcforge.errors import UPDATE_AVAILABLE_EXIT_CODE
from svcforge.update.reporting import UpdateReport
from svcforge.update.source import (
    Target,
    UpdateCheck,
    UpdateSource,
    check_for_update,
    refuse_downgrade,
    resolve_source,
    resolve_target,
)
from svcforge.update.workflow import (
    apply_update,
    interrupts_change_nothing,
    plan_update,
    require_clean_tree,
)

__all__ = [
    "UPDATE_AVAILABLE_EXIT_CODE",
    "Target",
    "UpdateCheck",
    "UpdateReport",
    "UpdateSource",
    "apply_update",
    "check_for_update",
    "interrupts_change_nothing",
    "plan_update",
    "refuse_downgrade",
    "require_clean_tree",
    "resolve_source",
    "resolve_target",
]
