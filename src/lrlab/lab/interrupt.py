"""Turn Ctrl+C (SIGINT) and SIGTERM into a request to stop after the current step.

Training polls :attr:`StopRequest.signal` between optimizer steps; when it is set, the run
checkpoints and ends as ``interrupted``. A second Ctrl+C while that happens raises
``KeyboardInterrupt`` as usual, for a user who does not want to wait.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 130
"""The exit code of an interrupted command (128 + SIGINT, as shells report it)."""


class StopRequest:
    """Whether a stop was asked for, and by which signal."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @property
    def requested(self) -> bool:
        """Whether a stop signal arrived."""
        return self.signal is not None

    def request(self, signum: int) -> None:
        """Ask the run to stop after its current step, as if ``signum`` had arrived."""
        self.signal = signum


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Catch SIGINT and SIGTERM for the duration of the block.

    Yields:
        A :class:`StopRequest` set by the first signal. Outside the main thread no handler
        can be installed; the request then only changes through :meth:`StopRequest.request`.
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.request(signum)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
