"""Limits of an item's fields, kept in one place for the table and the API schemas.

The first migration spells the column lengths out on purpose (a migration is a frozen
record), so changing a length here needs a new migration as well.
"""

NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 1000
QUANTITY_MAX = 1_000_000

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Deep offsets make PostgreSQL read and discard every skipped row (API-5).
MAX_OFFSET = 100_000
