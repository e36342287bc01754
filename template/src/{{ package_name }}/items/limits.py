"""Limits of an item's fields, kept in one place for the table and the API schemas.

The first migration spells the column lengths out on purpose (a migration is a frozen
record), so changing a length here needs a new migration as well.
"""

NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 1000
QUANTITY_MAX = 1_000_000

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# A page cursor holds a name escaped as JSON (at most 6 bytes a character), base64-encoded:
# about 900 characters at worst, so 1024 bounds it with room to spare (see ADR 0011).
MAX_CURSOR_LENGTH = 1024
# The trigram index that serves `name_contains` needs three characters to narrow anything
# down: a shorter filter that matches few rows would read the whole table (see ADR 0011).
NAME_FILTER_MIN_LENGTH = 3
