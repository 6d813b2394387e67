"""Fixtures shared by the unit tests: the in-memory fakes wired into the domain services."""

from __future__ import annotations

import pytest

from complaints.classification.taxonomy import Taxonomy, load_taxonomy
from complaints.core.calendar import Policy, load_policy
from complaints.core.rules import TriagePolicy, load_triage_policy
from complaints.intake.acknowledgement import Acknowledger
from complaints.intake.service import IntakeService
from complaints.supervision.casework import Casework
from tests.fakes import FakeClock, FakeMailer, FakeRepository, FakeWorkflow, make_settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def repository() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def workflow() -> FakeWorkflow:
    return FakeWorkflow()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def settings():
    return make_settings()


@pytest.fixture
def intake(repository, workflow, policy, settings, clock) -> IntakeService:
    return IntakeService(repository, workflow, policy, settings, clock=clock)


@pytest.fixture
def acknowledger(repository, mailer, policy, settings, clock) -> Acknowledger:
    return Acknowledger(repository, mailer, policy, settings, clock=clock)


@pytest.fixture
def casework(repository, mailer, policy, settings, clock) -> Casework:
    return Casework(repository, mailer, policy, settings, clock=clock)


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    """The packaged taxonomy (config/taxonomy.yaml), read once."""
    return load_taxonomy()


@pytest.fixture(scope="session")
def triage_policy() -> TriagePolicy:
    """The packaged triage policy (config/triage.yaml), read once."""
    return load_triage_policy()
