"""A sweep's state at a glance (``agency-sim sweep --status DIR``), without loading its tables.

Reads the manifest (the plan and each finished run's timing), lists the per-run summary and
failure files, and asks the folder's lock whether a sweep is writing into it now: done,
failed (with the first line of each error, counted), still to run, who is running it and since
when, and an estimate of the time left from the rate of the runs finished in this session.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from . import store


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
    session = (manifest.get("sessions") or [{}])[-1]
    started = _when(session.get("started"))
    now = time.time()
    recent = 0  # runs this session finished: summary files written since it started
    if holder and started:
        with os.scandir(out / store.SUMMARY) as entries:
            recent = sum(1 for e in entries if e.name.endswith(".parquet") and e.stat().st_mtime >= started)
    rate = recent / (now - started) if recent and now > started else None
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
        "rate_per_s": rate,
        "eta_s": (to_run + len(failed)) / rate if rate else None,
    }


def status_text(s: dict[str, Any], out: str | os.PathLike) -> str:
    """:func:`status` in a few lines for the terminal."""
    lines = [
        f"sweep {s['name']!r} in {str(out)!r}: {s['done']:,} of {s['runs']:,} runs done, "
        f"{s['failed']:,} failed, {s['to_run']:,} still to run"
    ]
    if s["running"]:
        line = f"running now: {s['running']}, since {s['since']}"
        if s["rate_per_s"]:
            line += (
                f"; {s['rate_per_s']:.2f} runs/s in this session, about "
                f"{_duration(s['eta_s'])} to go (the failed runs included, as a rerun retries them)"
            )
        lines.append(line)
    elif s["to_run"] or s["failed"]:
        lines.append("not running: rerun the same sweep command on this folder to complete it")
    else:
        lines.append("complete")
    if s["errors"]:
        lines.append("failed runs, by the first line of their error:")
        lines += [f"  {n} x {e}" for e, n in s["errors"].items()]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
