"""PostgreSQL through ``psql``: the benchmark needs no database driver of its own."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from svcbench.procs import StepError, run

PSQL_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Postgres:
    """Connection parameters of the server the generated service uses."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"

    def psql(self, *statements: str, database: str = "postgres") -> str:
        """Run statements (each its own transaction) and return unaligned output."""
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        argv += ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database]
        for statement in statements:
            # One -c per statement: VACUUM refuses to run inside a multi-statement query.
            argv += ["-c", statement]
        return run(argv, timeout=PSQL_TIMEOUT_SECONDS)

    def server_version(self) -> str:
        """Version string of the server, e.g. ``15.20 (Debian 15.20-0+deb12u1)``."""
        return self.psql("SHOW server_version").strip()

    @contextlib.contextmanager
    def temporary_database(self, prefix: str) -> Iterator[str]:
        """Create an empty database and drop it afterwards, even after a failure."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.psql(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            try:
                # FORCE ends connections a crashed server may have left open.
                self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except StepError as error:
                print(f"warning: could not drop database {name}: {error}")


def insert_items(postgres: Postgres, database: str, count: int) -> None:
    """Insert ``count`` items in one statement (1M rows: about 16 s here, indexes included).

    The rows look like the ones ``python -m <package>.seed`` creates, but that script
    goes through the service layer one transaction per item (about 50 s for 10k rows
    here), so the benchmark inserts them in bulk. ``created_at`` is spread over time so
    the default sort (newest first) orders distinct values, as in real data: item n was
    created n seconds ago, so names and creation times run in step (item 1 is the newest).
    """
    digits = max(5, len(str(count)))
    # Only ints are interpolated, never user input.
    insert = (
        "INSERT INTO items (id, name, description, quantity, created_at, updated_at) "  # noqa: S608
        f"SELECT gen_random_uuid(), format('Example item %s', lpad(n::text, {digits}, '0')), "
        "'Seeded example number ' || n, n % 50, "
        "now() - make_interval(secs => n), now() - make_interval(secs => n) "
        f"FROM generate_series(1, {int(count)}) AS n"
    )
    # VACUUM sets the visibility map (index-only scans) and ANALYZE the planner's statistics,
    # as autovacuum would on a table that has been in use for a while.
    postgres.psql(insert, "VACUUM ANALYZE items", database=database)


def seed_items(postgres: Postgres, database: str, count: int) -> list[str]:
    """Insert ``count`` items (see ``insert_items``) and return their ids."""
    insert_items(postgres, database, count)
    ids = postgres.psql("SELECT id FROM items ORDER BY id", database=database).split()
    if len(ids) != count:
        raise StepError(f"seeded {len(ids)} items instead of {count}")
    return ids


def delete_posted_items(postgres: Postgres, database: str, name_prefix: str) -> int:
    """Remove the rows a POST run created, so every run lists over the same rows."""
    deleted = postgres.psql(
        # The prefix is the benchmark's own constant, never user input.
        f"WITH gone AS (DELETE FROM items WHERE name LIKE '{name_prefix}%' RETURNING 1) "  # noqa: S608
        "SELECT count(*) FROM gone",
        # Dead index entries would slow the list pages of later runs.
        "VACUUM ANALYZE items",
        database=database,
    )
    return int(deleted.split()[0])
