"""The pages behind the links people get by email. GET shows the task and decides nothing (mail scanners
open links); POST records the answer exactly once (a conditional write) and hands it to the Step Functions
task that waits for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from complaints.core.clock import Clock, utc_now
from complaints.core.conversation import Message
from complaints.core.errors import AnswerKept, CallbackFailed, LinkDecided, LinkForged, LinkGone, TaskGone
from complaints.core.evidence import ChainCheck, EvidenceItem, verify
from complaints.core.models import Case
from complaints.core.ports import Callbacks, Conversation, FileStore
from complaints.core.tasks import (
    CustomerAnswer,
    CustomerReply,
    Decision,
    DecisionAnswer,
    Findings,
    FindingsAnswer,
    LinkStatus,
    QuestionAnswer,
    TaskLink,
)
from complaints.presentation.links import download_links
from complaints.tasklinks.links import signature_matches
from complaints.tasklinks.ports import LinkRepository


@dataclass
class PageView:
    link: TaskLink
    case: Case
    evidence: list[EvidenceItem]
    chain: ChainCheck
    messages: list[Message] = field(default_factory=list)  # the conversation with the complainant
    downloads: dict[str, str] = field(default_factory=dict)  # a file's location -> its download link


class TaskPages:
    def __init__(
        self,
        repository: LinkRepository,
        signing_key: bytes,
        callbacks: Callbacks,
        clock: Clock = utc_now,
        conversation: Conversation | None = None,
        files: FileStore | None = None,
    ):
        self._repository = repository
        self._conversation = conversation
        self._files = files
        self._key = signing_key
        self._callbacks = callbacks
        self._clock = clock

    def open_page(self, link_id: str, sig: str | None) -> PageView:
        """What GET shows. Decides nothing."""
        link = self._checked(link_id, sig)
        case, _ = self._repository.get(link.complaint_id)
        evidence = self._repository.evidence(link.complaint_id)
        messages = (
            self._conversation.messages(link.complaint_id)
            if self._conversation and case.message_count
            else []
        )
        return PageView(
            link, case, evidence, verify(evidence), messages, download_links(messages, self._files)
        )

    def submit(self, link_id: str, sig: str | None, form: dict[str, Any]) -> TaskLink:
        """Record the person's answer (findings or a question for the complainant, or an approval decision)
        exactly once and hand it to the waiting task. Bad input raises ValidationError and records nothing:
        the link stays open."""
        link = self._checked(link_id, sig)
        reply: DecisionAnswer | CustomerReply | FindingsAnswer | QuestionAnswer
        if link.kind == "approve":
            reply = DecisionAnswer(decision=Decision.model_validate(form))
        elif link.kind == "confirm":
            reply = CustomerReply(answer=CustomerAnswer.model_validate(form))
        elif "question" in form:  # the findings page's other form: ask the complainant first
            reply = QuestionAnswer.model_validate({"question": form["question"]})
        else:
            reply = FindingsAnswer(findings=Findings.model_validate(form))
        answer = reply.model_dump(mode="json")
        now = self._clock()
        # Stored first: whatever happens next, the answer is not lost.
        if not self._repository.complete_link(link.link_id, now, answer):
            raise self._refusal(self._repository.get_link(link.link_id) or link)
        try:
            self._callbacks.succeed(link.token, answer)
        except (TaskGone, CallbackFailed):
            # The wait timed out a moment ago (its next task, a reminder or the next person, takes the
            # answer), or Step Functions could not be reached (the wait times out, and the same happens).
            self._repository.keep_answer(link.link_id)
            raise AnswerKept(link) from None
        return link

    def open_case(self, complaint_id: str) -> Case:
        return self._repository.get(complaint_id)[0]

    def _checked(self, link_id: str, sig: str | None) -> TaskLink:
        link = self._repository.get_link(link_id) if link_id else None
        if link is None or not signature_matches(self._key, link, sig):
            raise LinkForged(link_id)
        if link.status != LinkStatus.OPEN or self._clock() > link.expires_at:
            raise self._refusal(link)
        return link

    def _refusal(self, link: TaskLink) -> Exception:
        if link.status == LinkStatus.DONE:
            return LinkDecided(link)
        return LinkGone(link)
