"""Signed reply addresses: `complaints+<token>@domain`, one per case, so that a reply reaches its case by
the address it was sent to, never by a ticket number in the subject (which anyone can type).

The token is the case's ticket id in compact form and an HMAC-SHA256 over it (80 bits, truncated), both
base32 in lower case: mail systems may fold the local part's case, and a local part holds at most 64
characters (`complaints+` and the 32-character token fit). A token that does not verify names no case."""

from __future__ import annotations

import base64
import hashlib
import hmac

from complaints.core.ids import COMPLAINT_ID

MAC_BYTES = 10
_PREFIX = "CMP-"


def _mac(key: bytes, compact_id: str) -> bytes:
    return hmac.new(key, b"reply-address\x1f" + compact_id.encode(), hashlib.sha256).digest()[:MAC_BYTES]


def _compact(complaint_id: str) -> str:
    """CMP-20261201-ABCDEF -> 20261201abcdef (the prefix and the dash carry nothing)."""
    return complaint_id.removeprefix(_PREFIX).replace("-", "").lower()


def token(complaint_id: str, key: bytes) -> str:
    if not COMPLAINT_ID.match(complaint_id):
        raise ValueError("not a ticket id")
    compact = _compact(complaint_id)
    mac = base64.b32encode(_mac(key, compact)).decode().lower()  # 10 bytes: 16 characters, no padding
    return f"{compact}{mac}"


def reply_address(mailbox: str, complaint_id: str, key: bytes) -> str:
    """`complaints@example.com` and a case -> `complaints+<token>@example.com`."""
    local, at, domain = mailbox.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("not an email address")
    return f"{local.split('+', 1)[0]}+{token(complaint_id, key)}@{domain}"


def case_of(address: str, key: bytes) -> str | None:
    """The ticket id a reply address was signed for; None for any other address, or a forged token."""
    local = address.strip().rpartition("@")[0]
    _, plus, tag = local.partition("+")
    if not plus:
        return None
    tag = tag.lower()
    compact, mac = tag[:-16], tag[-16:]
    if len(compact) != 14 or not compact[:8].isdigit():
        return None
    complaint_id = f"{_PREFIX}{compact[:8]}-{compact[8:].upper()}"
    if not COMPLAINT_ID.match(complaint_id):
        return None
    expected = base64.b32encode(_mac(key, compact)).decode().lower()
    return complaint_id if hmac.compare_digest(expected, mac) else None
