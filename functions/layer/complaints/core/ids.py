"""Ticket ids and access codes."""

# Crockford's base32: no I, L, O or U, so ids read aloud and typed back without confusion.
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _random_chars(count: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(count))


def new_complaint_id(now: datetime) -> str:
    """`CMP-YYYYMMDD-XXXXXX`: the date makes it readable, 30 random bits make it unguessable in sequence."""
    return f"CMP-{now:%Y%m%d}-{_random_chars(6)}"


def new_access_code() -> str:
    """A 16-character secret (80 random bits), grouped for reading: `ABCD-EFGH-JKMN-PQRS`."""
    raw = _random_chars(16)
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _canonical_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def hash_access_code(code: str) -> str:
    """Only this hash is stored; the code itself is shown to the complainant once and emailed once."""
    # surrogatepass: whatever str arrives (a code is ASCII; a wrong one need not be) hashes, never raises.
    return hashlib.sha256(_canonical_code(code).encode("utf-8", "surrogatepass")).hexdigest()


# What a missing case's code is compared with, so that an unknown id costs what a wrong code does.
DUMMY_CODE_HASH = hashlib.sha256(b"no such case").hexdigest()


def access_code_matches(code: str | None, stored_hash: str) -> bool:
    if not code:
        return False
    return hmac.compare_digest(hash_access_code(code), stored_hash)


def customer_key(email: str) -> str:
    """Who a complaint is from, for the customer index: a hash of the address, never the address."""
    return fingerprint("customer", email.strip().lower())


def recipient_key(email: str) -> str:
    """Whom an email goes to, for per-address mail limits: a hash of the address, never the address."""
    return fingerprint("recipient", email.strip().lower())


def fingerprint(*parts: str) -> str:
    """A stable SHA-256 over parts (used for duplicate and idempotency keys; never reversible to PII)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


COMPLAINT_ID = re.compile(r"^CMP-\d{8}-[0-9A-HJKMNP-TV-Z]{6}$")
