"""Run the project's real Lambda handlers in-process, the way Lambda runs them.

Each function (from template.yaml: CodeUri, Handler, Environment) gets a pool of "containers": a
container is a fresh import of the handler module, made with the function's environment in place
(its cold start). One invocation runs per container at a time; a concurrent invocation gets another
container, as Lambda scales out."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from infra.template import FunctionSpec

_environ_lock = threading.RLock()
_module_ids = itertools.count(1)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a cold start, then restore them."""
    with _environ_lock:
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def load_module(spec: FunctionSpec, env: dict[str, str]) -> ModuleType:
    """Import the handler module under a unique name with the function's environment (a cold start)."""
    name = f"lambda_{spec.logical_id}_{next(_module_ids)}"
    module_spec = importlib.util.spec_from_file_location(name, spec.module_file)
    assert module_spec and module_spec.loader, spec.module_file
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # so annotations resolve (Powertools reads the handlers' type hints)
    with environment(env):
        module_spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerError(Exception):
    """An invocation failed; `payload` is what Lambda returns with X-Amz-Function-Error: Unhandled."""

    def __init__(self, error_type: str, message: str, stack: list[str]):
        super().__init__(f"{error_type}: {message}")
        self.payload = {"errorType": error_type, "errorMessage": message, "stackTrace": stack}


class FunctionRuntime:
    """The containers of one function."""

    def __init__(self, spec: FunctionSpec, arn: str, extra_env: dict[str, str]):
        self.spec = spec
        self.arn = arn
        self.env = {**spec.environment, **extra_env, "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id}
        self._idle: list[ModuleType] = []
        self._lock = threading.Lock()
        self.cold_starts = 0
        self.invocations = 0

    @contextmanager
    def _container(self) -> Iterator[ModuleType]:
        with self._lock:
            module = self._idle.pop() if self._idle else None
        if module is None:
            module = load_module(self.spec, self.env)
            with self._lock:
                self.cold_starts += 1
        try:
            yield module
        finally:
            with self._lock:
                self._idle.append(module)

    def invoke(self, event: Any) -> Any:
        """Run the handler; raises HandlerError with Lambda's error payload if it raises."""
        with self._container() as module:
            with self._lock:
                self.invocations += 1
            context = LambdaContext(
                function_name=self.spec.logical_id,
                invoked_function_arn=self.arn,
                memory_limit_in_mb=512,
                timeout_seconds=self.spec.timeout,
                aws_request_id=str(uuid.uuid4()),
            )
            handler = getattr(module, self.spec.function_name)
            try:
                return handler(event, context)
            except Exception as error:
                stack = traceback.format_exception(error)[-8:]
                raise HandlerError(type(error).__name__, str(error), stack) from error
