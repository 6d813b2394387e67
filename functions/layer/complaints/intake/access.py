"""The complainant's access code: what the status page, the conversation and uploads ask for."""

from __future__ import annotations

from complaints.core import ids
from complaints.core.errors import CaseNotFound
from complaints.core.ids import COMPLAINT_ID
from complaints.intake.ports import CaseRepository


def check_access(repository: CaseRepository, complaint_id: str, access_code: str | None) -> None:
    """Raise CaseNotFound unless the access code is the case's. Unknown id and wrong code do the same work
    (one read of the code's hash, one hash and compare, against a dummy hash when there is no case), so
    timing does not tell which ids exist."""
    if not COMPLAINT_ID.match(complaint_id or "") or not access_code:
        raise CaseNotFound(complaint_id)
    stored = repository.access_code_hash(complaint_id)
    if not ids.access_code_matches(access_code, stored or ids.DUMMY_CODE_HASH) or stored is None:
        raise CaseNotFound(complaint_id)
