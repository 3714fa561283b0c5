"""Short, human-typable identifiers (Crockford base32: no I, L, O or U to misread)."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_id(length: int) -> str:
    """Return a random id of ``length`` Crockford base32 characters (upper case)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_approval_id() -> str:
    """Return a five-character approval id such as ``K7M2Q`` (33 million values)."""
    return new_id(5)


def new_run_id() -> str:
    """Return an eight-character run id such as ``r3fk9q2xm`` (lower case, ``r`` first)."""
    return "r" + new_id(8).lower()


def normalize_approval_id(raw: str) -> str | None:
    """Normalise what a person typed into an approval id, or None if it cannot be one."""
    text = raw.strip().upper().translate(_READ_AS)
    if not 1 <= len(text) <= 12 or any(c not in ALPHABET for c in text):
        return None
    return text


def normalize_run_id(raw: str) -> str | None:
    """Normalise what a person typed into a run id, or None if it cannot be one."""
    text = raw.strip().lower()
    body = text[1:] if text.startswith("r") else text
    body = body.upper().translate(_READ_AS)
    if not 1 <= len(body) <= 31 or any(c not in ALPHABET for c in body):
        return None
    return "r" + body.lower()
