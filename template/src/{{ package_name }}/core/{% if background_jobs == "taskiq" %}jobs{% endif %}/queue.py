"""Jobs of a unit of work: kept until its transaction commits, dropped if it rolls back.

A job sent before the commit could run before the data it needs is visible, or for data
that is then rolled back; a job sent after the commit can only be lost, and the publisher
logs and counts that (docs/adr/0017-background-jobs.md). The commit that counts is the
session's real one: `core/idempotency.py` turns the use case's own commit into a flush
and commits later, with the stored response.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

#: What a job's arguments may be: they travel as JSON.
JobArgument = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Job:
    """A job by name (as the worker registers it) with its keyword arguments."""

    name: str
    arguments: Mapping[str, JobArgument] = field(default_factory=dict)


#: The jobs that the rows a flush inserts call for (a feature's `jobs_for_inserts`).
JobsForInserts = Callable[[Iterable[object]], Iterable[Job]]


class JobsAfterCommit:
    """The jobs of one session, each kept until the session's transaction commits.

    Use it as `with JobsAfterCommit(session, jobs_for_inserts=...) as jobs:` around the
    unit of work (JobsOfInserts in core/jobs/publisher.py does for every session), and send
    `jobs.committed` after the session block, when the connection is back in the pool.
    Jobs come from `send_after_commit`, and from `jobs_for_inserts` for the rows each
    flush inserts.
    """

    def __init__(self, session: AsyncSession, *, jobs_for_inserts: JobsForInserts) -> None:
        self._session = session.sync_session
        self._jobs_for_inserts = jobs_for_inserts
        self._pending: list[Job] = []
        #: The jobs whose transaction has committed, in the order they were asked for.
        self.committed: list[Job] = []

    def send_after_commit(self, job: Job) -> None:
        """Keep `job` until the transaction commits."""
        self._pending.append(job)

    def __enter__(self) -> Self:
        event.listen(self._session, "after_flush", self._on_flush)
        event.listen(self._session, "after_commit", self._on_commit)
        event.listen(self._session, "after_soft_rollback", self._on_rollback)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        event.remove(self._session, "after_flush", self._on_flush)
        event.remove(self._session, "after_commit", self._on_commit)
        event.remove(self._session, "after_soft_rollback", self._on_rollback)

    def _on_flush(self, session: Session, _flush: UOWTransaction) -> None:
        # After the flush, before its bookkeeping: `new` still holds the rows it inserted,
        # their keys assigned. A flush that fails (a taken name) gets here never.
        self._pending.extend(self._jobs_for_inserts(session.new))

    def _on_commit(self, session: Session) -> None:
        # Releasing a savepoint fires this too, while the transaction goes on.
        if session.in_nested_transaction():
            return
        self.committed.extend(self._pending)
        self._pending.clear()

    def _on_rollback(self, _session: Session, previous: SessionTransaction) -> None:
        if previous.parent is None:  # the whole transaction, not a savepoint
            self._pending.clear()
