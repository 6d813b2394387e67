"""The DynamoDB adapters of the stages' ports: each combines the stores (one per aggregate) its port needs.

DynamoCaseRepository serves intake (with the conversation) and supervision; DynamoTriageRepository, triage;
DynamoInvestigationRepository, investigation, approval, the link pages and resolution (and the record store
of the evidence sources)."""

from __future__ import annotations

from complaints.adapters.dynamo.cases import CaseStore
from complaints.adapters.dynamo.conversation import ConversationStore
from complaints.adapters.dynamo.decisions import DecisionStore
from complaints.adapters.dynamo.evidence import EvidenceStore
from complaints.adapters.dynamo.links import LinkStore
from complaints.adapters.dynamo.spikes import SpikeStore
from complaints.adapters.dynamo.triage import TriageStore


class DynamoCaseRepository(CaseStore, ConversationStore, EvidenceStore):
    """intake.ports.CaseRepository, core.ports.Conversation (its files' evidence chain: the evidence
    store's read) and supervision.ports.SupervisionRepository."""


class DynamoTriageRepository(CaseStore, TriageStore, SpikeStore):
    """triage.ports.TriageRepository (with the case store, as triage's tests set cases up through it)."""


class DynamoInvestigationRepository(
    CaseStore, TriageStore, SpikeStore, EvidenceStore, LinkStore, DecisionStore, ConversationStore
):
    """investigation, approval, tasklinks and resolution ports, the evidence sources' RecordStore, and the
    conversation the staff pages show."""
