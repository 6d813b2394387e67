"""A case stored directly, for tests that need one in a repository without going through intake."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from complaints.core.ids import hash_access_code
from complaints.core.models import Case, CaseEvent, CustomerIn, Status
from complaints.intake.ports import Claim


def store_case(
    repository: Any, complaint_id: str, at: datetime, email: str, description: str, **fields: Any
) -> Case:
    """Store a case received at `at` (or in `status=`), with its first event and an intake claim, through
    `repository.create` (a fake or DynamoDB); other Case fields come in `fields`."""
    case = Case(
        complaint_id=complaint_id,
        status=fields.pop("status", Status.RECEIVED),
        created_at=at,
        updated_at=at,
        channel=fields.pop("channel", "api"),
        locale="en",
        customer=CustomerIn(email=email),
        description=description,
        access_code_hash=hash_access_code("X"),
        response_due_at=at + timedelta(weeks=8),
        **fields,
    )
    claim = Claim(
        key=f"claim-{complaint_id}",
        complaint_id=complaint_id,
        access_code="X",
        request_fingerprint="f",
        expires_at=at + timedelta(minutes=10),
    )
    assert repository.create(case, CaseEvent(at=at, type="RECEIVED"), claim, at) is None
    return case
