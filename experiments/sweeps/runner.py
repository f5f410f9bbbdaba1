"""The sweep engine: a spec in, a folder of tidy Parquet tables out, resumable.

>>> from experiments.sweeps import load_spec, run_sweep, load_results
>>> spec = load_spec({"name": "demo", "steps": 52, "replications": 2, "seed": 1,
...                   "base": {"preset": "typical_tp", "n_consumers": 2000},
...                   "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.2]}}})
>>> runs = run_sweep(spec, "out/demo", executor="processes")      # doctest: +SKIP
>>> load_results("out/demo").timeseries                            # doctest: +SKIP

``run_sweep`` plans every run (design point x replication, one seed each), skips the runs
already on disk, sends the rest to an executor a few at a time, and writes each finished run
at once (atomically) from the parent. The parent keeps only a bounded number of runs in
flight, so its memory does not grow with the size of the sweep. A run that raises is recorded
with its traceback and the others go on; :class:`SweepFailed` is raised at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
import traceback as tb
from collections.abc import Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC
from pathlib import Path
from typing import Any

import pandas as pd

from . import claims, interrupts, store
from .errors import SweepFailed
from .executors import SerialExecutor, open_backend
from .spec import RunPlan, SweepSpec, load_spec

__all__ = ["run_sweep"]

MANIFEST_EVERY_S = 30.0  # refresh the manifest's per-run status at most this often


def run_sweep(
    spec: SweepSpec | Mapping[str, Any] | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    executor: Any = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = True,
    progress: bool | None = None,
    shard: tuple[int, int] | str | None = None,
) -> pd.DataFrame:
    """Run every run of ``spec`` not yet in ``out_dir``; return the per-run summary table.

    ``executor`` is ``"serial"``, ``"processes"`` (all cores unless ``workers``), ``"dask"``
    (a private ``LocalCluster``, or the scheduler at ``scheduler``), any
    ``concurrent.futures.Executor`` or a ``dask.distributed.Client``. ``resume=False`` refuses
    a folder that already holds results. ``progress``: a bar on stderr (None: only if stderr is
    a terminal). Raises :class:`SweepFailed` after all other runs finished if any run failed,
    and ``ValueError`` if ``out_dir`` holds a different sweep.

    ``shard=(i, n)`` (or ``"i/n"``) runs only the runs with ``run_id % n == i - 1``, side by
    side with the other shards in the same folder (see :func:`run_shard`); the runs of the
    whole sweep are returned, and :class:`SweepFailed` names this shard's failed runs only.
    """
    spec = load_spec(spec)
    claims.lease_s()  # (a bad AGENCY_SIM_CLAIM_LEASE is refused before the folder is touched)
    from model import vectors

    vectors.check()  # (and a bad AGENCY_SIM_VECTOR_BITS, rather than as every run's failure)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a folder")
    if shard is not None:
        return run_shard(
            spec, out, parse_shard(shard), executor=executor, workers=workers, scheduler=scheduler, progress=progress
        )
    out.mkdir(parents=True, exist_ok=True)
    with store.FolderLock(out) as lock:
        # Claims of live processes: shards on other nodes, where flock is node-local (the lock
        # does not reach them), or a lock that could not be taken. Refused as compaction does
        claims.refuse_if_live(
            out,
            ": shards are writing into it (on another node, if the file system's locks are node-local)",
            "wait for them to finish (agency-sim sweep --status shows who runs), or run this sweep as a shard "
            "too (--shard 1/1)",
        )
        shards_were_here = (out / store.CLAIMS).is_dir() or (out / store.SESSIONS).is_dir()
        if lock.locked:  # the stale claims of shards that died (a live one's is never removed)
            claims.remove_claims(out, stale_only=True)
        manifest = _open_folder(spec, out, resume)
        # a shard's temporary files are young; a killed session's are left alone until the lease has
        # passed if shards wrote here (one of them may still be writing: see above)
        store.remove_temp_files(out, older_than=claims.lease_s() if shards_were_here else None)
        _drop_damaged_parts(out)
        for run_id, problem in store.damaged_runs(out).items():  # resume verifies what each run wrote
            print(f"run {run_id}: {problem}; running it again", file=sys.stderr, flush=True)
            store.forget_run(out, run_id)
        done = store.done_runs(out)
        todo = [r for r in spec.runs() if r.run_id not in done]
        if done:  # resuming (or rerunning a finished sweep): say what is reused
            print(
                f"{len(done)} of {spec.n_runs} runs were already done in {str(out)!r}; "
                + (f"running the other {len(todo)}" if todo else "nothing to run"),
                file=sys.stderr,
                flush=True,
            )
        session = _session_info(executor, workers, scheduler)
        manifest["sessions"].append(session)
        failed_before = store.failed_runs(out)
        status = {
            r["run_id"]: "done" if r["run_id"] in done else "failed" if r["run_id"] in failed_before else "pending"
            for r in manifest["runs"]
        }
        _flush_manifest(out, manifest, status)
        failed_now: list[int] = []
        try:
            if todo:
                if (
                    isinstance(executor, str)
                    and executor == "processes"
                    and isinstance(workers, int)
                    and not isinstance(workers, bool)
                    and workers > len(todo)
                ):
                    workers = len(todo)  # no process without a run to do
                with interrupts.handled(term=False), open_backend(executor, workers, scheduler) as backend:
                    session["executor"] = backend.label
                    journal = _ManifestJournal(out, manifest, status)
                    failed_now = _execute(spec, out, todo, backend, journal, status, progress, n_done=len(done))
            session["status"] = "failed" if failed_now else "complete"
        except BaseException:
            session["status"] = "interrupted"
            raise
        finally:
            _end_session(session, todo, status)
            _flush_manifest(out, manifest, status)
    runs = store.Results(out, verify=False).runs  # verified at the start; the rest written just now
    failed = runs.loc[runs["status"] == "failed", "run_id"].tolist()
    if failed:
        raise SweepFailed(_failure_message(out, failed, len(runs)), failed, out, runs)
    return runs


def parse_shard(shard: tuple[int, int] | str) -> tuple[int, int]:
    """``"2/8"`` or ``(2, 8)`` -> (2, 8), checked: 1 <= i <= n."""
    if isinstance(shard, str):
        i, sep, n = shard.partition("/")
        if not sep or not i.strip().isdigit() or not n.strip().isdigit():
            raise ValueError(f"shard = {shard!r} is invalid: allowed is I/N with whole numbers 1 <= I <= N, e.g. 3/8")
        shard = (int(i), int(n))
    i, n = shard
    if isinstance(i, bool) or isinstance(n, bool) or not (isinstance(i, int) and isinstance(n, int)) or not 1 <= i <= n:
        raise ValueError(f"shard = {i}/{n} is invalid: allowed is I/N with whole numbers 1 <= I <= N, e.g. 3/8")
    return i, n


def _end_session(session: dict[str, Any], todo: list, status: dict[int, str]) -> None:
    """A session's end in its record: when, and how many of its runs are done and failed."""
    session["finished"] = store.now()
    session["runs_done"] = sum(1 for r in todo if status[r.run_id] == "done")
    session["runs_failed"] = sum(1 for r in todo if status[r.run_id] == "failed")


def run_shard(
    spec: SweepSpec,
    out: Path,
    shard: tuple[int, int],
    *,
    executor: Any = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    read_back: bool = True,
) -> pd.DataFrame | None:
    """Shard ``i`` of ``n``: the runs with ``run_id % n == i - 1`` (round robin, so the cheap
    and the costly design points spread evenly), written into ``out`` beside the other shards.

    Any number of shards (processes, Slurm array tasks, machines sharing a file system) may
    write into one folder at once: each takes the folder's lock shared (a one-process sweep or
    a compaction, which take it exclusively, are kept out) and claims each run before running
    it (.claims); a run claimed by a live process is left to it, a stale claim is taken over.
    The first shard creates the manifest (atomically, if absent); the others check theirs
    against it. Each shard records its session in ``sessions/`` instead of rewriting the
    manifest. The runs' rows are the same whatever the shard count or interleaving.
    ``read_back=False`` returns None instead of the whole sweep's runs table (whose reading
    costs a shard of a 100,000-run sweep minutes and hundreds of MB at its end).
    """
    i, n = shard
    label = f"{i}/{n}"
    out.mkdir(parents=True, exist_ok=True)
    with store.FolderLock(out, shared=True):
        _open_shared(spec, out)
        store.remove_temp_files(out, older_than=claims.lease_s())  # (not a live sibling's)
        mine = [r for r in spec.runs() if r.run_id % n == i - 1]
        ids = {r.run_id for r in mine}
        for run_id, problem in store.damaged_runs(out, store.loose_runs(out) & ids).items():
            live = claims.live_claims(out).get(run_id)
            if live is None:
                print(f"run {run_id}: {problem}; running it again", file=sys.stderr, flush=True)
                store.forget_run(out, run_id)
        done = store.done_runs(out) & ids
        todo = [r for r in mine if r.run_id not in done]
        print(
            f"shard {label}: {len(mine)} of the sweep's {spec.n_runs} runs; "
            + (f"{len(done)} already done, " if done else "")
            + (f"running {len(todo)}" if todo else "nothing to run"),
            file=sys.stderr,
            flush=True,
        )
        session = {**_session_info(executor, workers, scheduler), "shard": label}
        stamp = session["started"].replace(":", "")
        unique = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(4).hex()}"
        record = out / store.SESSIONS / f"{stamp}-{unique}.json"
        timing: dict[int, dict[str, Any]] = {}
        status = {r.run_id: "done" if r.run_id in done else "pending" for r in mine}
        log = _ShardLog(record, session, timing, status)
        log.flush()
        failed_now: list[int] = []
        try:
            with interrupts.handled(term=True), claims.Claims(out, shard=label) as held:
                if todo:
                    if executor == "processes" and isinstance(workers, int) and not isinstance(workers, bool):
                        workers = min(workers, len(todo))
                    with open_backend(executor, workers, scheduler) as backend:
                        session["executor"] = backend.label
                        failed_now = _execute(
                            spec, out, todo, backend, log, status, progress, n_done=len(done), held=held
                        )
            session["status"] = "failed" if failed_now else "complete"
        except BaseException:
            session["status"] = "interrupted"
            raise
        finally:
            _end_session(session, todo, status)
            session["runs_left_to_others"] = sum(1 for r in todo if status[r.run_id] == "claimed")
            log.flush()
        if session["runs_left_to_others"]:
            print(
                f"shard {label}: {session['runs_left_to_others']} of its runs were claimed by other live processes "
                "and left to them (agency-sim sweep --status shows who); rerun this shard if they do not finish them",
                file=sys.stderr,
                flush=True,
            )
    runs = store.Results(out, verify=False).runs if read_back else None
    if failed_now:
        raise SweepFailed(_failure_message(out, sorted(failed_now), len(mine)), sorted(failed_now), out, runs)
    return runs


class _ShardLog:
    """A shard's session record (``sessions/STARTED-HOST-PID.json``): what the manifest holds
    for a one-process sweep (the session, each run's timing), written by this shard only."""

    def __init__(self, path: Path, session: dict[str, Any], timing: dict[int, dict[str, Any]], status):
        self.path, self.session, self.timing, self.status = path, session, timing, status

    def flush(self) -> None:
        runs = {str(k): v for k, v in sorted(self.timing.items())}
        store.atomic_write_json(self.path, {**self.session, "runs": runs})


def _open_shared(spec: SweepSpec, out: Path) -> dict[str, Any]:
    """The folder's manifest, created by the first shard (atomically: whole or absent) and
    checked against ``spec`` by every other one."""
    path = out / store.MANIFEST
    if not path.exists():
        # (the manifest too: another shard may create it between our look and this listing)
        allowed = {store.LOCK, store.CLAIMS, store.SESSIONS, store.MANIFEST}
        others = [p.name for p in out.iterdir() if p.name not in allowed and not p.name.endswith(store.TMP_SUFFIX)]
        if others:
            raise ValueError(
                f"{str(out)!r} is not empty and holds no sweep manifest; refusing to write into it (use a new folder)"
            )
        manifest = _new_manifest(spec)
        manifest["sessions_in"] = store.SESSIONS  # (shards record their sessions there)
        data = (json.dumps(manifest, indent=1, default=store._json_default) + "\n").encode()
        if store.create_if_absent(path, data):
            return manifest
    for attempt in range(50):  # (a file system without hard links: the creator may still be writing)
        try:
            manifest = store.read_manifest(out)
            break
        except (json.JSONDecodeError, ValueError) as exc:
            if attempt == 49:
                raise ValueError(f"{str(path)!r} is unreadable ({exc}); refusing to write into {str(out)!r}") from None
            time.sleep(0.1)
    if manifest.get("spec_hash") != spec.spec_hash:
        diffs = _spec_diff(manifest.get("spec", {}), spec.to_dict())
        grown = _grown(manifest, spec) and " (a grown Sobol' sweep: grow it with one sweep without --shard first)"
        raise ValueError(
            f"{str(out)!r} holds a different sweep ({manifest.get('name')!r}); this shard's spec "
            f"differs in: {', '.join(diffs[:6]) or 'spec hash'}{grown or ''}. Every shard must run the same spec: "
            "use a new --out folder, or the spec the folder was started with"
        )
    return manifest


def _drop_damaged_parts(out: Path) -> None:
    """A one-process sweep (holding the folder alone) drops compacted files that do not match
    the index, with every file of their batch, so that their runs run again."""
    from .compact import _write_index

    index = store.read_index(out)
    bad = store.damaged_parts(out, index)
    if not bad:
        return
    batches = {p["batch"] for p in index["parts"] if p["file"] in bad}
    dropped = [p for p in index["parts"] if p["batch"] in batches]
    n = len(set().union(*(p["ids"] for p in dropped if p["table"] == store.SUMMARY)))
    print(f"{'; '.join(bad.values())}; running the {n} run(s) of its batch again", file=sys.stderr, flush=True)
    _write_index(out, [{k: v for k, v in p.items() if k != "ids"} for p in index["parts"] if p["batch"] not in batches])
    for p in dropped:
        try:
            os.unlink(out / store.COMPACT / p["file"])
        except FileNotFoundError:
            pass


# --- the folder -----------------------------------------------------------------------------
def _open_folder(spec: SweepSpec, out: Path, resume: bool) -> dict[str, Any]:
    """The manifest of ``out``: new for an empty folder, checked against ``spec`` otherwise."""
    path = out / store.MANIFEST
    if not path.exists():
        others = [p.name for p in out.iterdir() if p.name != store.LOCK]
        if others:
            raise ValueError(
                f"{str(out)!r} is not empty and holds no sweep manifest; refusing to write into it (use a new folder)"
            )
        return _new_manifest(spec)
    try:
        manifest = store.read_manifest(out)
    except (json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is unreadable ({exc}); refusing to write into {str(out)!r}") from None
    if manifest.get("spec_hash") != spec.spec_hash and _grown(manifest, spec):
        if not resume:
            raise ValueError(
                f"{str(out)!r} holds this Sobol' sweep at N = {manifest['spec']['design']['samples']} and resume is "
                "off; growing it keeps its runs, so it needs resume (or use a new folder)"
            )
        return _grow(manifest, spec, out)
    if manifest.get("spec_hash") != spec.spec_hash:
        diffs = _spec_diff(manifest.get("spec", {}), spec.to_dict())
        raise ValueError(
            f"{str(out)!r} holds a different sweep ({manifest.get('name')!r}); refusing to mix "
            f"results (differs in: {', '.join(diffs[:6]) or 'spec hash'}). "
            "Use a new --out folder, or rerun with the original spec to resume it"
        )
    if not resume:
        raise ValueError(
            f"{str(out)!r} already holds this sweep and resume is off; use a new folder, or resume to complete it"
        )
    return manifest


def _grown(manifest: dict[str, Any], spec: SweepSpec) -> bool:
    """Whether ``spec`` is the folder's Sobol' sweep with more samples and nothing else changed,
    and its plan begins with the folder's plan (SALib's Sobol' sample for N is the first part
    of the one for 2N with the same seed; the runs' ids and seeds follow from their position)."""
    old = manifest.get("spec", {})
    new = spec.to_dict()
    if old.get("design", {}).get("kind") != "sobol" or new["design"]["kind"] != "sobol":
        return False
    if new["design"].get("samples", 0) <= old["design"].get("samples", 0):
        return False
    same_else = {**old, "design": {**old["design"], "samples": None}} == {
        **new,
        "design": {**new["design"], "samples": None},
    }
    if not same_else:
        return False
    keys = ("run_id", "point", "replication", "seed", "values")
    planned = [{k: getattr(r, k) for k in keys} for r in spec.runs()]
    return planned[: len(manifest["runs"])] == [{k: r[k] for k in keys} for r in manifest["runs"]]


def _grow(manifest: dict[str, Any], spec: SweepSpec, out: Path) -> dict[str, Any]:
    """The folder's manifest for the grown Sobol' sweep: its runs kept, the new ones pending."""
    old_n = manifest["spec"]["design"]["samples"]
    fresh = _new_manifest(spec)
    kept = len(manifest["runs"])
    print(
        f"growing the Sobol' sweep in {str(out)!r} from N = {old_n} to N = {spec.design.samples}: "
        f"its {kept} planned runs are kept; {spec.n_runs - kept} runs are added",
        file=sys.stderr,
        flush=True,
    )
    return {
        **fresh,
        "created": manifest.get("created", fresh["created"]),
        "sessions": manifest.get("sessions", []),
        "runs": [*manifest["runs"], *fresh["runs"][kept:]],
    }


def _spec_diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(dict.fromkeys([*old, *new]))
        out = []
        for k in keys:
            out += _spec_diff(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else str(k))
        if not out and list(old) != list(new):
            out.append(f"{prefix or 'spec'} (order)")
        return out
    return [] if old == new else [prefix or "spec"]


def _new_manifest(spec: SweepSpec) -> dict[str, Any]:
    from model import SUMMARY_KEYS

    git = _git_info()
    return {
        "format": store.FORMAT,
        "name": spec.name,
        "created": store.now(),
        "updated": store.now(),
        "spec_hash": spec.spec_hash,
        "spec": spec.to_dict(),
        "n_runs": spec.n_runs,
        "n_points": spec.n_points,
        "varied": list(spec.varied),
        "tables": ["summary", *spec.tables],
        "outcomes": list(SUMMARY_KEYS),
        "problem": spec.design.problem(),
        "seeding": "run i uses SeedSequence(seed, spawn_key=(i,)) (replication r instead of i "
        "with common_random_numbers; in a crossed design, sample point x replications + replication, "
        "so the factor's levels share their seeds), reduced to 63 bits: experiments.sweeps.spec.run_seed",
        "package": _versions(),
        "git": git,
        "sessions": [],
        "runs": [
            {
                "run_id": r.run_id,
                "point": r.point,
                "replication": r.replication,
                "seed": r.seed,
                "values": r.values,
                "status": "pending",
            }
            for r in spec.runs()
        ],
    }


def _flush_manifest(out: Path, manifest: dict[str, Any], status: dict[int, str]) -> None:
    for r in manifest["runs"]:
        r["status"] = status[r["run_id"]]
    manifest["status"] = {s: sum(1 for v in status.values() if v == s) for s in ("done", "failed", "pending")}
    store.write_manifest(out, manifest)


# --- the loop -------------------------------------------------------------------------------
class _ManifestJournal:
    """Where a one-process sweep records each run's timing: the manifest, rewritten now and then."""

    def __init__(self, out: Path, manifest: dict[str, Any], status: dict[int, str]):
        self.out, self.manifest, self.status = out, manifest, status
        self.timing = {r["run_id"]: r for r in manifest["runs"]}

    def flush(self) -> None:
        _flush_manifest(self.out, self.manifest, self.status)


def _execute(
    spec: SweepSpec,
    out: Path,
    todo: list[RunPlan],
    backend,
    journal,
    status,
    progress: bool | None,
    n_done: int,
    held: claims.Claims | None = None,
) -> list[int]:
    """Run ``todo`` on ``backend``, writing each finished run. With ``held`` (a shard), each run
    is claimed before it is sent and its claim removed once its files are on disk; a run
    claimed by a live process is left to it (status "claimed")."""
    from .worker import RunTask, execute_run

    timing = journal.timing
    tasks = iter(todo)
    pending: dict[Any, RunPlan] = {}
    failed: list[int] = []
    bar = _progress_bar(spec, n_done, progress, total=n_done + len(todo))
    last_flush = time.monotonic()

    requeued: list[RunPlan] = []  # runs a broken pool refused at submission: submitted again first
    pool_broke = [False]

    def submit_more():
        while len(pending) < backend.window():
            plan = requeued.pop(0) if requeued else next(tasks, None)
            if plan is None:
                return
            if held is not None and plan.run_id not in held.held:
                other = held.acquire(plan.run_id)
                if other is not None:  # a live process runs it
                    status[plan.run_id] = "claimed"
                    bar.update(1)
                    continue
                if store.run_file(out, store.SUMMARY, plan.run_id).exists():  # finished since we looked
                    held.release(plan.run_id)
                    status[plan.run_id] = "done"
                    bar.update(1)
                    continue
            task = RunTask(
                plan.run_id,
                plan.point,
                plan.replication,
                plan.seed,
                spec.steps,
                spec.params_dict(plan.values),
                plan.values,
                spec.tables,
            )
            try:
                pending[backend.executor.submit(execute_run, task)] = plan
            except BrokenProcessPool:  # a worker died since the last look: restart, then submit it
                requeued.insert(0, plan)
                pool_broke[0] = True
                return

    def record(plan: RunPlan, ok: bool, info: dict[str, Any]):
        status[plan.run_id] = "done" if ok else "failed"
        timing.setdefault(plan.run_id, {}).update(info)
        if held is not None:  # (its summary or failure record is on disk)
            held.release(plan.run_id)
        if not ok:
            failed.append(plan.run_id)
        bar.update(1)
        bar.set_postfix(failed=len(failed), refresh=False)

    def handle(fut) -> bool:
        """Write or record one finished run; True if the executor broke."""
        plan = pending.pop(fut)
        try:
            res = fut.result()
        except BrokenProcessPool as exc:
            _write_failure(
                out,
                plan,
                f"worker process died (out of memory or a crash in native code) while this run was in flight: {exc!r}",
                "".join(tb.format_exception(exc)),
            )
            record(plan, False, {"error": "worker process died"})
            return True
        except Exception as exc:  # noqa: BLE001 - e.g. dask's KilledWorker, a pickling error
            _write_failure(out, plan, f"{type(exc).__name__}: {exc}", "".join(tb.format_exception(exc)))
            record(plan, False, {"error": f"{type(exc).__name__}: {exc}"})
            return False
        info = {
            "finished": _iso(res.finished),
            "duration_s": round(res.finished - res.started, 4),
            "cpu_s": round(res.cpu_s, 4),
            "worker": res.worker,
        }
        if res.ok:
            _write_run(out, plan, res.files)
            record(plan, True, {**info, "error": None})
        else:
            _write_failure(out, plan, res.error, res.traceback, res.worker)
            record(plan, False, {**info, "error": res.error})
        return False

    # with the runs in other processes or threads, the loop is a section an interrupt does not
    # split (it lands in the executor's own code otherwise, which can leave a lock held for
    # good): it is raised between waits. A serial run is in this thread: it stops at once.
    serial = isinstance(backend.executor, SerialExecutor)
    try:
        with contextlib.nullcontext() if serial else interrupts.deferred_signals():
            submit_more()
            while pending or requeued:
                finished = _wait(pending, FIRST_COMPLETED) if pending else set()
                broken = [handle(fut) for fut in finished]
                if any(broken) or pool_broke[0]:
                    pool_broke[0] = False
                    # a dead worker fails every run in flight; record them, then start a new pool
                    for fut in _wait(pending, ALL_COMPLETED):
                        handle(fut)
                    if not backend.restart():
                        raise RuntimeError("the executor broke (a worker process died) and cannot be restarted")
                if time.monotonic() - last_flush > MANIFEST_EVERY_S:
                    journal.flush()
                    last_flush = time.monotonic()
                submit_more()
    except BaseException:
        with interrupts.deferred_signals():  # (a second Ctrl-C must not split this either)
            for fut in pending:
                fut.cancel()
            backend.abort()
        raise
    finally:
        bar.close()
    return failed


def _wait(pending, return_when: str) -> set:
    """The futures of ``pending`` done (one at least, or all; none if it is empty), looking every
    :data:`interrupts.POLL_S` for an interrupt held back."""
    while True:
        done, not_done = wait(list(pending), timeout=interrupts.POLL_S, return_when=return_when)
        interrupts.raise_if_interrupted()
        if not not_done or (done and return_when == FIRST_COMPLETED):
            return done


def _write_run(out: Path, plan: RunPlan, files: dict[str, bytes]) -> None:
    # the summary goes last: once it exists the run is done, and everything else is whole
    for table, data in files.items():
        if table != store.SUMMARY:
            store.atomic_write(store.run_file(out, table, plan.run_id), data)
    store.atomic_write_json(store.receipt_file(out, plan.run_id), store.receipt(files))
    store.atomic_write(store.run_file(out, store.SUMMARY, plan.run_id), files[store.SUMMARY])
    stale = store.failed_file(out, plan.run_id)
    if stale.exists():
        stale.unlink()


def _write_failure(out: Path, plan: RunPlan, error: str, traceback: str, worker: str = "") -> None:
    store.atomic_write_json(
        store.failed_file(out, plan.run_id),
        {
            "run_id": plan.run_id,
            "point": plan.point,
            "replication": plan.replication,
            "seed": plan.seed,
            "values": plan.values,
            "error": error,
            "worker": worker,
            "time": store.now(),
            "traceback": traceback,
        },
    )


def _failure_message(out: Path, failed: list[int], n_runs: int) -> str:
    shown = ", ".join(str(i) for i in failed[:20]) + (", ..." if len(failed) > 20 else "")
    files = "\n".join(f"  {store.failed_file(out, i)}" for i in failed[:5])
    more = f"\n  ... and {len(failed) - 5} more in {out / store.FAILED}" if len(failed) > 5 else ""
    rest = n_runs - len(failed)
    return (
        f"{len(failed)} of {n_runs} runs failed (run ids {shown})"
        f"{f'; the {rest} other runs are on disk' if rest else ''}.\n"
        f"Tracebacks:\n{files}{more}\n"
        "Rerun the same command to retry only the failed runs."
    )


def _progress_bar(spec: SweepSpec, n_done: int, progress: bool | None, total: int | None = None):
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(
        total=spec.n_runs if total is None else total,  # (a shard: its own runs)
        initial=n_done,
        desc=spec.name,
        unit="run",
        disable=not show,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.05,
    )


# --- provenance -------------------------------------------------------------------------------
def _iso(t: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _session_info(executor, workers, scheduler) -> dict[str, Any]:
    return {
        "started": store.now(),
        "finished": None,
        "status": "running",
        "executor": executor if isinstance(executor, str) else type(executor).__name__,
        "workers": workers,
        "scheduler": scheduler,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "start": claims._start_time(os.getpid()),  # (so --status does not take a reused pid for it)
        "package": _versions()["agency-sim"],
        "git": _git_info(),
    }


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("agency-sim", "mesa", "numpy", "pandas", "pyarrow", "scipy", "SALib", "distributed"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    if out["agency-sim"] is None:
        import model

        out["agency-sim"] = getattr(model, "__version__", None)
    return out


def _git_info() -> dict[str, Any] | None:
    """Commit of the source tree the model was imported from (None outside a git checkout)."""
    import model

    root = Path(model.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "model", "experiments"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
