"""A 100,000-run sweep of tiny runs written by shards into one folder, then compacted (issue 26).
Prints one JSON line per stage.

    python benchmarks/bench_cluster.py                      # 100,000 runs, 2 shards at once
    python benchmarks/bench_cluster.py --runs 2000          # smaller
    python benchmarks/bench_cluster.py --synthetic          # write the store's files directly

sweep      the shards (``agency-sim sweep SPEC --out OUT --shard I/N --executor serial``, or
           ``--executor processes --workers W`` with ``--workers W``) started at once: wall
           time, runs per second, each shard's peak resident memory (ru_maxrss of the shard's
           own process: with the serial executor it simulates too, with workers it only
           writes), and ``--status`` timed once while they run.
           With ``--synthetic`` no run is simulated: the per-run files (summary, timeseries,
           receipt), the manifest and the shards' session records are written in the engine's
           exact format (its own Parquet encoder, receipt and manifest code), from a few real
           runs' tables with each run's id, point, replication, seed and parameter put in.
before /   files and bytes in the folder, the wall time of ``agency-sim sweep --status`` (a
after      fresh process, the whole command), and of ``load_results(OUT).runs`` and
           ``.timeseries`` in a fresh process, with its peak memory.
compact    ``agency-sim sweep --compact OUT`` (a fresh process): wall time, peak memory.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = {"n_consumers": 20, "n_brands": 2, "n_agencies": 1, "burn_in_weeks": 0}

# runs the CLI, then prints this process's peak memory (MiB) as the last line of stderr
MAXRSS = (
    "import resource, sys\n"
    "from experiments.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    print('maxrss_mib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
LOAD = (
    "import json, resource, sys, time\n"
    "from experiments.sweeps import load_results\n"
    "t = time.perf_counter(); res = load_results(sys.argv[1]); runs = res.runs; t_runs = time.perf_counter() - t\n"
    "t = time.perf_counter(); ts = res.timeseries; t_ts = time.perf_counter() - t\n"
    "print(json.dumps({'load_runs_s': round(t_runs, 2), 'load_timeseries_s': round(t_ts, 2), 'rows': len(ts),\n"
    "    'done': int((runs['status'] == 'done').sum()),\n"
    "    'load_maxrss_mib': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))\n"
)


def spec(runs: int) -> dict:
    import numpy as np

    points = max(1, runs // 100)
    reps = runs // points
    rates = [round(float(x), 6) for x in np.linspace(0.01, 0.5, points)]
    return {
        "name": "bench_cluster",
        "steps": 1,
        "replications": reps,
        "seed": 26,
        "base": TINY,
        "design": {"kind": "grid", "factors": {"commission_rate": rates}},
        "outputs": {"timeseries": True},
        "max_runs": max(runs, 1),
    }


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return e


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", MAXRSS, *args]


def maxrss(stderr: str) -> float | None:
    for line in reversed(stderr.splitlines()):
        if line.startswith("maxrss_mib "):
            return round(float(line.split()[1]))
    return None


def folder_size(out: Path) -> tuple[int, int]:
    files = size = 0
    for root, _, names in os.walk(out):
        for n in names:
            files += 1
            size += os.path.getsize(os.path.join(root, n))
    return files, size


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stderr}")
    return time.perf_counter() - t, proc


def measure(out: Path, stage: str) -> dict:
    files, size = folder_size(out)
    status_s, status = timed([sys.executable, "-m", "experiments.cli", "sweep", "--status", str(out)])
    _, load = timed([sys.executable, "-c", LOAD, str(out)])
    return {
        "stage": stage,
        "files": files,
        "mib": round(size / 2**20, 1),
        "status_s": round(status_s, 2),
        "status_first_line": status.stdout.splitlines()[0],
        **json.loads(load.stdout),
    }


def real_sweep(spec_path: Path, out: Path, shards: int, workers: int) -> dict:
    t = time.perf_counter()
    how = ["--executor", "processes", "--workers", str(workers)] if workers else ["--executor", "serial"]
    procs = [
        subprocess.Popen(
            cli("sweep", str(spec_path), "--out", str(out), "--shard", f"{i}/{shards}", *how),
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(1, shards + 1)
    ]
    mid = None
    while any(p.poll() is None for p in procs):
        time.sleep(1)
        if mid is None and time.perf_counter() - t > 30 and (out / "manifest.json").exists():
            mid_s, st = timed([sys.executable, "-m", "experiments.cli", "sweep", "--status", str(out)])
            mid = {"status_while_running_s": round(mid_s, 2), "status_while_running": st.stdout.splitlines()[:3]}
    errs = [p.stderr.read() for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("a shard failed:\n" + "\n".join(errs))
    wall = time.perf_counter() - t
    return {"sweep_wall_s": round(wall, 1), "shard_maxrss_mib": [maxrss(e) for e in errs], **(mid or {})}


def synthetic_sweep(sweep_spec: dict, out: Path, shards: int) -> dict:
    """The files a sharded sweep leaves, written directly in the engine's format."""
    import pandas as pd

    from experiments.sweeps import load_spec, store
    from experiments.sweeps.runner import _new_manifest, _session_info
    from experiments.sweeps.worker import RunTask, execute_run, to_parquet

    t = time.perf_counter()
    s = load_spec(sweep_spec)
    plans = list(s.runs())
    templates = []
    for r in plans[:20]:  # a few real runs: their tables are the pattern
        task = RunTask(r.run_id, r.point, r.replication, r.seed, s.steps, s.params_dict(r.values), r.values, s.tables)
        res = execute_run(task)
        templates.append({k: pd.read_parquet(io.BytesIO(v)) for k, v in res.files.items()})
    out.mkdir(parents=True)
    manifest = _new_manifest(s)
    store.create_if_absent(out / store.MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
    for d in (store.SUMMARY, "timeseries", store.RECEIPTS, store.SESSIONS, "claims"):
        (out / d).mkdir()
    (out / store.LOCK).touch()
    timing: dict[int, dict] = {i: {} for i in range(shards)}
    for r in plans:
        tpl = templates[r.run_id % len(templates)]
        key = {"run_id": r.run_id, "seed": r.seed, **r.values}
        ts = tpl["timeseries"].assign(**key)
        ids = {"run_id": r.run_id, "point": r.point, "replication": r.replication, "seed": r.seed}
        summary = tpl["summary"].assign(**ids, **r.values)
        files = {"timeseries": to_parquet(ts), "summary": to_parquet(summary)}
        for table, data in files.items():
            store.run_file(out, table, r.run_id).write_bytes(data)
        store.receipt_file(out, r.run_id).write_text(json.dumps(store.receipt(files), indent=1) + "\n")
        timing[r.run_id % shards][str(r.run_id)] = {
            "finished": store.now(),
            "duration_s": 0.01,
            "cpu_s": 0.01,
            "worker": "synthetic",
            "error": None,
        }
    for i in range(shards):
        session = {**_session_info("serial", None, None), "shard": f"{i + 1}/{shards}", "status": "complete"}
        (out / store.SESSIONS / f"synthetic-{i + 1}.json").write_text(json.dumps({**session, "runs": timing[i]}))
    return {"synthetic_write_s": round(time.perf_counter() - t, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--synthetic", action="store_true", help="write the store's files instead of running the runs")
    ap.add_argument("--sweep-only", action="store_true", help="stop after the sweep (no compaction, no loading)")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes per shard (default 0: the serial executor, the shard simulates in its own process)",
    )
    ap.add_argument("--out", help="folder to write (default: a temporary one, removed at the end)")
    args = ap.parse_args()
    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_cluster."))
    out = base / "sweep"
    spec_path = base / "spec.json"
    sweep_spec = spec(args.runs)
    base.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(json.dumps(sweep_spec))
    n = sweep_spec["replications"] * len(sweep_spec["design"]["factors"]["commission_rate"])
    head = {"runs": n, "shards": args.shards, "workers": args.workers, "synthetic": args.synthetic}
    head["cpus"] = os.cpu_count()
    try:
        if args.synthetic:
            made = synthetic_sweep(sweep_spec, out, args.shards)
        else:
            made = real_sweep(spec_path, out, args.shards, args.workers)
            made["runs_per_s"] = round(n / made["sweep_wall_s"], 1)
        print(json.dumps({"stage": "sweep", **head, **made}), flush=True)
        if args.sweep_only:
            return
        print(json.dumps(measure(out, "before compaction")), flush=True)
        compact_s, proc = timed(cli("sweep", "--compact", str(out)))
        print(
            json.dumps(
                {
                    "stage": "compact",
                    "compact_s": round(compact_s, 1),
                    "compact_maxrss_mib": maxrss(proc.stderr),
                    "said": proc.stdout.splitlines()[0],
                }
            ),
            flush=True,
        )
        print(json.dumps(measure(out, "after compaction")), flush=True)
    finally:
        if not args.out:
            shutil.rmtree(base, ignore_errors=True)
    _ = resource  # (imported for the drivers' sake: documents what maxrss means)


if __name__ == "__main__":
    main()
