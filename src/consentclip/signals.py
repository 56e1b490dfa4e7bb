"""SIGTERM and SIGHUP clean up exactly like Ctrl-C.

A service manager stopping consentclip (SIGTERM), or a closed terminal or SSH session (SIGHUP),
must leave no half-written export behind. Python turns only SIGINT into KeyboardInterrupt; this
turns the other two into it as well, so every ``except BaseException``/``finally`` that removes
temporary files runs for them too. SIGKILL cannot be caught: for it, every export sweeps the
leftovers of dead writers of its own target before it starts (export.sweep_stale_partials).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CAUGHT = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """A termination signal, handled as an interruption (exit 130, nothing half-written)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP raise Terminated in the main thread (once: a second
    signal during the clean-up is ignored, so the clean-up itself is not cut short). Outside
    the main thread, or where a handler is already installed by us, this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        if fired.is_set():
            return
        fired.set()
        raise Terminated(signum)

    previous: dict[int, Any] = {}
    for sig in CAUGHT:
        current = signal.getsignal(sig)
        if current is signal.SIG_IGN or getattr(current, "_consentclip", False):
            continue  # nohup asked to ignore it, or an outer block already handles it
        handler._consentclip = True  # type: ignore[attr-defined]
        previous[sig] = current
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
