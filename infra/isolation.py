"""What Lambda's process per container gives each invocation by itself, given back to it on the local
stack, where every function's containers share one process.

On Lambda each container is a process with an environment of its own; here they share one. So
`os.environ` is swapped once per process for `FunctionEnviron`: code running for a container (its cold
start or an invocation) sees that container's environment, a copy of the process's with the function's
variables over it, and any other code sees the process's. Nothing writes a function's variables into the
process's environment: no thread sees another function's credentials, and no variable disappears under
a reader (when cold starts set and then removed them, a state machine thread that was making a boto3
client meanwhile failed with `KeyError: 'AWS_LAMBDA_FUNCTION_NAME'`, and the execution with it).

For the same reason, Powertools' REST resolvers keep the request being handled on their base class
(`BaseRouter.current_event`, `lambda_context`), one per process: with invocations of every function
sharing a process, a route read another invocation's request (two submissions got one ticket). Those
two attributes are made per invocation (`isolate_powertools_requests`, once per process); its test fails
loudly if a Powertools upgrade moves them. Powertools' Metrics likewise keep what an invocation adds in
dicts every instance shares: each container's get their own (`own_metrics`), as one process each would."""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

_container_environ: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "container_environ", default=None
)
_install_lock = threading.Lock()


class FunctionEnviron(MutableMapping[str, str]):
    """`os.environ` as the running code sees it: its container's environment while a function's code runs
    (a cold start or an invocation), the process's elsewhere. See the module's docstring."""

    def __init__(self, process: MutableMapping[str, str]):
        self.process = process

    def _current(self) -> MutableMapping[str, str]:
        container = _container_environ.get()
        return self.process if container is None else container

    def __getitem__(self, key: str) -> str:
        return self._current()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._current()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._current()))

    def __len__(self) -> int:
        return len(self._current())

    def copy(self) -> dict[str, str]:
        return dict(self._current())

    def __repr__(self) -> str:
        return f"FunctionEnviron({dict(self._current())!r})"


class _PerInvocation:
    """An attribute whose value is the running invocation's (a context variable: each invocation runs in a
    context of its own), read and set on the class or on any instance."""

    def __init__(self, name: str):
        self.name = name
        self.value: contextvars.ContextVar[Any] = contextvars.ContextVar(f"powertools_{name}")

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            return self.value.get()
        except LookupError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: Any, value: Any) -> None:
        self.value.set(value)


_REQUEST_ATTRIBUTES = ("current_event", "lambda_context")


def isolate_powertools_requests() -> None:
    """Make `BaseRouter.current_event` and `lambda_context` per invocation (once per process): a descriptor on
    the class for instances' reads and writes, and the same on a metaclass of its own for the class's."""
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    with _install_lock:
        if getattr(type(BaseRouter), "isolates_requests", False):
            return
        attributes = {name: _PerInvocation(name) for name in _REQUEST_ATTRIBUTES}
        for name, attribute in attributes.items():
            setattr(BaseRouter, name, attribute)
        meta = type(f"PerInvocation{type(BaseRouter).__name__}", (type(BaseRouter),), attributes)
        meta.isolates_requests = True  # type: ignore[attr-defined]
        BaseRouter.__class__ = meta


def own_metrics(module: ModuleType) -> None:
    """Give the module's Powertools `Metrics` (and their providers) dicts of their own: the class's are one
    per process (a container runs one invocation at a time, so one container's are its invocation's)."""
    from aws_lambda_powertools.metrics import Metrics

    for value in list(vars(module).values()):
        if isinstance(value, Metrics):
            defaults = dict(value.default_dimensions)
            own = {"metric_set": {}, "metadata_set": {}, "dimension_set": dict(defaults)}
            for holder in (value, value.provider):
                for name, mapping in own.items():
                    setattr(holder, name, mapping)
                holder.default_dimensions = defaults


def install_environ() -> None:
    """Swap `os.environ` for a `FunctionEnviron` over it (once per process)."""
    with _install_lock:
        if not isinstance(os.environ, FunctionEnviron):
            os.environ = FunctionEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 - a view, not a clear


def container_environ(env: dict[str, str]) -> dict[str, str]:
    """A new container's environment: the process's, with the function's variables over it."""
    install_environ()
    process = os.environ.process if isinstance(os.environ, FunctionEnviron) else os.environ
    return {**process, **env}


@contextmanager
def running_in(environ: dict[str, str]) -> Iterator[None]:
    """Code run in this block sees `environ` as `os.environ`."""
    install_environ()
    token = _container_environ.set(environ)
    try:
        yield
    finally:
        _container_environ.reset(token)
