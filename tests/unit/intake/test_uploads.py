"""The complainant's messages and files (Uploads) on the fakes: only with the access code; a form for an
allowed type only; a posted file checked again (type, size, its first bytes) and kept with its SHA-256 in
the conversation and the evidence chain, or deleted."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from complaints.core.errors import CaseNotFound, UploadNotFound, UploadRefused
from complaints.core.evidence import chain, verify
from complaints.intake.service import IntakeService
from complaints.intake.uploads import Uploads, safe_filename
from tests.fakes import FakeFileStore, make_settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
PDF = b"%PDF-1.7\n%statement"


@pytest.fixture
def files() -> FakeFileStore:
    return FakeFileStore()


@pytest.fixture
def uploads(repository, files, clock) -> Uploads:
    return Uploads(repository, repository, files, make_settings(max_upload_bytes=1000), clock=clock)


@pytest.fixture
def case(intake: IntakeService) -> tuple[str, str]:
    from complaints.core.models import ComplaintIn

    accepted = intake.submit(
        ComplaintIn.model_validate(
            {"customer": {"email": "li.wei@example.com"}, "description": "My withdrawal has not arrived."}
        )
    ).accepted
    return accepted.complaintId, accepted.accessCode


def post(files: FakeFileStore, data: bytes, content_type: str, name: str = "slip.png") -> str:
    """What the browser does with the last form: the file under the form's key."""
    form = files.forms[-1]
    key = form["key"].replace("${filename}", name)
    files.put(key, data, content_type)
    return key


def test_a_file_is_checked_and_kept_with_its_hash_in_the_conversation_and_the_chain(
    uploads, files, repository, case
):
    complaint_id, code = case
    started = uploads.start(complaint_id, code, None, "image/png", "https://api.example/done/{upload_id}")

    assert files.forms[-1]["type"] == "image/png" and files.forms[-1]["max"] == 1000
    assert files.forms[-1]["redirect"] == f"https://api.example/done/{started.upload_id}"
    key = post(files, PNG, "image/png", "转账凭证.png")
    message = uploads.finish(complaint_id, code, started.upload_id, key)

    [file] = message.files
    assert (file.filename, file.size, file.sha256) == (
        "转账凭证.png",
        len(PNG),
        hashlib.sha256(PNG).hexdigest(),
    )
    assert repository.messages(complaint_id) == [message]
    chained = repository.evidence(complaint_id)
    assert [i.data["sha256"] for i in chained] == [file.sha256] and verify(chained).intact
    assert uploads.finish(complaint_id, code, started.upload_id, key) == message  # again: the same
    assert len(repository.evidence(complaint_id)) == 1


def test_a_file_that_comes_as_the_investigation_chains_its_evidence_goes_after_it(
    uploads, files, repository, case, monkeypatch
):
    """The investigation's first evidence takes the chain's next place between the upload's read of the
    chain and its write: the file is chained after it, not refused (the complainant saw a 409)."""
    complaint_id, code = case
    started = uploads.start(complaint_id, code, None, "image/png", None)
    key = post(files, PNG, "image/png")
    stale = repository.evidence(complaint_id)  # the chain as the upload reads it: empty
    gathered = chain([("records", "transactionId:TX-1", {"status": "PENDING"})], datetime.now(UTC))
    repository.evidence_items[complaint_id] = list(gathered)  # the investigation writes meanwhile
    reads = iter([stale])
    real = repository.evidence
    monkeypatch.setattr(
        repository, "evidence", lambda cid: next(reads) if reads.__length_hint__() else real(cid)
    )

    message = uploads.finish(complaint_id, code, started.upload_id, key)

    chained = repository.evidence(complaint_id)
    assert (chained[0].source, len(chained)) == ("records", 2)
    assert chained[1].data["sha256"] == message.files[0].sha256 and verify(chained).intact


def test_nothing_without_the_access_code(uploads, files, case):
    complaint_id, _ = case
    with pytest.raises(CaseNotFound):
        uploads.start(complaint_id, "WRONG-CODE", "a.png", "image/png")
    with pytest.raises(CaseNotFound):
        uploads.add_text(complaint_id, None, "hello")
    assert files.forms == []


@pytest.mark.parametrize("content_type", ["application/x-msdownload", "text/html", "image/svg+xml", ""])
def test_a_form_is_only_signed_for_the_types_taken(uploads, files, case, content_type):
    complaint_id, code = case
    with pytest.raises(UploadRefused):
        uploads.start(complaint_id, code, "x", content_type)
    assert files.forms == []


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"MZ\x90\x00 an executable", "image/png"),  # not what its type says
        (PDF, "image/png"),
        (b"\xff\xfe\x00t\x00e\x00x\x00t", "text/plain"),  # not UTF-8 text
        (PNG, "text/html"),  # a type the form did not allow (S3 would refuse it; checked again)
        (b"\x89PNG\r\n\x1a\n" + b"x" * 2000, "image/png"),  # over the limit
    ],
    ids=["exe-as-png", "pdf-as-png", "utf16-as-text", "html", "too-large"],
)
def test_a_file_that_fails_the_check_is_deleted_and_not_kept(
    uploads, files, repository, case, data, declared
):
    complaint_id, code = case
    started = uploads.start(complaint_id, code, "f", "image/png")
    key = post(files, data, declared)

    with pytest.raises(UploadRefused):
        uploads.finish(complaint_id, code, started.upload_id, key)
    assert key not in files.objects and files.deleted == [key]
    assert repository.messages(complaint_id) == [] and repository.evidence(complaint_id) == []


def test_finishing_an_upload_that_never_came_or_another_key_is_not_found(uploads, files, case):
    complaint_id, code = case
    started = uploads.start(complaint_id, code, "a.pdf", "application/pdf")
    key = files.forms[-1]["key"]
    with pytest.raises(UploadNotFound):
        uploads.finish(complaint_id, code, started.upload_id, key)  # never posted
    other = post(files, PDF, "application/pdf")  # a file that is there, named wrongly
    for upload_id, named in [
        ("../../other-case", other),
        (started.upload_id, None),
        (started.upload_id, f"uploads/CMP-20260305-OTHER1/{started.upload_id}/a.pdf"),
        (started.upload_id, f"{key}/../../x"),
    ]:
        with pytest.raises(UploadNotFound):
            uploads.finish(complaint_id, code, upload_id, named)


def test_the_json_api_names_the_file_itself(uploads, files, case):
    complaint_id, code = case
    uploads.start(complaint_id, code, "../../etc/statement.pdf", "application/pdf")
    assert files.forms[-1]["key"].endswith("/statement.pdf")
    assert files.forms[-1]["redirect"] is None


def test_a_message_from_the_status_page_is_kept_once(uploads, repository, case):
    complaint_id, code = case
    first = uploads.add_text(complaint_id, code, "  I also paid a fee of 5 CNY.  ")
    again = uploads.add_text(complaint_id, code, "I also paid a fee of 5 CNY.")

    assert [m.text for m in repository.messages(complaint_id)] == ["I also paid a fee of 5 CNY."]
    assert first.key == again.key and (first.channel, first.author) == ("web", "customer")
    with pytest.raises(UploadRefused):
        uploads.add_text(complaint_id, code, "   ")
    with pytest.raises(UploadRefused):
        uploads.add_text(complaint_id, code, "x" * 5001)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("C:\\Users\\li\\slip.png", "slip.png"),
        ("a/b/../c.pdf", "c.pdf"),
        ("bad\x00\x1fname.txt", "badname.txt"),
        ("", "file"),
        (None, "file"),
    ],
)
def test_a_file_is_shown_under_its_last_name_part_without_control_characters(name, shown):
    assert safe_filename(name) == shown
