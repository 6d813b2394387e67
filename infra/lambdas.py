"""Run the project's real Lambda handlers in-process, the way Lambda runs them.

Each function (from the transformed template: Code, Handler, Environment, Timeout, Role) gets a pool of
"containers": a container is a fresh import of the handler module, made with the function's environment
in place (its cold start). One invocation runs per container at a time; a concurrent invocation gets
another container, as Lambda scales out, up to CONTAINERS_PER_FUNCTION; past that, an invocation waits
for a container to be free. On Lambda each container has a machine of its own; here they all share one
interpreter, so a burst that started a container per request would only add cold starts (each imports
and builds the handler): 40 complaints at once made 98 cold starts and took 30 s to reach their
investigators. The wait is before the handler starts, so a
function's Timeout still counts its own run only.

As on Lambda, a function's AWS calls are made with its execution role's credentials: the environment has
them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and boto3's default session, which
`boto3.client()` and `boto3.resource()` use, is the function's own while its code runs (a cold start or
an invocation). That is boto3's `_get_default_session`, swapped once per process (`install_sessions`).
An invocation that runs past the function's Timeout fails with Lambda's `Sandbox.Timedout`; its
container is thrown away. Lambda stops the sandbox there; a Python thread cannot be stopped, so the
timed-out handler's thread runs on, but every AWS call it then makes fails before it is sent
(`InvocationStopped`): nothing it does after its timeout reaches AWS, as on Lambda.

A cold start that raises is the function's error, as Lambda reports a failed init, not the caller's. What
Lambda's process per container gives each invocation by itself (its environment, Powertools' request and
metrics) is given back to it here by infra/isolation.py."""

from __future__ import annotations

import contextvars
import importlib.util
import itertools
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

import boto3
import botocore.loaders
import botocore.session

from infra.isolation import container_environ, isolate_powertools_requests, own_metrics, running_in
from infra.template import FunctionSpec

_module_ids = itertools.count(1)
_session: contextvars.ContextVar[boto3.Session | None] = contextvars.ContextVar(
    "function_session", default=None
)
_boto3_default_session = boto3._get_default_session


def _function_default_session() -> boto3.Session:
    """boto3's default session: the running function's own, or boto3's outside any function."""
    session = _session.get()
    return session if session is not None else _boto3_default_session()


class InvocationStopped(RuntimeError):
    """An AWS call from an invocation that has timed out: Lambda would have stopped it."""


class _Invocation:
    alive = True


_invocation: contextvars.ContextVar[_Invocation | None] = contextvars.ContextVar("invocation", default=None)


def _refuse_after_timeout(**_: Any) -> None:
    """botocore before-call hook on each function's session."""
    invocation = _invocation.get()
    if invocation is not None and not invocation.alive:
        raise InvocationStopped("the invocation timed out: Lambda stopped it before this call")


_loader: list[botocore.loaders.Loader] = []
_loader_lock = threading.Lock()


def _shared_loader() -> botocore.loaders.Loader:
    """One botocore loader for every function's session: it reads each service's model (JSON files of
    megabytes) once per process and keeps it, where each new session read them again (a cold start spent
    most of its time there, and every test's stack makes new sessions)."""
    with _loader_lock:
        if not _loader:
            _loader.append(botocore.loaders.create_loader())
        return _loader[0]


def install_sessions() -> None:
    """Give each function its own default boto3 session (once per process)."""
    boto3._get_default_session = _function_default_session


@contextmanager
def function_session(session: boto3.Session | None) -> Iterator[None]:
    token = _session.set(session)
    try:
        yield
    finally:
        _session.reset(token)


def load_module(
    spec: FunctionSpec,
    env: dict[str, str],
    session: boto3.Session | None = None,
    environ: dict[str, str] | None = None,
) -> ModuleType:
    """Import the handler module under a unique name in a container's environment (a cold start): `environ`,
    or a new one with the function's variables `env`."""
    isolate_powertools_requests()
    name = f"lambda_{spec.logical_id}_{next(_module_ids)}"
    module_spec = importlib.util.spec_from_file_location(name, spec.module_file)
    assert module_spec and module_spec.loader, spec.module_file
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # so annotations resolve (Powertools reads the handlers' type hints)
    with running_in(environ if environ is not None else container_environ(env)), function_session(session):
        module_spec.loader.exec_module(module)
    own_metrics(module)
    return module


@dataclass
class Container:
    """A warm container: the imported handler module and the environment its code sees."""

    module: ModuleType
    environ: dict[str, str]


def _stack(error: BaseException) -> list[str]:
    return traceback.format_exception(error)[-8:]


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


TIMED_OUT = "Sandbox.Timedout"  # the error Lambda reports (and Step Functions matches) for a timeout


class HandlerError(Exception):
    """An invocation failed; `payload` is what Lambda returns with X-Amz-Function-Error: Unhandled."""

    def __init__(self, error_type: str, message: str, stack: list[str]):
        super().__init__(f"{error_type}: {message}")
        self.payload = {"errorType": error_type, "errorMessage": message, "stackTrace": stack}


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str


CONTAINERS_PER_FUNCTION = 4


class FunctionRuntime:
    """The containers of one function."""

    def __init__(
        self,
        spec: FunctionSpec,
        arn: str,
        extra_env: dict[str, str],
        credentials: Credentials | None = None,
        region: str = "us-east-1",
        containers: int = CONTAINERS_PER_FUNCTION,
    ):
        self.spec = spec
        self.arn = arn
        self.env = {**spec.environment, **extra_env, "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id}
        self._credentials = credentials
        self._region = region
        self._session: boto3.Session | None = None
        self._session_lock = threading.Lock()
        if credentials is not None:
            self.env.update(
                AWS_ACCESS_KEY_ID=credentials.access_key_id,
                AWS_SECRET_ACCESS_KEY=credentials.secret_access_key,
                AWS_SESSION_TOKEN=credentials.session_token,
            )
        self._idle: list[Container] = []
        self._free = threading.BoundedSemaphore(containers)  # containers that may run at once
        self._lock = threading.Lock()
        self.cold_starts = 0
        self.invocations = 0

    @property
    def session(self) -> boto3.Session | None:
        """The function's boto3 session, on its role's credentials; made on first use (a boto3 Session
        costs some 30 ms to make, and most functions of a test's stack are never invoked)."""
        if self._credentials is None:
            return None
        with self._session_lock:
            if self._session is None:
                credentials = self._credentials
                core = botocore.session.Session()
                core.register_component("data_loader", _shared_loader())
                session = boto3.Session(
                    aws_access_key_id=credentials.access_key_id,
                    aws_secret_access_key=credentials.secret_access_key,
                    aws_session_token=credentials.session_token,
                    region_name=self._region,
                    botocore_session=core,
                )
                session.events.register("before-call", _refuse_after_timeout)
                install_sessions()
                self._session = session
            return self._session

    @contextmanager
    def _container(self) -> Iterator[Container]:
        with self._free:
            with self._lock:
                container = self._idle.pop() if self._idle else None
            if container is None:
                with self._lock:
                    self.cold_starts += 1
                environ = container_environ(self.env)
                try:
                    module = load_module(self.spec, self.env, self.session, environ)
                except Exception as error:  # Lambda reports a failed init as the function's error
                    raise HandlerError(type(error).__name__, str(error), _stack(error)) from error
                container = Container(module, environ)
            timed_out = False
            try:
                yield container
            except HandlerError as error:
                timed_out = error.payload["errorType"] == TIMED_OUT
                raise
            finally:
                if not timed_out:  # a container that timed out is not used again
                    with self._lock:
                        self._idle.append(container)

    def invoke(self, event: Any) -> Any:
        """Run the handler; raises HandlerError with Lambda's error payload if it raises or times out."""
        with self._container() as container:
            with self._lock:
                self.invocations += 1
            context = LambdaContext(
                function_name=self.spec.logical_id,
                invoked_function_arn=self.arn,
                memory_limit_in_mb=self.spec.memory_mb,
                timeout_seconds=self.spec.timeout,
                aws_request_id=str(uuid.uuid4()),
            )
            handler = getattr(container.module, self.spec.function_name)
            outcome: dict[str, Any] = {}

            def run() -> None:
                with running_in(container.environ), function_session(self.session):
                    try:
                        outcome["result"] = handler(event, context)
                    except Exception as error:
                        outcome["error"] = error

            # The handler's thread runs in a copy of the caller's context (contextvars), as if it ran here,
            # with this invocation's liveness in it.
            invocation = _Invocation()
            token = _invocation.set(invocation)
            try:
                worker = threading.Thread(
                    target=contextvars.copy_context().run,
                    args=(run,),
                    name=f"{self.spec.logical_id}-{context.aws_request_id[:8]}",
                )
            finally:
                _invocation.reset(token)
            worker.daemon = True
            worker.start()
            worker.join(self.spec.timeout)
            if worker.is_alive():
                invocation.alive = False  # what it calls from now on fails before it is sent
                raise HandlerError(
                    TIMED_OUT,
                    f"RequestId: {context.aws_request_id} Error: Task timed out after "
                    f"{self.spec.timeout:.2f} seconds",
                    [],
                )
            if "error" in outcome:
                error = outcome["error"]
                raise HandlerError(type(error).__name__, str(error), _stack(error)) from error
            return outcome.get("result")
