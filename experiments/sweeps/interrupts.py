"""Ctrl-C and SIGTERM during a sweep, raised only where it is safe.

Python raises a signal handler's KeyboardInterrupt at whatever line the main thread is on. Inside
the executor's own code that can be between taking a lock and the ``with`` that would release
it: ``ProcessPoolExecutor.submit`` left its queue's lock held that way, and the pool's thread
then waited for it forever, so a shard ended by SIGTERM never exited (seen in CI). So while a
sweep runs, SIGINT (and, for a shard, SIGTERM: what Slurm sends at a task's time limit) go to
:func:`interrupt`. Inside a :func:`deferred_signals` section it only notes the interrupt; the
KeyboardInterrupt is raised when the section ends, or earlier where the sweep's loop calls
:func:`raise_if_interrupted` (between waits of at most :data:`POLL_S`). The loop is such a
section for every executor but the serial one, whose runs are in the main thread and stop at
once; an executor of one's own that runs tasks inside ``submit`` stops after the runs in hand.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

POLL_S = 0.1
"""The longest the sweep's loop waits before it looks for an interrupt held back."""

_interrupt = {"depth": 0, "pending": False}


@contextmanager
def deferred_signals() -> Iterator[None]:
    """A section that an interrupt must not split (creating a claim file and recording it; a
    call into the executor). :func:`interrupt` only notes an interrupt arriving inside it; the
    KeyboardInterrupt is raised on leaving the outermost section. Signals reach the main
    thread only, so in any other thread (a sweep run from a thread) this does nothing: it must
    not hold back, or take, the main thread's Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _interrupt["depth"] += 1
    try:
        yield
    finally:
        _interrupt["depth"] -= 1
        if _interrupt["depth"] == 0 and _interrupt["pending"]:
            _interrupt["pending"] = False
            raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    """Raise the interrupt held back, if any: for a caller inside a section that knows it is
    at a safe point (in the main thread; elsewhere nothing is held back for it)."""
    if _interrupt["pending"] and threading.current_thread() is threading.main_thread():
        _interrupt["pending"] = False
        raise KeyboardInterrupt


def interrupt(signum, frame) -> None:
    """The sweep's handler for SIGINT (and a shard's for SIGTERM): KeyboardInterrupt, held
    back to the end of a :func:`deferred_signals` section."""
    if _interrupt["depth"]:
        _interrupt["pending"] = True
        return
    raise KeyboardInterrupt


def _after_fork_in_child() -> None:
    """A process forked inside a section (a pool's worker, before it sets itself up) starts
    with nothing held back and the default actions: a SIGTERM then ends it at once, where the
    parent's handler would only note it."""
    _interrupt["depth"], _interrupt["pending"] = 0, False
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        try:
            if sig is not None and signal.getsignal(sig) is interrupt:
                signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
        except ValueError:  # (not this process's main thread: nothing to reset here)
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def handled(term: bool) -> Iterator[None]:
    """:func:`interrupt` as the handler of SIGINT (unless it is ignored, or someone else's
    handler) and, with ``term``, of SIGTERM; the old handlers are back afterwards. Only the main
    thread can set handlers: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [signal.SIGINT] if signal.getsignal(signal.SIGINT) is signal.default_int_handler else []
    if term and hasattr(signal, "SIGTERM"):
        sigs.append(signal.SIGTERM)
    before = {sig: signal.signal(sig, interrupt) for sig in sigs}
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)
