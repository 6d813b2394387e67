"""The reads behind what ops people look at (ops/views.py): work queues with SLA countdowns, pending
approvals, cases needing attention, alerts, executions with their current state, and the management report.

Every read here is bounded by its answer, not by the table: queues and the watch list are GSI queries
(GSI3, GSI4 in `adapters/dynamo/keys.py`) with a limit, the report reads one counter item per shard per day.

Countdowns are in policy time, like the workflow's clocks: on AWS (time scale 1) a case is overdue when
its due time has passed; on the embedded stack, whose clocks run `time_scale` times faster, when the
time it has had, scaled, exceeds the time it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from complaints.adapters.dynamo.base import aws_errors
from complaints.adapters.dynamo.keys import (
    STATS_PK,
    WATCH_ALERT,
    WATCH_APPROVAL,
    WATCH_ATTENTION,
    queue_partition,
    stats_range,
)
from complaints.adapters.dynamo.repositories import DynamoCaseRepository
from complaints.core.clock import utc_now
from complaints.core.conversation import HeldMail, Message
from complaints.core.errors import CaseNotFound
from complaints.core.models import Case, Status
from complaints.core.ports import FileStore
from complaints.ops.reports import Report, build_report
from complaints.ops.views import (
    EXECUTION_STATUSES,
    PRIORITIES,
    Alert,
    AttentionCase,
    CaseOverview,
    ExecutionView,
    HistoryLine,
    PendingApproval,
    QueueEntry,
    _what,
)
from complaints.presentation.links import download_links


class OpsQueries:
    def __init__(
        self,
        table: Any,
        stepfunctions: Any,
        state_machine_arn: str,
        departments: list[str],
        time_scale: float = 1.0,
        clock: Callable[[], datetime] = utc_now,
        files: FileStore | None = None,
    ):
        self._table = table
        self._sfn = stepfunctions
        self._machine = state_machine_arn
        self._departments = sorted(departments)
        self._scale = time_scale
        self._clock = clock
        self._files = files
        self.items_read = 0  # items DynamoDB returned to this object, for the bench

    # ------------------------------------------------------------ reads
    def _query(self, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        with aws_errors():
            while True:
                if limit is not None:
                    kwargs["Limit"] = limit - len(items)
                page = self._table.query(**kwargs)
                items.extend(page.get("Items", []))
                self.items_read += len(page.get("Items", []))
                if "LastEvaluatedKey" not in page or (limit is not None and len(items) >= limit):
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _seconds_left(self, created: datetime, due: datetime, now: datetime) -> int:
        given = (due - created).total_seconds()
        had = (now - created).total_seconds() * self._scale
        return round(given - had)

    # ------------------------------------------------------------ queues
    def queue(
        self,
        department: str | None = None,
        priority: str | None = None,
        overdue: bool = False,
        limit: int = 50,
    ) -> list[QueueEntry]:
        """Open cases by department and priority, most urgent first (per department: priority, then
        resolution due time). `limit` applies per department."""
        if department is not None and department not in self._departments:
            raise ValueError(f"no department {department!r}; there are: {', '.join(self._departments)}")
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(f"priority is one of {', '.join(PRIORITIES)}")
        now = self._clock()
        entries: list[QueueEntry] = []
        for name in [department] if department else self._departments:
            # The most urgent first, and no more than `limit` read where the key range is the answer.
            found_here: list[QueueEntry] = []
            for level in [priority] if priority else PRIORITIES:
                wanted = limit - len(found_here)
                if wanted <= 0:
                    break
                key = "gsi3pk = :pk AND begins_with(gsi3sk, :p)"
                values: dict[str, Any] = {":pk": queue_partition(name), ":p": f"{level}#"}
                exact = not overdue
                if overdue and self._scale == 1:
                    # Due before now: the key range holds exactly the overdue cases.
                    key = "gsi3pk = :pk AND gsi3sk BETWEEN :p AND :now"
                    values[":now"] = f"{level}#{now.astimezone(UTC).isoformat()}"  # as gsi3sk is
                    exact = True
                found = self._query(
                    # A faster clock (embedded stack) decides overdue after reading: read the level.
                    limit=wanted if exact else None,
                    IndexName="GSI3",
                    KeyConditionExpression=key,
                    ExpressionAttributeValues=values,
                )
                for item in found:
                    entry = self._queue_entry(name, item, now)
                    if not overdue or entry.overdue:
                        found_here.append(entry)
            entries.extend(found_here[:limit])
        return entries

    def _queue_entry(self, department: str, item: dict[str, Any], now: datetime) -> QueueEntry:
        created = datetime.fromisoformat(item["created_at"])
        due = datetime.fromisoformat(item["resolution_due_at"])
        left = self._seconds_left(created, due, now)
        paused = item["status"] == Status.AWAITING_CUSTOMER.value
        return QueueEntry(
            complaintId=item["complaint_id"],
            department=department,
            priority=item.get("priority", item["gsi3sk"].split("#", 1)[0]),
            category=item.get("category"),
            status=item["status"],
            assignee=item.get("assignee_name") or item.get("assignee"),
            createdAt=created,
            resolutionDueAt=due,
            secondsLeft=left,
            overdue=left < 0 and not paused,
            paused=paused,
            responseDueAt=datetime.fromisoformat(item["response_due_at"])
            if item.get("response_due_at")
            else None,
        )

    # ------------------------------------------------------------ watch list
    def _watch(self, partition: str, limit: int, newest_first: bool = True) -> list[dict[str, Any]]:
        return self._query(
            limit=limit,
            IndexName="GSI4",
            KeyConditionExpression="gsi4pk = :pk",
            ExpressionAttributeValues={":pk": partition},
            ScanIndexForward=not newest_first,
        )

    def approvals(self, limit: int = 100) -> list[PendingApproval]:
        """Cases waiting for an approver, the longest waiting first, with the level they wait at."""
        now = self._clock()
        pending = []
        # Oldest first from the index: a cut at `limit` keeps those waiting longest.
        for item in self._watch(WATCH_APPROVAL, limit, newest_first=False):
            since = datetime.fromisoformat(item["gsi4sk"])
            pending.append(
                PendingApproval(
                    complaintId=item["complaint_id"],
                    department=item.get("department"),
                    level=item.get("approval_level", "?"),
                    since=since,
                    ageSeconds=round((now - since).total_seconds() * self._scale),
                    priority=item.get("priority"),
                    category=item.get("category"),
                )
            )
        return sorted(pending, key=lambda p: p.since)

    def attention(self, limit: int = 100) -> list[AttentionCase]:
        """Cases NEEDS_ATTENTION, newest first."""
        return [
            AttentionCase(
                complaintId=item["complaint_id"],
                reason=item.get("attention_reason", ""),
                since=datetime.fromisoformat(item["gsi4sk"]),
                stage=item.get("attention_from"),
                department=item.get("department"),
            )
            for item in self._watch(WATCH_ATTENTION, limit)
        ]

    def alerts(self, limit: int = 20) -> list[Alert]:
        """Spike alerts and cases needing attention, newest first."""
        alerts = [
            Alert(
                at=datetime.fromisoformat(item["gsi4sk"]),
                kind="spike",
                text=f"Spike in {item.get('category', '?')} complaints (hour {item.get('hour', '?')})",
                complaintId=item.get("claimedBy"),
            )
            for item in self._watch(WATCH_ALERT, limit)
        ]
        alerts += [
            Alert(at=case.since, kind="needs_attention", text=case.reason, complaintId=case.complaintId)
            for case in self.attention(limit)
        ]
        return sorted(alerts, key=lambda a: a.at, reverse=True)[:limit]

    # ------------------------------------------------------------ executions
    def _current_state(self, arn: str) -> str | None:
        with aws_errors():
            events = self._sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=50)
        # The newest by event id, whatever order the events came in (moto ignores reverseOrder).
        entered = [e for e in events.get("events", []) if e["type"].endswith("StateEntered")]
        if not entered:
            return None
        return max(entered, key=lambda e: e["id"])["stateEnteredEventDetails"]["name"]

    def _view(self, execution: dict[str, Any], with_state: bool = True) -> ExecutionView:
        name = execution["name"]
        return ExecutionView(
            name=name,
            complaintId=name.split("-retry-", 1)[0],
            status=execution["status"],
            startedAt=execution["startDate"],
            stoppedAt=execution.get("stopDate"),
            currentState=self._current_state(execution["executionArn"]) if with_state else None,
        )

    def executions(self, status: str | None = None, limit: int = 25) -> list[ExecutionView]:
        """The latest executions (optionally of one status), each with the state it is in or ended in."""
        if status is not None and status not in EXECUTION_STATUSES:
            raise ValueError(f"status is one of {', '.join(EXECUTION_STATUSES)}")
        kwargs: dict[str, Any] = {"stateMachineArn": self._machine, "maxResults": limit}
        if status:
            kwargs["statusFilter"] = status
        with aws_errors():
            found = self._sfn.list_executions(**kwargs)["executions"]
        found = sorted(found, key=lambda e: e["startDate"], reverse=True)[:limit]
        return [self._view(execution) for execution in found]

    def execution_arn(self, name: str) -> str:
        return self._machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def history(self, name: str) -> list[HistoryLine]:
        """An execution's history in plain words, oldest first. Raises CaseNotFound."""
        try:
            events = self._sfn.get_execution_history(executionArn=self.execution_arn(name), maxResults=1000)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
                raise CaseNotFound(name) from error
            raise
        lines = []
        for event in events.get("events", []):
            state, what = _what(event)
            lines.append(HistoryLine(at=event["timestamp"], state=state, what=what))
        return lines

    # ------------------------------------------------------------ one case
    def case(self, complaint_id: str) -> CaseOverview:
        """A case, its timeline and its executions (the first and any retries). Raises CaseNotFound."""
        repository = DynamoCaseRepository(self._table)
        case, timeline = repository.get(complaint_id)
        messages = repository.messages(complaint_id) if case.message_count else []
        self.items_read += 1 + len(timeline) + len(messages)
        names = [complaint_id] + [f"{complaint_id}-retry-{n}" for n in range(1, case.retries + 1)]
        executions = []
        for name in names:
            try:
                found = self._sfn.describe_execution(executionArn=self.execution_arn(name))
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                    continue  # not started yet (the reconciler will start it)
                raise
            executions.append(self._view(found))
        return CaseOverview(case=case, timeline=timeline, executions=executions, messages=messages)

    def case_record(self, complaint_id: str) -> Case | None:
        """The stored case (None for an unknown one): its status and its two clocks."""
        try:
            return DynamoCaseRepository(self._table).get(complaint_id)[0]
        except CaseNotFound:
            return None

    def conversation(self, complaint_id: str) -> list[Message]:
        """The case's messages, oldest first (none for an unknown case)."""
        return DynamoCaseRepository(self._table).messages(complaint_id)

    def downloads(self, messages: list[Message]) -> dict[str, str]:
        """Short-lived download links of the messages' files, by location."""
        return download_links(messages, self._files)

    def held_mail(self, limit: int = 50) -> list[HeldMail]:
        """Emails held for ops (another sender than the case's customer, a reply address that does not
        verify, flagged by the scan, unreadable), newest first."""
        return DynamoCaseRepository(self._table).held_mail(limit)

    # ------------------------------------------------------------ report
    def report(self, start: date, end: date) -> Report:
        """The report for the days start..end inclusive (policy calendar days)."""
        if end < start:
            raise ValueError("the report's end is before its start")
        if end - start > timedelta(days=366):
            raise ValueError("a report covers at most 366 days")
        items = self._query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":pk": STATS_PK,
                ":from": stats_range(start, end)[0],
                ":to": stats_range(start, end)[1],
            },
        )
        return build_report(items, start, end)
