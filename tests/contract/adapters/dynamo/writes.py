"""Every adapter method that writes more than one item (one TransactWriteItems), each as a scenario: the
state it needs (stored through the adapter) and the write itself, with its event at WRITE_AT."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from complaints.core import changes
from complaints.core.conversation import Message
from complaints.core.models import Status
from complaints.core.tasks import CustomerAnswer
from complaints.triage.rules import DuplicateMatch
from tests.contract.support import (
    T0,
    assignment,
    at,
    claim_for,
    event,
    evidence_items,
    findings,
    link,
    new_case,
    store,
    tally,
    triage_fields,
)

ID = "CMP-20260305-AAAAAA"
WRITE_AT = 30  # minutes after T0: the event of the write under test
Write = Callable[[], Any]


def _create(s) -> Write:
    case = new_case(ID)
    return lambda: s.raw.create(case, event("RECEIVED", WRITE_AT), claim_for(case), T0, tally())


def _mark_started(s) -> Write:
    store(s, ID)
    return lambda: s.raw.mark_started(ID, "arn:x", event("STARTED", WRITE_AT))


def _mark_acknowledged(s) -> Write:
    store(s, ID)
    return lambda: s.raw.mark_acknowledged(ID, event("ACKNOWLEDGED", WRITE_AT))


def _mark_ack_withheld(s) -> Write:
    store(s, ID)
    return lambda: s.raw.mark_ack_withheld(ID, event("ACK_WITHHELD", WRITE_AT))


def _count_acknowledgement(s) -> Write:
    store(s, ID)
    return lambda: s.raw.count_acknowledgement(ID, "r", "2026-03-05T10", 5, at(WRITE_AT))


def _mark_needs_attention(s) -> Write:
    case = store(s, ID, status=Status.TRIAGED)
    return lambda: s.raw.mark_needs_attention(case, "boom", event("NEEDS_ATTENTION", WRITE_AT), tally())


def _resume(s) -> Write:
    s.raw.mark_needs_attention(store(s, ID, status=Status.TRIAGED), "boom", event("NEEDS_ATTENTION", 1))
    waiting = s.raw.get(ID)[0]
    return lambda: s.raw.resume(waiting, event("RESUMED", WRITE_AT))


def _mark_triaged(s) -> Write:
    case = store(s, ID)
    return lambda: s.raw.mark_triaged(
        case, triage_fields(), assignment(None), event("TRIAGED", WRITE_AT), tally(triaged=1)
    )


def _mark_related(s) -> Write:
    case = store(s, ID)
    match = DuplicateMatch(complaint_id="CMP-EARLIER", reason="text", detail="0.97")
    return lambda: s.raw.mark_related(case, match, event("RELATED", WRITE_AT), tally(related=1))


def _count_for_spikes(s) -> Write:
    case = store(s, ID, category="payments")
    return lambda: s.raw.count_for_spikes(case, "2026-03-05T10", at(WRITE_AT))


def _start_investigation(s) -> Write:
    case = store(s, ID, status=Status.TRIAGED)
    return lambda: s.raw.start_investigation(case, evidence_items(3), event("INVESTIGATING", WRITE_AT))


def _investigating_with_link(s) -> None:
    store(s, ID, status=Status.INVESTIGATING)
    s.raw.put_link(link("l1", ID), None, event("LINK_SENT", 1))


def _put_link(s) -> Write:
    _investigating_with_link(s)
    new = link("l2", ID, level="lead", recipient_name="Lee Lead")
    return lambda: s.raw.put_link(new, "l1", event("ESCALATED", WRITE_AT), tally(escalated=1))


def _rebind_link(s) -> Write:
    _investigating_with_link(s)
    return lambda: s.raw.rebind_link("l1", "token-2", at(60 * 24 * 9), event("REMINDER", WRITE_AT))


def _hand_on(s) -> Write:
    _investigating_with_link(s)
    s.raw.complete_link("l1", at(2), {"decision": "done"})
    s.raw.keep_answer("l1")
    return lambda: s.raw.hand_on("l1", event("ANSWER_HANDED_ON", WRITE_AT))


def _record_findings(s) -> Write:
    case = store(s, ID, status=Status.INVESTIGATING)
    return lambda: s.raw.record_findings(
        case, findings(), Status.AWAITING_APPROVAL, event("FINDINGS", WRITE_AT)
    )


def _awaiting(s):
    return store(s, ID, status=Status.AWAITING_APPROVAL, findings=findings().model_dump(mode="json"))


def _record_remedy(s) -> Write:
    case = resolving(s)
    return lambda: s.raw.record_remedy(case, "PAY-1", event("REMEDY_APPLIED", WRITE_AT))


def _await_confirmation(s) -> Write:
    case = resolving(s)
    return lambda: s.raw.await_confirmation(case, at(WRITE_AT))


def _record_customer_answer(s) -> Write:
    case = resolving(s)
    answer = CustomerAnswer(resolved="yes", rating=5)
    return lambda: s.raw.record_customer_answer(case, answer, event("CUSTOMER_CONFIRMED", WRITE_AT))


def _reopen(s) -> Write:
    case = resolving(s)
    answer = CustomerAnswer(resolved="no", rating=1)
    return lambda: s.raw.reopen(case, answer, event("REOPENED", WRITE_AT))


def _record_final_response(s) -> Write:
    case = resolving(s)
    return lambda: s.raw.record_final_response(case, event("FINAL_RESPONSE", WRITE_AT))


def _approve(s) -> Write:
    case = _awaiting(s)
    return lambda: s.raw.approve(case, event("APPROVED", WRITE_AT))


def _reject(s) -> Write:
    case = _awaiting(s)
    return lambda: s.raw.reject(case, "Check again", event("REJECTED", WRITE_AT))


def _ask_customer(s) -> Write:
    case = store(s, ID, status=Status.INVESTIGATING)
    values = changes.asked_customer("Which card did you pay with?", "investigator", at(WRITE_AT))
    message = Message(key="question-1", at=at(WRITE_AT), channel="email", author="staff", text="Which card?")
    return lambda: s.raw.ask_customer(case, values, event("SLA_PAUSED", WRITE_AT), message)


def _asking(s):
    values = changes.asked_customer("Which card did you pay with?", "investigator", at(1))
    return store(
        s,
        ID,
        status=Status.AWAITING_CUSTOMER,
        priority="P3",
        resolution_due_at=at(600),
        **{k: v for k, v in values.items() if k != "status"},
    )


def _wait_for_answer(s) -> Write:
    case = _asking(s)
    return lambda: s.raw.wait_for_answer(
        case, changes.waiting_on("token-2"), event("QUESTION_REMINDED", WRITE_AT)
    )


def _resume_investigation(s) -> Write:
    case = _asking(s)
    values = changes.resumed(case, at(WRITE_AT), 1.0)
    return lambda: s.raw.resume_investigation(case, values, event("SLA_RESUMED", WRITE_AT), tally(waits=1))


def resolving(s):
    """Triaged to inv-1 (one open case on the roster), then RESOLVING."""
    s.raw.mark_triaged(store(s, ID), triage_fields(), assignment(None), event("TRIAGED", 1))
    s.raw.approve(s.raw.get(ID)[0], event("APPROVED", 2))
    return s.raw.get(ID)[0]


def _close_case(s) -> Write:
    case = resolving(s)
    return lambda: s.raw.close_case(case, event("CLOSED", WRITE_AT), tally(closed=1), at(60 * 24 * 2000))


@dataclass(frozen=True)
class Scenario:
    name: str
    prepare: Callable[[Any], Write]
    has_event: bool = True


SCENARIOS = [
    Scenario("create", _create),
    Scenario("mark_started", _mark_started),
    Scenario("mark_acknowledged", _mark_acknowledged),
    Scenario("mark_ack_withheld", _mark_ack_withheld),
    Scenario("count_acknowledgement", _count_acknowledgement, has_event=False),
    Scenario("mark_needs_attention", _mark_needs_attention),
    Scenario("resume", _resume),
    Scenario("mark_triaged", _mark_triaged),
    Scenario("mark_related", _mark_related),
    Scenario("count_for_spikes", _count_for_spikes, has_event=False),
    Scenario("start_investigation", _start_investigation),
    Scenario("put_link", _put_link),
    Scenario("rebind_link", _rebind_link),
    Scenario("hand_on", _hand_on),
    Scenario("record_findings", _record_findings),
    Scenario("ask_customer", _ask_customer),
    Scenario("wait_for_answer", _wait_for_answer),
    Scenario("resume_investigation", _resume_investigation),
    Scenario("record_remedy", _record_remedy),
    Scenario("await_confirmation", _await_confirmation, has_event=False),
    Scenario("record_customer_answer", _record_customer_answer),
    Scenario("reopen", _reopen),
    Scenario("record_final_response", _record_final_response),
    Scenario("approve", _approve),
    Scenario("reject", _reject),
    Scenario("close_case", _close_case),
]
