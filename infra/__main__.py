"""`python -m infra` (what `make run` runs): start the embedded stack and serve until Ctrl-C."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import threading

from infra.stack import EmbeddedStack, PortTaken, StackConfig


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = StackConfig.from_env()
    stack = EmbeddedStack(config)
    try:
        stack.start()
    except PortTaken as error:
        print(error, file=sys.stderr)
        return 1
    print(stack.banner(), flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopping.wait()
    print("Stopping…", flush=True)
    stack.stop()
    # moto keeps every model object it ever made (and each DynamoDB transaction deep-copies tables), so after
    # a busy session the heap holds millions of objects, and the collections Python runs while it shuts down
    # took 10-20 s after Ctrl-C. Nothing left needs collecting: freeze the heap, so those skip it.
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
