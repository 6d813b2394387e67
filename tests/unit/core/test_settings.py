"""Settings from a function's environment: read as pydantic-settings read them, by the handlers, once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from complaints.core.settings import Settings


def test_each_field_comes_from_the_variable_of_its_name():
    settings = Settings.from_environment(
        {"TABLE_NAME": "cases", "TIME_SCALE": "3600", "MAX_BODY_BYTES": "1024", "PATH": "/usr/bin"}
    )

    assert settings.table_name == "cases"
    assert settings.time_scale == 3600.0
    assert settings.max_body_bytes == 1024
    assert settings.ops_email == "ops@example.com"  # the default, with no OPS_EMAIL


def test_a_variable_name_matches_in_any_case_the_later_of_two_winning():
    settings = Settings.from_environment({"table_name": "lower", "Ops_Email": "o@x", "TABLE_NAME": "upper"})

    assert (settings.table_name, settings.ops_email) == ("upper", "o@x")


def test_what_is_given_overrides_the_environment():
    settings = Settings.from_environment({"TABLE_NAME": "env", "OPS_EMAIL": "o@x"}, table_name="given")

    assert (settings.table_name, settings.ops_email) == ("given", "o@x")


@pytest.mark.parametrize(
    "environ", [{}, {"TABLE_NAME": "t", "TIME_SCALE": "0"}, {"TABLE_NAME": "t", "TIME_SCALE": ""}]
)
def test_a_missing_table_or_a_bad_value_is_refused(environ):
    with pytest.raises(ValidationError):
        Settings.from_environment(environ)


def test_settings_are_frozen():
    settings = Settings.from_environment({"TABLE_NAME": "t"})

    with pytest.raises(ValidationError):
        settings.table_name = "other"  # type: ignore[misc]
