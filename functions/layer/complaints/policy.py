"""Policy loaded from config/policy.yaml: deadlines on a business calendar, windows and grace periods."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Calendar(_Policy):
    timezone: str
    holidays_country: str

    def is_business_day(self, day: date) -> bool:
        """The country's working days: its weekend and public holidays off, and its substituted
        working days (China's make-up Saturdays and Sundays, for example) on."""
        return _holidays(self.holidays_country, day.year).is_working_day(day)


class Deadline(_Policy):
    weeks: int | None = Field(default=None, gt=0)
    business_days: int | None = Field(default=None, gt=0)


class FinalResponse(_Policy):
    default: Deadline
    by_category: dict[str, Deadline] = Field(default_factory=dict)


class Policy(_Policy):
    calendar: Calendar
    final_response: FinalResponse
    duplicate_window_seconds: int = Field(gt=0)
    idempotency_key_ttl_seconds: int = Field(gt=0)
    reconcile_grace_seconds: int = Field(ge=0)

    def response_due(self, received_at: datetime, category: str | None = None) -> datetime:
        """When the final response is due for a complaint received at `received_at` (aware datetime)."""
        rule = self.final_response.by_category.get(category or "", self.final_response.default)
        if rule.weeks:
            return received_at + timedelta(weeks=rule.weeks)
        assert rule.business_days
        return self.add_business_days(received_at, rule.business_days)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The close (23:59:59 local) of the `days`-th business day after the day of `start`."""
        zone = ZoneInfo(self.calendar.timezone)
        day = start.astimezone(zone).date()
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.calendar.is_business_day(day):
                remaining -= 1
        return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


@cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def load_policy(text: str | None = None) -> Policy:
    """Parse a policy document; the packaged config/policy.yaml when `text` is None."""
    if text is None:
        text = resources.files("complaints").joinpath("config/policy.yaml").read_text(encoding="utf-8")
    return Policy.model_validate(yaml.safe_load(text))


def real_seconds(policy_seconds: float, time_scale: float) -> float:
    """How long a policy duration lasts in real time (TIME_SCALE policy seconds pass per real second)."""
    return policy_seconds / time_scale
