"""The complainant's status link; the staff's links to download the files of a conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from complaints.core.conversation import Message
    from complaints.core.ports import FileStore

DOWNLOAD_SECONDS = 300  # a download link works for 5 minutes: enough to click it, not to pass it around


def status_url(base_url: str, complaint_id: str, access_code: str) -> str:
    """The complainant's link to their case: the access code rides in the query string."""
    return f"{base_url.rstrip('/')}/complaints/{complaint_id}?code={access_code}"


def download_links(messages: list[Message], files: FileStore | None) -> dict[str, str]:
    """Each kept file's location -> a short-lived link that downloads it under its name. A file kept only
    inside its email (an attachment of an email taken in before files were kept apart) has none."""
    if files is None:
        return {}
    return {
        f.location: files.download_url(f.location, f.filename, DOWNLOAD_SECONDS)
        for m in messages
        for f in m.files
        if f.location.startswith("s3://") and "#" not in f.location
    }
