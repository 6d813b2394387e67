"""`python -m infra` (what `make run` runs): start the embedded stack and serve until Ctrl-C."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading

from infra.config import PortTaken, StackConfig, ensure_free


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = StackConfig.from_env()
    try:
        # At once, before moto and the template load (seconds); start() checks again, the SMTP port too.
        ensure_free(config.host, config.aws_port, "AWS endpoint")
        ensure_free(config.host, config.port, "HTTP gateway")
        from infra.stack import STOP_GRACE_SECONDS, EmbeddedStack

        stack = EmbeddedStack(config)
        stack.start()
    except PortTaken as error:
        print(error, file=sys.stderr)
        return 1
    stopping, hurry = threading.Event(), threading.Event()

    def on_signal(*_: object) -> None:  # Ctrl-C (SIGINT) or SIGTERM; a second one during the stop hurries it
        (hurry if stopping.is_set() else stopping).set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(stack.banner(), flush=True)
    # Wait in short steps: a signal can land on any thread, and only the main thread runs the handler,
    # when it runs Python code. A wait without a timeout could miss Ctrl-C for good on a busy stack.
    while not stopping.wait(0.1):
        pass
    in_progress = stack.requests_in_progress
    if in_progress:
        print(
            f"Stopping… waiting up to {STOP_GRACE_SECONDS:g} s for {in_progress} request(s) in progress "
            "(Ctrl-C again to stop now).",
            flush=True,
        )
    else:
        print("Stopping…", flush=True)
    stack.stop(STOP_GRACE_SECONDS, hurry.is_set)
    # moto keeps every model object it ever made (and each DynamoDB transaction deep-copies tables), so after
    # a busy session the heap holds millions of objects, and the collections Python runs while it shuts down
    # took 10-20 s after Ctrl-C. Nothing left needs collecting: freeze the heap, so those skip it.
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
