"""Sweep engine performance: throughput against mesa.batch_run, parallel speed-up, and the
parent's peak memory as the sweep grows. Prints one JSON line per case.

    python benchmarks/bench_sweep.py                  # all three cases
    python benchmarks/bench_sweep.py --case overhead  # one case (throughput, speedup, memory, overhead)
    python benchmarks/bench_sweep.py --quick          # smaller, for a smoke test

throughput  the same design (grid x seeds) through ``mesa.batch_run`` and through
            ``run_sweep(executor="processes")`` with the same worker count, in one process,
            one after the other; the engine also writes every run's summary and weekly series
            to Parquet and reads the summary table back. Both must give the same final-week
            GMV for every run (checked), so they did the same work.
speedup     runs of about a second through the engine with 1 and then 2 worker processes.
memory      the same runs as a 50-run and a 500-run sweep, each in a fresh process; the peak
            resident memory (ru_maxrss) of the parent process only.
overhead    the engine's own cost (issue 23, items 3 and 4): the focal-contract quick design's
            128 runs (its contrast at 64 replications per arm) and a 1,000-run design of 20-week
            runs (where per-run overhead dominates), each as one sweep; prints the wall time, the
            sum of the runs' CPU seconds (measured in the workers), wall / (CPU / workers) (the
            target is at most 1.15), and for the focal design the kernel-only bound: the runs'
            kernel time / workers, from the market's share of CPU in a sample of the same runs.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# single-threaded NumPy in every worker, so "workers" means cores
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _spec(name, steps, base, commission_rates, replications, tables=("timeseries",)):
    return {
        "name": name,
        "steps": steps,
        "replications": replications,
        "seed": 2024,
        "base": base,
        "design": {"kind": "grid", "factors": {"commission_rate": commission_rates}},
        "outputs": {t: True for t in tables},
    }


def case_throughput(workers: int, quick: bool) -> dict:
    import mesa
    from mesa import batch_run

    from experiments.sweeps import load_results, load_spec, run_sweep
    from model import AgencyMarket

    base = {"n_consumers": 2000, "n_brands": 6, "n_agencies": 3, "burn_in_weeks": 8}
    rates = [0.03, 0.08, 0.15, 0.3]
    # common random numbers: replication r has the same seed at every rate, so mesa's
    # batch_run, which crosses every listed value, runs exactly the same (rate, seed) pairs
    spec = load_spec(
        {**_spec("throughput", 26 if quick else 52, base, rates, 3 if quick else 10), "common_random_numbers": True}
    )
    plans = list(spec.runs())
    seeds = sorted({p.seed for p in plans})

    # the same seeds and last week on every Mesa line. Seeds: from 3.4 batch_run's own argument
    # (`iterations` would seed every run afresh), before it one more parameter. The week a row
    # reports: from 3.4.1 the model time collected (weeks counted from 1), before it the index of
    # the week collected (from 0). Weeks run: max_steps + 1 up to 3.4, max_steps from 3.5 (its
    # Model has run_for), so on 3.4.1+ Mesa runs one week more than the engine (`mesa_weeks`)
    max_steps = spec.steps if hasattr(mesa.DataCollector(), "_collection_steps") else spec.steps - 1
    mesa_weeks = max_steps if hasattr(mesa.Model, "run_for") else max_steps + 1
    if "rng" in inspect.signature(batch_run).parameters:
        seeding = {"parameters": {**base, "commission_rate": rates}, "rng": seeds}
    else:
        seeding = {"parameters": {**base, "commission_rate": rates, "rng": seeds}, "iterations": 1}
    t0 = time.perf_counter()
    rows = batch_run(AgencyMarket, **seeding, max_steps=max_steps, number_processes=workers, display_progress=False)
    t_mesa = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(spec, Path(tmp) / "sweep", executor="processes", workers=workers, progress=False)
        ts = load_results(Path(tmp) / "sweep").timeseries
        t_engine = time.perf_counter() - t0
    last = ts[ts["week"] == spec.steps - 1].set_index(["commission_rate", "seed"])["gmv"]
    # (a row per run: the week the engine ends with, else the comparison fails)
    mesa_last = {(r["commission_rate"], r["rng"]): r["gmv"] for r in rows if r["week"] == spec.steps - 1}
    same = len(mesa_last) == len(plans) == len(last) and all(
        abs(mesa_last[k] - v) <= 1e-9 * abs(v) for k, v in last.items()
    )
    n = len(plans)
    return {
        "case": "throughput_vs_mesa_batch_run",
        "runs": n,
        "workers": workers,
        "weeks": spec.steps,
        "mesa_weeks": mesa_weeks,
        "n_consumers": base["n_consumers"],
        "n_brands": base["n_brands"],
        "mesa_batch_run_s": round(t_mesa, 2),
        "engine_s": round(t_engine, 2),
        "mesa_batch_run_runs_per_s": round(n / t_mesa, 2),
        "engine_runs_per_s": round(n / t_engine, 2),
        "engine_over_mesa": round(t_mesa / t_engine, 2),
        "engine_writes": "summary + weekly Parquet",
        "same_results": bool(same),
    }


def case_speedup(quick: bool) -> dict:
    from experiments.sweeps import load_spec, run_sweep
    from model import simulate

    base = {"n_consumers": 10_000, "n_brands": 12}
    steps = 52 if quick else 104
    spec = load_spec(_spec("speedup", steps, base, [0.05, 0.1, 0.2, 0.3], 1 if quick else 2))
    t0 = time.perf_counter()
    simulate(spec.params({"commission_rate": 0.1}), steps=steps, seed=0)
    one_run = time.perf_counter() - t0
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w in (1, 2):
            t0 = time.perf_counter()
            run_sweep(spec, Path(tmp) / f"w{w}", executor="processes", workers=w, progress=False)
            times[w] = time.perf_counter() - t0
    return {
        "case": "speedup_2_over_1_workers",
        "runs": spec.n_runs,
        "weeks": steps,
        "n_consumers": base["n_consumers"],
        "seconds_per_run_serial": round(one_run, 2),
        "workers_1_s": round(times[1], 2),
        "workers_2_s": round(times[2], 2),
        "speedup": round(times[1] / times[2], 2),
        "cpus": os.cpu_count(),
    }


def _memory_spec(n_runs: int) -> dict:
    base = {"n_consumers": 500, "n_brands": 12, "n_agencies": 4, "burn_in_weeks": 4}
    rates = [round(0.01 * (i + 1), 4) for i in range(10)]
    return _spec(f"memory{n_runs}", 52, base, rates, n_runs // 10, tables=("timeseries", "brands", "agencies"))


def _memory_child(n_runs: int, workers: int) -> None:
    from experiments.sweeps import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        runs = run_sweep(_memory_spec(n_runs), Path(tmp) / "m", executor="processes", workers=workers, progress=False)
        elapsed = time.perf_counter() - t0
        on_disk = sum(f.stat().st_size for f in (Path(tmp) / "m").rglob("*.parquet"))
    print(
        json.dumps(
            {
                "runs": len(runs),
                "seconds": round(elapsed, 2),
                "parquet_mb": round(on_disk / 2**20, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def case_memory(workers: int, quick: bool) -> dict:
    small, large = (20, 100) if quick else (50, 500)
    out = {}
    for n in (small, large):
        proc = subprocess.run(
            [sys.executable, __file__, "--_memory-child", str(n), "--workers", str(workers)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[n] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "case": "parent_peak_memory",
        "workers": workers,
        "runs_small": small,
        "peak_rss_small_mb": out[small]["peak_rss_mb"],
        "runs_large": large,
        "peak_rss_large_mb": out[large]["peak_rss_mb"],
        "large_over_small": round(out[large]["peak_rss_mb"] / out[small]["peak_rss_mb"], 3),
        "parquet_written_large_mb": out[large]["parquet_mb"],
        "large_sweep_s": out[large]["seconds"],
    }


def _timed_sweep(spec: dict, workers: int) -> dict:
    """Run ``spec`` as one sweep; the wall time, the runs' CPU seconds and their ratio."""
    from experiments.sweeps import run_sweep
    from experiments.sweeps.store import read_manifest

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(spec, Path(tmp) / "s", executor="processes", workers=workers, progress=False)
        wall = time.perf_counter() - t0
        runs = read_manifest(Path(tmp) / "s")["runs"]
    cpu = sum(r["cpu_s"] for r in runs)
    return {
        "runs": len(runs),
        "workers": workers,
        "wall_s": round(wall, 2),
        "runs_cpu_s": round(cpu, 2),
        "wall_over_cpu_per_worker": round(wall / (cpu / workers), 3),
        "target": 1.15,
    }


def _kernel_share(spec: dict, sample: int) -> float:
    """The market's share of a run's CPU time, over ``sample`` of the design's runs in this process."""
    from experiments.sweeps import load_spec
    from model import simulate
    from model.market import Market

    market = [0.0]
    originals = {name: getattr(Market, name) for name in ("shop", "brand_value")}

    def timed(f):
        def run(self, *a, **k):
            c = time.process_time()
            try:
                return f(self, *a, **k)
            finally:
                market[0] += time.process_time() - c

        return run

    loaded = load_spec(spec)
    plans = list(loaded.runs())[:sample]
    simulate(loaded.params(plans[0].values), steps=2, seed=0)  # load the compiled kernels first
    for name, f in originals.items():
        setattr(Market, name, timed(f))
    try:
        c0 = time.process_time()
        for plan in plans:
            simulate(loaded.params(plan.values), steps=loaded.steps, seed=plan.seed)
        total = time.process_time() - c0
    finally:
        for name, f in originals.items():
            setattr(Market, name, f)
    return market[0] / total


def case_overhead(workers: int, quick: bool) -> list[dict]:
    from experiments import focal_contract as fc

    size = fc.SIZES["quick"]
    focal = fc.contrast_spec(size, fc.SEEDS[0])
    focal = {**focal, "name": "focal-quick-128", "replications": 16 if quick else 64}
    short = _spec("short-1000", 20, {"preset": "typical_tp"}, [0.03, 0.08, 0.15, 0.3], 50 if quick else 250)
    out = []
    f = {"case": "overhead_focal_quick_design", **_timed_sweep(focal, workers)}
    share = _kernel_share(focal, 4 if quick else 8)
    f.update({"kernel_share": round(share, 3), "kernel_only_bound_s": round(share * f["runs_cpu_s"] / workers, 2)})
    out.append(f)
    out.append({"case": "overhead_1000_short_runs", "weeks": 20, **_timed_sweep(short, workers)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["throughput", "speedup", "memory", "overhead"], action="append")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--_memory-child", type=int, help=argparse.SUPPRESS, dest="memory_child")
    args = ap.parse_args()
    if args.memory_child:
        _memory_child(args.memory_child, args.workers)
        return
    for case in args.case or ["throughput", "speedup", "memory", "overhead"]:
        if case == "overhead":
            for result in case_overhead(args.workers, args.quick):
                print(json.dumps(result), flush=True)
            continue
        if case == "throughput":
            result = case_throughput(args.workers, args.quick)
        elif case == "speedup":
            result = case_speedup(args.quick)
        else:
            result = case_memory(args.workers, args.quick)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
