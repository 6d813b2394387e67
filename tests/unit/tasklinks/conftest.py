"""The fixtures of tests/unit/assigned.py, for this stage's tests."""

from tests.unit.assigned import (  # noqa: F401 (fixtures)
    approval,
    callbacks,
    complaint_id,
    pages,
    repository,
    service,
    settings,
    sources,
)
