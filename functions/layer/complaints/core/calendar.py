"""Policy from config/policy.yaml: deadlines and SLAs on a business calendar, windows and grace periods."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from complaints.core import yamltext

if TYPE_CHECKING:
    import holidays

_CLOCK_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ExactlyOne(_Policy):
    """A choice of units: exactly one of the (optional) fields is given."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        fields = list(type(self).model_fields)
        given = [name for name in fields if getattr(self, name) is not None]
        if len(given) != 1:
            found = f", not {' and '.join(given)}" if given else ""
            raise ValueError(f"give exactly one of {', '.join(fields)}{found}")
        return self


class WorkingHours(_Policy):
    """Opening and closing time on a business day, local time in the calendar's time zone."""

    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted_clock_time(cls, value: Any) -> Any:
        # Unquoted 18:00 is the integer 1080 to YAML (base-60), so only "HH:MM" strings are accepted.
        if isinstance(value, time) and value.tzinfo is None:
            return value
        if isinstance(value, str) and _CLOCK_TIME.fullmatch(value):
            return value
        raise ValueError('a local time written as a quoted "HH:MM" string')

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.start >= self.end:
            raise ValueError("working hours must start before they end")
        return self

    @property
    def length(self) -> timedelta:
        """The length of the working day on the clock face: one business day."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


class Calendar(_Policy):
    timezone: str
    holidays_country: str
    working_hours: WorkingHours = Field(default_factory=lambda: WorkingHours(start=time(9), end=time(18)))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_business_day(self, day: date) -> bool:
        """The country's working days: its weekend and public holidays off, and its substituted
        working days (China's make-up Saturdays and Sundays, for example) on."""
        return _holidays(self.holidays_country, day.year).is_working_day(day)

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """When `hours` of working time have passed since `start` (an aware datetime).

        Only time inside the working hours of business days counts; a start outside them (evening,
        weekend, holiday) counts from the next opening. The result is the earliest such instant, so a
        duration that runs out exactly at closing time ends at closing time, not at the next opening.
        Returned in the calendar's time zone; hours are elapsed time, so DST changes are respected."""
        if not math.isfinite(hours) or hours < 0:
            raise ValueError("hours must be a finite number, zero or more")
        return self._add_working_time(start, timedelta(hours=hours))

    def _add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        _require_aware(start)
        zone = self.zone
        cursor = start.astimezone(UTC)
        if not amount:
            return cursor.astimezone(zone)
        remaining = amount
        day = cursor.astimezone(zone).date()
        while True:  # one step per day, whatever the duration
            if self.is_business_day(day):
                # Instants in UTC: subtracting datetimes sharing a ZoneInfo ignores DST changes.
                opening = datetime.combine(day, self.working_hours.start, tzinfo=zone).astimezone(UTC)
                closing = datetime.combine(day, self.working_hours.end, tzinfo=zone).astimezone(UTC)
                if cursor < closing:
                    begin = max(cursor, opening)
                    available = closing - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(zone)
                    remaining -= available
            day += timedelta(days=1)


class Deadline(_ExactlyOne):
    """A regulatory deadline: whole weeks around the clock, or the close (23:59:59 local) of the
    n-th business day after the day of receipt."""

    weeks: int | None = Field(default=None, gt=0)
    business_days: int | None = Field(default=None, gt=0)


class Duration(_ExactlyOne):
    """An SLA duration. `hours` run around the clock; `business_hours` count only working hours on
    business days; a business day is the length of the working day (9 hours for 09:00-18:00)."""

    hours: float | None = Field(default=None, gt=0, strict=True, allow_inf_nan=False)
    business_hours: float | None = Field(default=None, gt=0, strict=True, allow_inf_nan=False)
    business_days: float | None = Field(default=None, gt=0, strict=True, allow_inf_nan=False)


class FinalResponse(_Policy):
    default: Deadline
    by_category: dict[str, Deadline] = Field(default_factory=dict)


class Sla(_Policy):
    first_response: Duration
    resolution: Duration


@dataclass(frozen=True, slots=True)
class SlaDue:
    first_response_due: datetime
    resolution_due: datetime


class CustomerQuestion(_Policy):
    """How long a question to the complainant waits: to the close of the n-th business day for an answer,
    then a reminder and as many days again; then the investigation goes on without one."""

    answer_business_days: int = Field(gt=0)
    reminder_business_days: int = Field(gt=0)


class Policy(_Policy):
    calendar: Calendar
    final_response: FinalResponse
    sla: dict[str, Sla] = Field(default_factory=dict)
    duplicate_window_seconds: int = Field(gt=0)
    idempotency_key_ttl_seconds: int = Field(gt=0)
    reconcile_grace_seconds: int = Field(ge=0)
    acknowledgements_per_address_per_hour: int = Field(default=5, gt=0)
    customer_question: CustomerQuestion = CustomerQuestion(answer_business_days=5, reminder_business_days=2)

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

    def due(self, start: datetime, duration: Duration) -> datetime:
        """When `duration` from `start` (an aware datetime) runs out, in the calendar's time zone."""
        _require_aware(start)
        if duration.hours is not None:
            return (start.astimezone(UTC) + timedelta(hours=duration.hours)).astimezone(self.calendar.zone)
        if duration.business_hours is not None:
            amount = timedelta(hours=duration.business_hours)
        else:
            assert duration.business_days is not None
            amount = self.calendar.working_hours.length * duration.business_days
        return self.calendar._add_working_time(start, amount)

    def sla_due(self, start: datetime, priority: str) -> SlaDue:
        """When the first response and the resolution of a case of `priority` opened at `start` are due."""
        sla = self.sla.get(priority)
        if sla is None:
            known = ", ".join(self.sla) or "none"
            raise ValueError(f"unknown priority {priority!r}; the policy has SLAs for: {known}")
        return SlaDue(
            first_response_due=self.due(start, sla.first_response),
            resolution_due=self.due(start, sla.resolution),
        )


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is needed (one with a time zone)")


@cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    import holidays  # its data loads when a calendar first needs a year, not at import

    return holidays.country_holidays(country, years=year)


def load_policy(text: str | None = None) -> Policy:
    """Parse a policy document; the packaged config/policy.yaml when `text` is None."""
    if text is None:
        text = resources.files("complaints").joinpath("config/policy.yaml").read_text(encoding="utf-8")
    return Policy.model_validate(yamltext.safe_load(text))


# Step Functions waits are whole seconds, and never 0 (at a large TIME_SCALE a policy hour is a moment).
MIN_WAIT_SECONDS = 1


def real_seconds(policy_seconds: float, time_scale: float) -> float:
    """How long a policy duration lasts in real time (TIME_SCALE policy seconds pass per real second)."""
    return policy_seconds / time_scale
