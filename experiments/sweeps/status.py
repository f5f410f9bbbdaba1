"""A sweep's state at a glance (``agency-sim sweep --status DIR``), without loading its tables.

Reads the manifest (the plan), the compaction index, lists the per-run summary, failure and
claim files, and asks the folder's lock whether a one-process sweep is writing into it now:
done, failed (with the first line of each error, counted), still to run, who is running it
(the lock's holder, or the shards holding claims: by whom, since when), claims whose holder is
gone (stale: a rerun of the shard takes them over), and an estimate of the time left from the
rate of the runs finished since the running session(s) started (only sessions whose process is
still alive: a shard killed with SIGKILL leaves a session that says "running" forever).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from . import claims, store


def running(out: Path) -> str | None:
    """Who holds the folder's lock now ("pid N on HOST"), or None if no sweep is writing."""
    path = Path(out) / store.LOCK
    if not path.exists():
        return None
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock to ask
        return None
    with open(path) as fh:
        try:  # (held for a moment only: a sweep starting in that moment is told the folder is in use)
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            return fh.read().strip() or "another process"
        except OSError:  # file systems without flock
            return None
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return None


def _when(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


def status(out: str | os.PathLike) -> dict[str, Any]:
    """The state of the sweep in ``out`` as a dict (see :func:`status_text` for the words)."""
    out = Path(out)
    manifest = store.read_manifest(out)  # (FileNotFoundError, naming the folder, if it holds no sweep)
    plan = manifest["runs"]
    done = store.done_runs(out)
    failed = store.failed_runs(out) - done
    errors: Counter = Counter()
    for run_id in failed:
        try:
            error = json.loads(store.failed_file(out, run_id).read_text()).get("error") or "unknown error"
        except (OSError, ValueError):
            error = "failure record unreadable"
        errors[str(error).splitlines()[0][:200]] += 1
    holder = running(out)
    current = claims.current_claims(out)
    lease = claims.lease_s()
    live = {i: c for i, c in current.items() if i not in done and not claims.is_stale(c, lease=lease)}
    # (a done or failed run's stale claim is litter: a holder removes only its own claim file, the
    # stale generations under it stay until a compaction)
    stale = {i: c for i, c in current.items() if i not in live and i not in done and i not in failed}
    session = (manifest.get("sessions") or [{}])[-1]
    started = _when(session.get("started")) if holder else None
    if live:  # shards: from the earliest start of a shard session still running and alive
        holders = {(c.holder.get("host"), c.holder.get("pid")) for c in live.values()}
        starts = [
            _when(r.get("started"))
            for r in _shard_sessions(out)
            if r.get("status") == "running" and _alive(r, holders, lease)
        ]
        starts += [_when(c.holder.get("since")) for c in live.values()]
        started = min((t for t in starts if t), default=None)
    now = time.time()
    recent = 0  # runs finished since then: summary files written since
    if (holder or live) and started and (out / store.SUMMARY).is_dir():
        with os.scandir(out / store.SUMMARY) as entries:
            recent = sum(1 for e in entries if e.name.endswith(".parquet") and e.stat().st_mtime >= started)
    rate = recent / (now - started) if recent and started and now > started else None
    to_run = len(plan) - len(done) - len(failed)
    return {
        "name": manifest.get("name"),
        "runs": len(plan),
        "done": len(done),
        "failed": len(failed),
        "to_run": to_run,
        "errors": dict(errors.most_common()),
        "running": holder,
        "since": session.get("started") if holder else None,
        "claimed": len(live),
        "claims": _by_holder(live),
        "stale_claims": len(stale),
        "stale": _by_holder(stale),
        "lease_s": lease,
        "compacted": len(store.compacted_runs(out)),
        "rate_per_s": rate,
        "eta_s": (to_run + len(failed)) / rate if rate else None,
    }


def _shard_sessions(out: Path) -> list[dict[str, Any]]:
    d = out / store.SESSIONS
    found = []
    if d.is_dir():
        for f in d.glob("*.json"):
            try:
                rec = json.loads(f.read_text())
                mtime = f.stat().st_mtime
            except (OSError, ValueError):
                continue
            if not isinstance(rec, dict):
                continue
            rec.pop("runs", None)
            rec["_mtime"] = mtime
            found.append(rec)
    return found


def _alive(session: dict[str, Any], holders: set[tuple[Any, Any]], lease: float) -> bool:
    """Whether the shard of a session that says "running" still runs: a shard killed with
    SIGKILL (or whose node died) leaves it saying so forever. On this host, its pid runs (the
    same process, where the start time tells); elsewhere, it holds a live claim or wrote its
    session record within the lease."""
    host, pid = session.get("host"), session.get("pid")
    if (host, pid) in holders:
        return True
    if host == claims.host() and isinstance(pid, int) and claims.can_probe_pids():
        return claims.pid_alive(pid, session.get("start"))
    return time.time() - session.get("_mtime", 0) <= lease


def _by_holder(found: dict[int, claims.Claim]) -> list[dict[str, Any]]:
    """Claims grouped by holder: who, how many runs, since when (the earliest), first run ids."""
    groups: dict[str, dict[str, Any]] = {}
    for run_id, c in sorted(found.items()):
        g = groups.setdefault(c.who(), {"holder": c.who(), "runs": 0, "since": None, "run_ids": []})
        g["runs"] += 1
        since = c.holder.get("since")
        if since and (g["since"] is None or since < g["since"]):
            g["since"] = since
        if len(g["run_ids"]) < 5:
            g["run_ids"].append(run_id)
    return sorted(groups.values(), key=lambda g: (-g["runs"], g["holder"]))


def status_text(s: dict[str, Any], out: str | os.PathLike) -> str:
    """:func:`status` in a few lines for the terminal."""
    lines = [
        f"sweep {s['name']!r} in {str(out)!r}: {s['done']:,} of {s['runs']:,} runs done, "
        f"{s['failed']:,} failed, {s['to_run']:,} still to run"
    ]
    eta = (
        f"{s['rate_per_s']:.2f} runs/s in this session, about "
        f"{_duration(s['eta_s'])} to go (the failed runs included, as a rerun retries them)"
        if s["rate_per_s"]
        else ""
    )
    if s.get("compacted"):
        lines.append(f"{s['compacted']:,} of the done runs are compacted")
    if s["running"]:
        lines.append(f"running now: {s['running']}, since {s['since']}" + (f"; {eta}" if eta else ""))
    if s.get("claimed"):
        lines.append(
            f"running now: {s['claimed']:,} runs claimed by {len(s['claims'])} process(es)"
            + (f"; {eta}" if eta else "")
        )
        lines += [_claim_line(g) for g in s["claims"]]
    if s.get("stale_claims"):
        lines.append(
            f"stale claims: {s['stale_claims']:,} runs claimed by processes that are gone (dead, or silent on "
            f"another host for over {s['lease_s']:.0f} s); rerunning their shard takes them over"
        )
        lines += [_claim_line(g) for g in s["stale"]]
    if not (s["running"] or s.get("claimed")):
        if s["to_run"] or s["failed"]:
            lines.append("not running: rerun the same sweep command (or its shards) on this folder to complete it")
        else:
            lines.append("complete")
    if s["errors"]:
        lines.append("failed runs, by the first line of their error:")
        lines += [f"  {n} x {e}" for e, n in s["errors"].items()]
    return "\n".join(lines)


def _claim_line(g: dict[str, Any]) -> str:
    ids = ", ".join(map(str, g["run_ids"])) + (", ..." if g["runs"] > len(g["run_ids"]) else "")
    return f"  {g['holder']}: {g['runs']:,} run(s) (run ids {ids}), since {g['since']}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
