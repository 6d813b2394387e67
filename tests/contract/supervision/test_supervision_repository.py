"""supervision.ports.SupervisionRepository: NEEDS_ATTENTION and resume, version-checked, on FakeRepository
and DynamoCaseRepository (the cases of intake's CaseRepository that use only this port's methods)."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoCaseRepository
from complaints.supervision.ports import SupervisionRepository
from tests.contract.intake.test_case_repository import (
    get_of_an_unknown_case_raises_case_not_found,
    mark_needs_attention_again_keeps_where_it_failed,
    mark_needs_attention_is_version_checked,
    resume_goes_back_once_to_where_it_failed,
    set_execution_of_an_unknown_case_raises_conflict,
    set_execution_points_the_case_at_a_new_execution,
)
from tests.contract.support import CASE_TABLE, Contract, make_subject
from tests.fakes import FakeRepository

CONTRACT = Contract(
    SupervisionRepository,
    FakeRepository,
    lambda tables: DynamoCaseRepository(tables[CASE_TABLE]),
    cases=[
        get_of_an_unknown_case_raises_case_not_found,
        mark_needs_attention_is_version_checked,
        mark_needs_attention_again_keeps_where_it_failed,
        resume_goes_back_once_to_where_it_failed,
        set_execution_points_the_case_at_a_new_execution,
        set_execution_of_an_unknown_case_raises_conflict,
    ],
)


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_supervision_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
