"""What a use case sees of the job queue: jobs it asks for, sent once its work commits.

A job sent before the commit could run before the data it needs is visible, or for data
that is then rolled back; a job sent after the commit can only be lost, and the publisher
logs and counts that (docs/adr/0017-background-jobs.md). The commit that counts is the
session's real one: `core/idempotency.py` turns the use case's own commit into a flush
and commits later, with the stored response.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

#: What a job's arguments may be: they travel as JSON.
JobArgument = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Job:
    """A job by name (as the worker registers it) with its keyword arguments."""

    name: str
    arguments: Mapping[str, JobArgument] = field(default_factory=dict)


class JobQueue(Protocol):
    """Where a use case leaves the jobs its work calls for."""

    def send_after_commit(self, job: Job) -> None:
        """Send `job` once the unit of work commits; never if it rolls back."""


class _NoJobs:
    """A JobQueue that sends nothing: for callers that want no jobs (development data)."""

    def send_after_commit(self, job: Job) -> None:
        """Drop the job."""


NO_JOBS: JobQueue = _NoJobs()


class JobsAfterCommit:
    """The JobQueue of one session: keeps each job until the session's transaction commits.

    Use it as `with JobsAfterCommit(session) as jobs:` around the unit of work, and send
    `jobs.committed` after the session block, when the connection is back in the pool.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session.sync_session
        self._pending: list[Job] = []
        #: The jobs whose transaction has committed, in the order they were asked for.
        self.committed: list[Job] = []

    def send_after_commit(self, job: Job) -> None:
        """Keep `job` until the transaction commits."""
        self._pending.append(job)

    def __enter__(self) -> Self:
        event.listen(self._session, "after_commit", self._on_commit)
        event.listen(self._session, "after_soft_rollback", self._on_rollback)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        event.remove(self._session, "after_commit", self._on_commit)
        event.remove(self._session, "after_soft_rollback", self._on_rollback)

    def _on_commit(self, session: Session) -> None:
        # Releasing a savepoint fires this too, while the transaction goes on.
        if session.in_nested_transaction():
            return
        self.committed.extend(self._pending)
        self._pending.clear()

    def _on_rollback(self, _session: Session, previous: SessionTransaction) -> None:
        if previous.parent is None:  # the whole transaction, not a savepoint
            self._pending.clear()
