"""The embedded stack's settings and its ports' check: light to import (the standard library only), so
that `python -m infra` refuses a taken port at once, before it loads moto and the template."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class PortTaken(RuntimeError):
    pass


@dataclass
class StackConfig:
    host: str = "127.0.0.1"
    port: int = 3000
    aws_port: int = 5000
    smtp_port: int = 2525
    region: str = "us-east-1"
    time_scale: float = 1.0
    template_path: Path = ROOT / "template.yaml"
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> StackConfig:
        env = os.environ if environ is None else environ
        return cls(
            port=int(env.get("PORT", 3000)),
            aws_port=int(env.get("AWS_PORT", 5000)),
            smtp_port=int(env.get("SMTP_PORT", 2525)),
            region=env.get("AWS_DEFAULT_REGION") or "us-east-1",
            time_scale=float(env.get("TIME_SCALE", 1)),
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"


def ensure_free(host: str, port: int, what: str) -> None:
    """Refuse to start on a port another program listens on, with a message that says what to do.

    The probe binds as the servers will (werkzeug sets SO_REUSEADDR): a port whose only sockets are the
    previous run's closed connections, in TIME_WAIT for a minute after a stop, is free to listen on, so a
    restart right after Ctrl-C works; a port with a listener still refuses the bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if os.name == "posix":  # on Windows the option would let the bind share a port in use
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortTaken(
                f"Port {port} ({what}) is taken: another `make run` or another program is using it. "
                f"Stop it, or pick other ports, e.g. PORT=3100 AWS_PORT=5100 SMTP_PORT=2625 make run."
            ) from None
