"""Stop requests from SIGINT and SIGTERM, with real signals sent to this process."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from lrlab.lab.interrupt import EXIT_INTERRUPTED, StopRequest, stop_on_signals

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals to itself")


def handlers() -> tuple[object, object]:
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def send(signum: int) -> None:
    """Send ``signum`` to this process and give the main thread a moment to handle it."""
    os.kill(os.getpid(), signum)
    time.sleep(0.001)  # Python runs the handler in the main thread, by the end of this call


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_requests_a_stop_without_raising(signum: int) -> None:
    with stop_on_signals() as stop:
        assert isinstance(stop, StopRequest)
        assert not stop.requested and stop.signal is None
        send(signum)
        assert stop.requested
        assert stop.signal == signum


def test_a_sigterm_after_a_stop_does_not_raise() -> None:
    with stop_on_signals() as stop:
        send(signal.SIGTERM)
        send(signal.SIGTERM)
        assert stop.signal == signal.SIGTERM


def test_a_second_sigint_raises_keyboard_interrupt() -> None:
    before = handlers()
    with pytest.raises(KeyboardInterrupt):
        with stop_on_signals() as stop:
            send(signal.SIGINT)
            assert stop.signal == signal.SIGINT
            send(signal.SIGINT)
            time.sleep(2.0)  # interrupted at once by the KeyboardInterrupt
    assert handlers() == before


def test_sigint_after_sigterm_raises_keyboard_interrupt() -> None:
    with pytest.raises(KeyboardInterrupt):
        with stop_on_signals() as stop:
            send(signal.SIGTERM)
            assert stop.signal == signal.SIGTERM
            send(signal.SIGINT)
            time.sleep(2.0)


def test_the_previous_handlers_are_restored() -> None:
    before = handlers()
    with stop_on_signals():
        inside = handlers()
        assert inside[0] is not before[0] and inside[1] is not before[1]
        assert callable(inside[0]) and inside[0] is inside[1]
    assert handlers() == before


def test_custom_previous_handlers_are_restored_even_after_an_error() -> None:
    seen: list[int] = []

    def custom(signum: int, _frame: object) -> None:
        seen.append(signum)

    original = handlers()
    signal.signal(signal.SIGTERM, custom)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with stop_on_signals() as stop:
                send(signal.SIGTERM)
                assert stop.signal == signal.SIGTERM
                raise RuntimeError("boom")
        assert seen == []  # the block's handler took the signal, not the custom one
        assert signal.getsignal(signal.SIGTERM) is custom
        assert signal.getsignal(signal.SIGINT) == original[0]
        send(signal.SIGTERM)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, original[1])  # type: ignore[arg-type]
    assert handlers() == original


def test_outside_the_main_thread_no_handler_is_installed() -> None:
    before = handlers()
    results: dict[str, object] = {}

    def work() -> None:
        try:
            with stop_on_signals() as stop:
                results["inside"] = handlers()
                results["requested"] = stop.requested
                stop.request(signal.SIGTERM)
                results["after"] = (stop.requested, stop.signal)
        except BaseException as error:  # reported to the main thread
            results["error"] = error

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert "error" not in results, results.get("error")
    assert results["inside"] == before
    assert results["requested"] is False
    assert results["after"] == (True, signal.SIGTERM)
    assert handlers() == before


def test_request_sets_the_signal() -> None:
    stop = StopRequest()
    assert not stop.requested and stop.signal is None
    stop.request(signal.SIGTERM)
    assert stop.requested and stop.signal == signal.SIGTERM
    stop.request(signal.SIGINT)
    assert stop.signal == signal.SIGINT


def test_request_inside_the_block_then_sigint_raises() -> None:
    with pytest.raises(KeyboardInterrupt):
        with stop_on_signals() as stop:
            stop.request(signal.SIGTERM)
            send(signal.SIGINT)
            time.sleep(2.0)


def test_exit_code_is_128_plus_sigint() -> None:
    assert EXIT_INTERRUPTED == 128 + signal.SIGINT == 130
