"""Step Functions: a case's execution started (named by its complaint id) or resumed, and a waiting task
answered with its token."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from complaints.core.errors import WorkflowStartFailed


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class StepFunctionsWorkflow:
    """Workflow on a Step Functions STANDARD state machine (a boto3 `stepfunctions` client).

    The execution is named by the complaint id, so ops find it in the console by ticket id and a
    second start is harmless: Step Functions returns the running execution for the same name and input,
    and ExecutionAlreadyExists for a finished one, which we treat as started."""

    def __init__(self, client: Any, state_machine_arn: str):
        self._client = client
        self._arn = state_machine_arn

    def start(self, complaint_id: str) -> str:
        return self._start(complaint_id, {"complaintId": complaint_id})

    def resume(self, complaint_id: str, attempt: int, status: str) -> str:
        """Named `<complaint id>-retry-<n>`: the console's name filter on the ticket id finds every
        execution of the case, and a repeated retry of the same attempt starts nothing twice."""
        return self._start(
            f"{complaint_id}-retry-{attempt}", {"complaintId": complaint_id, "resumeAt": status}
        )

    def running(self, execution_arn: str) -> bool:
        try:
            found = self._client.describe_execution(executionArn=execution_arn)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") == "ExecutionDoesNotExist":
                return False
            raise WorkflowStartFailed(error.response.get("Error", {}).get("Code", "")) from error
        return found["status"] == "RUNNING"

    def _start(self, name: str, payload: dict[str, Any]) -> str:
        try:
            started = self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload)
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ExecutionAlreadyExists":
                return execution_arn(self._arn, name)
            raise WorkflowStartFailed(f"StartExecution {code}") from error
        except BotoCoreError as error:
            raise WorkflowStartFailed(type(error).__name__) from error
        return started["executionArn"]


class StepFunctionsCallbacks:
    """Answers waiting tasks (a boto3 `stepfunctions` client)."""

    _GONE = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})

    def __init__(self, client: Any):
        self._client = client

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        from complaints.core.errors import CallbackFailed, TaskGone

        try:
            self._client.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in self._GONE:
                raise TaskGone() from error
            raise CallbackFailed(code) from error
        except BotoCoreError as error:
            raise CallbackFailed(type(error).__name__) from error
