"""Where runs execute: in this process, in local processes, on Dask, or any Executor.

Every backend is driven through the ``concurrent.futures.Executor`` interface (``submit`` and
futures), so the sweep loop is the same for all of them and results never depend on which one
ran them: each run carries its own seed.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from typing import Any

from .interrupts import deferred_signals

# modules a fresh worker imports once, so each run starts at full speed
_PRELOAD = ["experiments.sweeps.worker"]


def cpu_count() -> int:
    """CPUs this process may use (respects affinity masks, e.g. under Slurm)."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class SerialExecutor(Executor):
    """Runs each task at ``submit`` in this process (no pickling, easiest to debug)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001
            fut.set_exception(exc)
        return fut


class Backend:
    """An executor plus how many tasks to keep in flight and how to describe it."""

    def __init__(self, executor: Executor, workers: int, label: str, *, restartable=None, window=None):
        self.executor = executor
        self.workers = max(1, int(workers))
        self.label = label
        self._restart = restartable
        self._window = window
        self.aborted = False

    def window(self) -> int:
        """Tasks in flight: enough to keep every worker busy, few enough to bound memory."""
        if self._window is not None:
            return self._window()
        return 2 * self.workers + 1

    def restart(self) -> bool:
        """Replace a broken executor (a worker process died); False if not possible."""
        if self._restart is None:
            return False
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._restart()
        return True

    def abort(self) -> None:
        """Stop at once: cancel queued tasks, end our own worker processes."""
        self.aborted = True
        _terminate(self.executor)


def _init_worker() -> None:
    """Set up a worker process: Ctrl-C goes to the whole process group and only the parent
    handles it (cleanly); SIGTERM ends the worker, but not halfway through writing a result
    (:func:`_term_after_results`); and the worker ends when its parent dies (``kill -9`` of the
    sweep), instead of running on, orphaned, holding the output folder's lock (inherited with
    fork)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):  # (a shard's handler, inherited by fork: a worker just ends)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # (forked with Ctrl-C held back: ignored from now on)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        _term_after_results()
    parent = os.getppid()
    if sys.platform.startswith("linux"):  # the kernel kills us the moment the parent dies
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except Exception:  # noqa: BLE001 - the watch below still ends us
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:  # anywhere: a worker whose parent has gone is reparented
        while True:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


WATCH_SECONDS = 0.5

WRITE_GRACE_S = 2.0
"""How long a worker given SIGTERM may go on writing a result before it ends anyway."""


def _term_after_results() -> None:
    """In a worker (where SIGTERM's action is to end the process): SIGTERM waits while a result
    is written to the pool's pipe. A worker ended halfway through leaves half a message there,
    and the pool's thread waits for the rest forever (so did the process, at exit: seen when a
    sweep was interrupted).

    SIGTERM is blocked here, before the worker has other threads, so every thread made later
    (Arrow's, when a run's tables are encoded) blocks it too, and one thread waits for it.
    Writing a result holds a lock (the class the pool's result queue is made of is patched, in
    this process only); that thread ends the process once it has the lock, or after
    :data:`WRITE_GRACE_S` anyway (a pipe nobody reads any more: the pool gave up on us)."""
    from multiprocessing.queues import SimpleQueue

    term = {signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, term)
    writing = threading.Lock()
    put = SimpleQueue.put

    def put_whole(self, obj):
        with writing:
            put(self, obj)

    def end_on_term() -> None:
        signal.sigwait(term)
        writing.acquire(timeout=WRITE_GRACE_S)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, term)  # (this thread only: the signal comes here)
        os.kill(os.getpid(), signal.SIGTERM)

    SimpleQueue.put = put_whole
    threading.Thread(target=end_on_term, name="term-after-results", daemon=True).start()


def _mp_context():
    """fork where it is safe (Linux, no other Python threads), else forkserver or spawn.

    ``fork`` starts workers instantly with everything imported; with other threads running
    it may deadlock, so then a forkserver that preloads the model is used instead.
    """
    methods = mp.get_all_start_methods()
    # tqdm's monitor thread only sleeps and polls bars; it holds no lock a worker could need
    # (nor the thread that touches a shard's claims: it only sleeps and sets file times)
    others = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and type(t).__name__ not in ("TMonitor", "ClaimHeartbeat")
    ]
    if sys.platform.startswith("linux") and "fork" in methods and not others:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return mp.get_context("spawn")


def _process_pool(n: int, started: list[ProcessPoolExecutor] | None = None) -> ProcessPoolExecutor:
    """A pool whose ``n`` workers are started now, added to ``started`` before any is forked.

    An interrupt while the workers are forked must not leave one behind: a worker outside the
    pool's table is waited for by Python at exit, forever (a shard ended by SIGTERM at that
    moment hung). So a sweep's Ctrl-C and a shard's SIGTERM are held back until every worker is
    in the pool (interrupts.deferred_signals), and should an interrupt still land, every worker
    forked here is ended before it is raised. Ctrl-C is also held back in the workers while
    they are forked: one landing in a child between fork and its initializer killed it with a
    traceback and left the sweep's exit status to chance."""
    before = set(mp.active_children())
    pool = ProcessPoolExecutor(max_workers=n, mp_context=_mp_context(), initializer=_init_worker)
    if started is not None:
        started.append(pool)
    masked = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    try:
        with deferred_signals():
            if masked:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                for f in [pool.submit(_nothing) for _ in range(n)]:
                    f.result()
            finally:
                if masked:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    except BaseException:
        with deferred_signals():  # (a second Ctrl-C must not split this either)
            _terminate(pool)
            _end(set(mp.active_children()) - before)  # (forked, not yet in the pool's table)
        raise
    return pool


def _nothing() -> None:
    return None


def _terminate(executor: Executor) -> None:
    """Stop ``executor`` taking work; a ProcessPoolExecutor's workers are ended now, runs in
    flight too. SIGTERM first: a worker writing its result finishes the write (see
    :func:`_term_after_results`); one still there after :data:`KILL_AFTER_S` (blocked on a pipe
    nobody reads any more) gets SIGKILL."""
    procs = list((getattr(executor, "_processes", None) or {}).values())  # (shutdown forgets them)
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # executors without cancel_futures
        executor.shutdown(wait=False)
    _end(procs)


KILL_AFTER_S = 5.0


def _end(procs) -> None:
    """SIGTERM to each of ``procs``, SIGKILL to those alive :data:`KILL_AFTER_S` later."""
    for p in procs:
        try:
            p.terminate()
        except Exception:  # noqa: BLE001 - (gone already)
            pass
    waiting = [p.sentinel for p in procs if p._popen is not None and p.exitcode is None]
    deadline = time.monotonic() + KILL_AFTER_S
    while waiting and time.monotonic() < deadline:
        ended = mp.connection.wait(waiting, timeout=max(0.0, deadline - time.monotonic()))
        waiting = [s for s in waiting if s not in ended]
    for p in procs:
        if p.sentinel in waiting:
            try:
                p.kill()
            except Exception:  # noqa: BLE001
                pass


@contextmanager
def _serial_backend(workers: int | None, scheduler: str | None) -> Iterator[Backend]:
    yield Backend(SerialExecutor(), 1, "serial", window=lambda: 1)


@contextmanager
def _processes_backend(workers: int | None, scheduler: str | None) -> Iterator[Backend]:
    n = workers or cpu_count()
    pools: list[ProcessPoolExecutor] = []  # every pool started, a restart's too

    def start() -> ProcessPoolExecutor:
        return _process_pool(n, pools)

    try:
        backend = Backend(start(), n, f"processes ({n} workers)", restartable=start)
        yield backend
    except BaseException:  # (an interrupt may come before the sweep's loop could abort)
        with deferred_signals():
            for pool in pools:
                _terminate(pool)
        raise
    with deferred_signals():  # (the pool's own lock is taken in there: see interrupts)
        backend.executor.shutdown(wait=not backend.aborted, cancel_futures=True)


def _invalid_executor(executor: Any) -> ValueError:
    return ValueError(
        f"executor = {executor!r} is invalid: allowed is one of "
        f"{', '.join(map(repr, EXECUTORS))}, a concurrent.futures.Executor "
        "or a dask.distributed.Client"
    )


@contextmanager
def open_backend(
    executor: Any = "processes", workers: int | None = None, scheduler: str | None = None
) -> Iterator[Backend]:
    """The backend for ``executor`` (a name in :data:`EXECUTORS`, a
    ``concurrent.futures.Executor`` or a ``dask.distributed.Client``); shuts down what it
    started itself."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers = {workers!r} is invalid: allowed is an integer >= 1")
    if scheduler is not None and executor != "dask":
        raise ValueError(f"scheduler = {scheduler!r} needs executor = 'dask' (got {executor!r})")
    if isinstance(executor, str):
        if executor not in EXECUTORS:
            raise _invalid_executor(executor)
        with EXECUTORS[executor](workers, scheduler) as backend:
            yield backend
    elif isinstance(executor, Executor):
        n = workers or getattr(executor, "_max_workers", None) or cpu_count()
        yield Backend(executor, n, type(executor).__name__)
    elif hasattr(executor, "get_executor") and hasattr(executor, "nthreads"):  # a dask Client
        yield _client_backend(executor, workers)
    else:
        raise _invalid_executor(executor)


def _client_backend(client, workers: int | None) -> Backend:
    state = {"n": 0, "checked": 0.0}

    def window() -> int:
        # clusters grow and shrink (dask-jobqueue's adapt): look again every few seconds
        if workers is None and time.monotonic() - state["checked"] > 5:
            try:
                state["n"] = sum(client.nthreads().values())
            except Exception:  # noqa: BLE001
                pass
            state["checked"] = time.monotonic()
        return max(2 * (workers or state["n"]) + 1, 8)

    n = workers or sum(client.nthreads().values()) or 1
    return Backend(client.get_executor(pure=False), n, f"dask ({client.scheduler.address})", window=window)


@contextmanager
def _dask_backend(workers: int | None, scheduler: str | None) -> Iterator[Backend]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ValueError("executor 'dask' needs dask.distributed: pip install 'dask[distributed]'") from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None
        try:
            yield _client_backend(client, workers)
        finally:
            client.close()
        return
    n = workers or cpu_count()
    # a private cluster on the loopback interface, one single-threaded worker process per core
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    try:
        backend = _client_backend(client, n)
        backend.label = f"dask LocalCluster ({n} workers)"
        yield backend
    finally:
        client.close()
        cluster.close()


# The executors known by name: name -> (workers, scheduler) -> context manager of a Backend.
# The command lines offer exactly these names (``--executor``).
EXECUTORS: dict[str, Callable[[int | None, str | None], ContextManager[Backend]]] = {
    "serial": _serial_backend,
    "processes": _processes_backend,
    "dask": _dask_backend,
}
