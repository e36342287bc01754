"""The format of an API key, and the limits of a key's fields (ADR 0012).

A key reads `<id>.<secret>`: 16 hex digits of id, a dot, and 43 URL-safe base64
characters of secret (32 random bytes). The id is not secret: it names the key in
listings and logs and finds its row. Only the SHA-256 hash of the secret is stored, so
the database never holds a key anyone could use.
"""

import hashlib
import math
import re
import secrets
from typing import NamedTuple

KEY_ID_BYTES = 8
KEY_ID_LENGTH = 2 * KEY_ID_BYTES  # hex: two digits a byte
SECRET_BYTES = 32
# Unpadded base64 carries 6 bits a character.
SECRET_LENGTH = math.ceil(SECRET_BYTES * 8 / 6)
SECRET_HASH_BYTES = hashlib.sha256().digest_size
OWNER_MAX_LENGTH = 100
ROLE_MAX_LENGTH = 32

_SEPARATOR = "."
_KEY_FORMAT = re.compile(
    rf"(?P<key_id>[0-9a-f]{{{KEY_ID_LENGTH}}}){re.escape(_SEPARATOR)}"
    rf"(?P<secret>[A-Za-z0-9_-]{{{SECRET_LENGTH}}})"
)


class KeyParts(NamedTuple):
    """An API key split into its public id and its secret."""

    key_id: str
    secret: str

    @property
    def text(self) -> str:
        """The key as clients send it."""
        return f"{self.key_id}{_SEPARATOR}{self.secret}"


def generate_key() -> KeyParts:
    """A new key: a random id and a random secret from the OS's CSPRNG."""
    return KeyParts(
        key_id=secrets.token_hex(KEY_ID_BYTES), secret=secrets.token_urlsafe(SECRET_BYTES)
    )


def parse_key(text: str) -> KeyParts | None:
    """The parts of `text`, or None when it is not shaped like a key this service issues."""
    match = _KEY_FORMAT.fullmatch(text)
    if match is None:
        return None
    return KeyParts(key_id=match["key_id"], secret=match["secret"])


def hash_secret(secret: str) -> bytes:
    """The SHA-256 digest of a secret, as stored.

    A plain fast hash is enough here, unlike for passwords: a secret is 256 random bits,
    so no guessing or precomputed table can find one from its hash (ADR 0012).
    """
    return hashlib.sha256(secret.encode("ascii")).digest()
