"""Limits of the users feature, kept in one place for the tables, the API and the command.

Migration 0004 spells the column lengths out on purpose (a migration is a frozen record),
so changing a length here needs a new migration as well.
"""

USERNAME_MAX_LENGTH = 64
# Letters, digits and . _ @ + - (so an e-mail address fits), starting with a letter or digit.
# ASCII only: no look-alike characters, and lowercasing means the same in Python and SQL.
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$"
ROLE_MAX_LENGTH = 32

# A password that protects an account on its own should be a long passphrase (NIST SP
# 800-63B); the upper bound only keeps a request from making the hash read megabytes.
PASSWORD_MIN_LENGTH = 15
PASSWORD_MAX_LENGTH = 256

# Refresh tokens are 32 random bytes in URL-safe base64 (43 characters); longer input is
# not one of ours.
REFRESH_TOKEN_BYTES = 32
REFRESH_TOKEN_MAX_LENGTH = 64
