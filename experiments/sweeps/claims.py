"""Per-run claims: how several sweep processes (shards) share one output folder.

Before a shard runs run 12 it claims it by creating ``OUT/claims/run-000012.g0.json``: the
claim is written whole to a temporary name and hard-linked to its name (link fails if the name
exists: atomic on a local file system, NFSv3 and later, Lustre and GPFS), so of two processes
creating the same name exactly one succeeds, and a claim is never seen empty (on a file system
without hard links it is created with ``O_EXCL`` and written, empty for a moment). The claim
holds the holder's host, pid (and, on Linux, the process's start time, so a reused pid is not
taken for the holder), the shard, when it was made, and the holder's heartbeat and lease. The
holder removes its claim once the run's summary is on disk (or its failure record), so a claim
seen without a summary means "being run now" or "its holder died".

A claim is **stale** when its holder is gone: on this host, when its pid is not running (or is
another process than the one that claimed); on another host (and on Windows, where no pid is
probed unless psutil is installed), when the claim file has not been touched for the lease: the
larger of the lease written in the claim by its holder and the reader's own (:data:`LEASE_S`,
or ``AGENCY_SIM_CLAIM_LEASE`` in seconds, at least :data:`MIN_LEASE_S`). A holder touches its
claims every :data:`HEARTBEAT_S` seconds while it runs them, from a thread of its own. A claim
that cannot be read (damaged, or being written where there are no hard links) is stale once it
is older than :data:`UNREADABLE_GRACE_S`, on any host. The lease assumes the hosts' clocks (or
the file server's, which sets the times) agree to well within it, and NFS attribute caching
(``actimeo``, up to a minute) delays when a reader sees a touch: both eat into the lease.

Taking over a stale claim needs no lock: claims are numbered by generation. A process that
finds generation *g* stale creates generation *g + 1*; of all the processes that found *g*
stale at once, exactly one creates *g + 1*, and the others then find *g + 1* live and leave the
run. A holder removes **only its own claim file**, never the stale generations under it: were
it to remove them, a process that had judged *g* stale earlier could create *g + 1* once the
holder's file is gone while a newcomer creates a fresh *g*, and both would hold the run. The
stale generations stay until a process holding the folder exclusively (compaction, a
one-process sweep) removes them; ``--status`` does not count them for a done run. So, as long
as staleness is judged right, at most one live process holds a run. (Renaming the stale file
away first, as one might, races too: a slow process can rename away the fresh claim another
process made in the meantime.)

A holder judged stale that is in fact still running (a node cut off, or a process stopped, for
longer than the lease; clocks that disagree; two hosts with the same name, or containers with
their own pid namespaces sharing a host name, where a pid is probed in the wrong place) may have
a run done twice; both write the same bytes (each run carries its seed), by atomic renames, so
the folder stays correct, only work is wasted.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import store
from .interrupts import deferred_signals

CLAIMS = "claims"
LEASE_S = 1800.0  # a claim of another host untouched this long counts as stale (30 min)
HEARTBEAT_S = 60.0  # a holder touches its claims this often
MIN_LEASE_S = 4 * HEARTBEAT_S + 60  # a lease must outlast a few missed heartbeats (5 min)
UNREADABLE_GRACE_S = 60.0  # a claim that cannot be read and is older than this is stale
MAX_GENERATIONS = 1000
LEASE_ENV = "AGENCY_SIM_CLAIM_LEASE"


def lease_s() -> float:
    """The lease in seconds (``AGENCY_SIM_CLAIM_LEASE`` if set, else :data:`LEASE_S`); a value
    that is not a number of seconds >= :data:`MIN_LEASE_S` is refused (ValueError)."""
    value = os.environ.get(LEASE_ENV)
    if value is None or not value.strip():
        return LEASE_S
    try:
        lease = float(value)
    except ValueError:
        lease = math.nan
    if not math.isfinite(lease) or lease < MIN_LEASE_S:
        raise ValueError(
            f"{LEASE_ENV}={value!r} is invalid: the claims' lease must be a number of seconds >= {MIN_LEASE_S:.0f} "
            f"(four heartbeats of {HEARTBEAT_S:.0f} s and a minute); unset it for the default {LEASE_S:.0f}"
        )
    return lease


def claim_lease(claim: Claim, lease: float | None = None) -> float:
    """The lease that judges ``claim``: the larger of its holder's (written in it) and ours."""
    own = lease_s() if lease is None else lease
    theirs = claim.holder.get("lease")
    if isinstance(theirs, int | float) and not isinstance(theirs, bool) and math.isfinite(theirs):
        return max(own, float(theirs))
    return own


def can_probe_pids() -> bool:
    """Whether this host can tell if a pid runs: POSIX (signal 0), or psutil if installed. On
    Windows os.kill(pid, 0) would send CTRL_C_EVENT, so it is never used there."""
    if os.name != "nt":
        return True
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


def host() -> str:
    return socket.gethostname()


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return None if fields[0] == b"Z" else fields[19].decode()
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` of this host runs (and, if ``start`` is given and /proc can tell,
    is the process that started then, not a later one with the same pid)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # (os.kill(pid, 0) there sends CTRL_C_EVENT to the process)
        try:
            import psutil
        except ImportError:
            return True  # cannot tell: alive (the caller falls back on the lease, see can_probe_pids)
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    now = _start_time(pid)
    if os.path.exists(f"/proc/{pid}/stat") and now is None:
        return False  # a zombie: it has ended
    return start is None or now is None or now == start


def claim_path(out: Path, run_id: int, generation: int) -> Path:
    return Path(out) / CLAIMS / f"{store.run_name(run_id)}.g{generation}.json"


def parse_name(name: str) -> tuple[int, int] | None:
    """``run-000012.g3.json`` -> (12, 3); None for other names."""
    parts = name.split(".")
    if len(parts) != 3 or parts[2] != "json" or not parts[1].startswith("g") or not parts[1][1:].isdigit():
        return None
    run_id = store._run_id(name)
    return None if run_id is None else (run_id, int(parts[1][1:]))


@dataclass
class Claim:
    run_id: int
    generation: int
    path: Path
    holder: dict[str, Any]  # host, pid, start, shard, since
    mtime: float

    def who(self) -> str:
        h = self.holder
        if not isinstance(h.get("pid"), int) or not h.get("host"):
            return "an unreadable claim"
        shard = f" (shard {h['shard']})" if h.get("shard") else ""
        return f"pid {h.get('pid')} on {h.get('host')}{shard}"


def read_claim(path: Path) -> Claim | None:
    """The claim at ``path``, or None if it has gone. A claim that cannot be read (damaged, or
    being written on a file system without hard links) is returned with an empty holder and
    judged by its age alone."""
    parsed = parse_name(path.name)
    if parsed is None:
        return None
    try:
        st = path.stat()
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        holder = {}
    if not isinstance(holder, dict):
        holder = {}
    return Claim(parsed[0], parsed[1], path, holder, st.st_mtime)


def is_stale(claim: Claim, *, now: float | None = None, lease: float | None = None) -> bool:
    """Whether the claim's holder is gone (see the module's docstring). ``lease``: the reader's
    lease (default :func:`lease_s`); the claim's own is used if larger."""
    now = time.time() if now is None else now
    h = claim.holder
    if not isinstance(h.get("pid"), int) or not h.get("host"):  # unreadable: judged by its age alone
        return now - claim.mtime > UNREADABLE_GRACE_S
    if h["host"] == host() and can_probe_pids():
        return not pid_alive(h["pid"], h.get("start"))
    return now - claim.mtime > claim_lease(claim, lease)


class Claims:
    """The claims this process holds in ``out``, with a heartbeat that keeps them fresh."""

    def __init__(self, out: Path, shard: str = ""):
        self.out = Path(out)
        self.dir = self.out / CLAIMS
        self.dir.mkdir(parents=True, exist_ok=True)
        self.me = {
            "host": host(),
            "pid": os.getpid(),
            "start": _start_time(os.getpid()),
            "shard": shard,
            "lease": lease_s(),
            "heartbeat": HEARTBEAT_S,
        }
        self.held: dict[int, Path] = {}  # run id -> our claim file (only ours: see the module's docstring)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- acquiring and releasing ----------------------------------------------------------
    def acquire(self, run_id: int) -> Claim | None:
        """Claim ``run_id``: None if this process now holds it, else the live claim of the
        process that does."""
        generation = 0
        while generation < MAX_GENERATIONS:
            path = claim_path(self.out, run_id, generation)
            with deferred_signals():  # (a Ctrl-C or SIGTERM between the two would lose track of the claim)
                created = self._create(path)
                if created:
                    with self._lock:
                        self.held[run_id] = path
            if created:
                return None
            claim = read_claim(path)
            if claim is None:  # released between our try and our look: try the same name again
                continue
            if not is_stale(claim):
                return claim
            generation += 1
        raise RuntimeError(f"run {run_id} has {MAX_GENERATIONS} stale claims in {str(self.dir)!r}; remove them")

    def _create(self, path: Path) -> bool:
        """Create the claim at ``path`` whole (a temporary file hard-linked into place) unless
        the name exists; True if this process made it."""
        record = {**self.me, "since": store.now()}
        return store.create_if_absent(path, (json.dumps(record) + "\n").encode())

    def release(self, run_id: int) -> None:
        """Remove this process's claim of ``run_id`` (only its own file, never the stale
        generations under it: see the module's docstring): call once the run's summary or
        failure record is on disk."""
        with deferred_signals():
            with self._lock:
                path = self.held.get(run_id)
            if path is not None:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            with self._lock:
                self.held.pop(run_id, None)

    def release_all(self) -> None:
        for run_id in list(self.held):
            self.release(run_id)

    # --- the heartbeat --------------------------------------------------------------------
    def touch(self) -> None:
        """Refresh the time of every claim held (what other hosts read the lease from)."""
        with self._lock:
            paths = list(self.held.values())
        for p in paths:
            try:
                os.utime(p)
            except OSError:
                pass

    def start_heartbeat(self, every: float | None = None) -> None:
        every = HEARTBEAT_S if every is None else every
        every = max(every, 0.05)

        def beat() -> None:
            while not self._stop.wait(every):
                self.touch()

        self._thread = ClaimHeartbeat(target=beat, name="claim-heartbeat", daemon=True)
        self._thread.start()

    def __enter__(self):
        self.start_heartbeat()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.release_all()
        return False


class ClaimHeartbeat(threading.Thread):
    """The thread that touches a shard's claims; it only sleeps and sets file times, so a worker
    forked while it runs inherits no lock it could need (executors._mp_context lets it be)."""


def all_claims(out: Path) -> list[Claim]:
    """Every claim in ``out`` (one per file; a run taken over has several generations)."""
    d = Path(out) / CLAIMS
    if not d.is_dir():
        return []
    found = []
    with os.scandir(d) as entries:
        for e in entries:
            if parse_name(e.name) is None:
                continue
            c = read_claim(Path(e.path))
            if c is not None:
                found.append(c)
    return found


def current_claims(out: Path) -> dict[int, Claim]:
    """The newest generation of each run's claim: run id -> claim."""
    newest: dict[int, Claim] = {}
    for c in all_claims(out):
        if c.run_id not in newest or c.generation > newest[c.run_id].generation:
            newest[c.run_id] = c
    return newest


def refuse_if_live(out: Path, doing: str, what_to_do: str) -> None:
    """Raise ``ValueError`` if live processes hold claims in ``out``: who holds the first few
    and since when, why that stops ``doing`` and ``what_to_do``, and how long another host's
    claim counts as live."""
    live = live_claims(out)
    if not live:
        return
    first = sorted(live.values(), key=lambda c: c.run_id)[:3]
    shown = "; ".join(f"run {c.run_id} by {c.who()} since {c.holder.get('since')}" for c in first)
    raise ValueError(
        f"{str(out)!r} has {len(live)} run(s) claimed by live processes ({shown}){doing}: {what_to_do}. "
        f"A claim of another host counts as live for {lease_s():.0f} s after its holder last touched it "
        "(AGENCY_SIM_CLAIM_LEASE)"
    )


def live_claims(out: Path) -> dict[int, Claim]:
    return {i: c for i, c in current_claims(out).items() if not is_stale(c)}


def remove_claims(out: Path, run_ids: set[int] | None = None, *, stale_only: bool = False) -> int:
    """Remove the claim files of ``run_ids`` (all if None; with ``stale_only``, only those of
    runs whose every generation is stale: a stale generation under a live one is left, as its
    removal could let a newcomer claim the run beside the live holder): only for a process that
    holds the folder's exclusive lock."""
    n = 0
    found = [c for c in all_claims(out) if run_ids is None or c.run_id in run_ids]
    if stale_only:
        lease = lease_s()
        live = {c.run_id for c in found if not is_stale(c, lease=lease)}
        found = [c for c in found if c.run_id not in live]
    for c in found:
        try:
            os.unlink(c.path)
            n += 1
        except FileNotFoundError:
            pass
    return n
