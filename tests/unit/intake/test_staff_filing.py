"""Phone and chat complaints, filed by staff for the customer: only staff may name those channels, the
public may not, and the case and its RECEIVED event record the agent, whom the complainant never sees."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from complaints.classification.taxonomy import load_taxonomy
from complaints.core.errors import InvalidSubmission
from complaints.core.models import ComplaintIn, StaffComplaintIn
from complaints.http.body import parse_submission
from complaints.intake.service import status_view

AGENT = "arn:aws:sts::123456789012:assumed-role/SupportAgents/mei.chen"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def document(**overrides) -> dict:
    return {
        "customer": {"email": "caller@example.com", "name": "Wang Fang", "phone": "+86 138 0013 8000"},
        "description": "My withdrawal of 300 CNY has been pending for five days.",
        **overrides,
    }


def refused_fields(raw: bytes, content_type: str, model=ComplaintIn) -> dict[str, dict[str, str]]:
    with pytest.raises(InvalidSubmission) as raised:
        parse_submission(raw, content_type, model)
    return {error["field"]: error for error in raised.value.errors}


# ------------------------------------------------------------------ who may name which channel


@pytest.mark.parametrize("channel", ["phone", "chat"])
def test_the_public_api_refuses_a_phone_or_chat_complaint_saying_staff_file_those(channel):
    for raw, content_type in [
        (json.dumps(document(channel=channel)).encode(), JSON),
        (urlencode({"email": "caller@example.com", "description": "x", "channel": channel}).encode(), FORM),
    ]:
        refused = refused_fields(raw, content_type)
        assert list(refused) == ["channel"]
        assert "filed by our staff" in refused["channel"]["message"]


@pytest.mark.parametrize("channel", ["web", "app", "email", "api"])
def test_the_public_api_keeps_its_own_channels(channel):
    assert parse_submission(json.dumps(document(channel=channel)).encode(), JSON).channel == channel


def test_staff_file_a_phone_complaint_from_the_consoles_form_with_every_field():
    form = {
        "channel": "phone",
        "email": "caller@example.com",
        "name": "Wang Fang",
        "phone": "+86 138 0013 8000",
        "locale": "zh-CN",
        "description": "提现五天还没到账",
        "amountValue": "300.00",
        "amountCurrency": "CNY",
    }
    complaint = parse_submission(urlencode(form).encode(), FORM, StaffComplaintIn)

    assert isinstance(complaint, StaffComplaintIn)
    assert complaint.channel == "phone"
    assert complaint.customer.name == "Wang Fang" and complaint.customer.phone == "+86 138 0013 8000"
    assert complaint.customer.locale == "zh-CN"
    assert str(complaint.amount.value) == "300.00" and complaint.amount.currency == "CNY"


@pytest.mark.parametrize("channel", ["web", "email", "api", "fax"])
def test_staff_file_only_phone_or_chat(channel):
    refused = refused_fields(json.dumps(document(channel=channel)).encode(), JSON, StaffComplaintIn)
    assert list(refused) == ["channel"]
    assert refused["channel"]["type"] == "literal_error"


def test_a_staff_filing_must_say_phone_or_chat():
    refused = refused_fields(json.dumps(document()).encode(), JSON, StaffComplaintIn)
    assert refused["channel"]["type"] == "missing"


# ------------------------------------------------------------------ the service


def staff_complaint(channel: str = "phone") -> StaffComplaintIn:
    return StaffComplaintIn.model_validate(document(channel=channel))


def test_a_complaint_filed_by_an_agent_records_the_agent_on_the_case_and_in_the_audit_trail(
    intake, repository, workflow
):
    submission = intake.submit(staff_complaint("chat"), agent=AGENT)

    assert submission.created and submission.workflow_started
    case, events = repository.get(submission.accepted.complaintId)
    assert case.channel == "chat"
    assert case.filed_by == AGENT
    assert events[0].type == "RECEIVED"
    assert events[0].params == {"channel": "chat", "agent": AGENT}
    assert workflow.started == [submission.accepted.complaintId]
    # The acknowledgement goes to the customer as for any complaint: the code waits for it.
    assert case.pending_access_code == submission.accepted.accessCode


def test_a_complaint_the_customer_files_has_no_agent(intake, repository):
    submission = intake.submit(ComplaintIn.model_validate(document(channel="web")))

    case, events = repository.get(submission.accepted.complaintId)
    assert case.filed_by is None
    assert events[0].params == {"channel": "web"}


@pytest.mark.parametrize(
    ("complaint", "agent"),
    [
        (StaffComplaintIn.model_validate(document(channel="phone")), None),
        (ComplaintIn.model_validate(document(channel="email")), AGENT),
    ],
    ids=["phone without an agent", "agent on a public channel"],
)
def test_the_channel_and_the_agent_come_together_or_nothing_is_stored(
    intake, repository, workflow, complaint, agent
):
    with pytest.raises(InvalidSubmission) as raised:
        intake.submit(complaint, agent=agent)

    assert [error["field"] for error in raised.value.errors] == ["channel"]
    assert repository.cases == {} and repository.claims == {}
    assert workflow.started == []


def test_an_empty_agent_identity_is_refused(intake, repository):
    with pytest.raises(ValueError, match="must not be empty"):
        intake.submit(staff_complaint(), agent="  ")
    assert repository.cases == {}


# ------------------------------------------------------------------ what the complainant sees


@pytest.mark.parametrize(
    ("locale", "line"),
    [("en", "Complaint received by phone with our agent."), ("zh-CN", "我们的客服已通过电话为您登记投诉。")],
)
def test_the_status_page_says_by_phone_with_our_agent_and_never_who(intake, repository, locale, line):
    complaint = StaffComplaintIn.model_validate(
        document(channel="phone", customer={"email": "caller@example.com", "locale": locale})
    )
    submission = intake.submit(complaint, agent=AGENT)
    case, events = repository.get(submission.accepted.complaintId)

    view = status_view(case, events, load_taxonomy())

    assert view.timeline[0].detail == line
    shown = view.model_dump_json()
    assert AGENT not in shown and "arn:" not in shown and "mei.chen" not in shown
