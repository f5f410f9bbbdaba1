"""Whole runs at the sizes researchers sweep, against an earlier commit, in one benchmark.

Times a 1,500-consumer, 260-week run with learning agencies and 104 weeks of experience (the
focal-contract experiment's run; issue 23's case) on this tree with each market kernel, and the
same run on an earlier commit (``--ref``, checked out into a temporary git worktree; its
Numba path, the figure the ratios are against, and its default path), alternating the cases so
that load on a shared machine hits all of them alike. Each run is a child process; the figure is
CPU seconds of the run itself (model construction and the experience pre-run included, imports
excluded), so another program on the machine slows the wall clock but hardly the CPU time. For
every case it also prints the share of the run spent in the consumer market (``Market.shop`` and
``Market.brand_value``: the kernels and the few array operations around them): the child runs
the case again with those two timed, and divides their time by the untimed run's (so the
timers' own cost, two clock reads a call, 1.5 ms of a 0.1 s run, is not read as time outside
the market; until 2026-12-05 the share was read from the timed run alone, about 0.01 lower).
Every case first runs two weeks outside the timing (compiling or loading its kernels). Prints one JSON line per
case and one with the ratios.

    python benchmarks/bench_run.py                      # against 33f3f9f (issue 23's reference)
    python benchmarks/bench_run.py --ref HEAD~5 --repeats 7 --consumers 2000 --experience 0
    python benchmarks/bench_run.py --phases             # where this tree's run spends its time
    python benchmarks/bench_run.py --phases --seed 7    # ... on another seed's market

``--phases`` times only this tree's default path, and splits each run's CPU time into the
phases of the week (the platform's rank, tactics, offer, the market, settling, measuring
brands, contract reviews, learning, records) and the rest (building the models, Mesa's step,
the run's summary after it): each phase's own time, without the phases it calls (the
experience pre-run's weeks count in their phases, not in building the model). Each child runs
the case once without the timers (the CPU time it prints) and once with them (the phases; the
market's share is its time there over the untimed run's); what the timers cost (the
difference, printed) is taken out of the rest, though some of it lands in the phases that call
other timed phases (measuring brands calls the market's brand-value pass).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the children's vector width (model.kernel's AGENCY_SIM_VECTOR_BITS, from this environment)
VECTOR_BITS = os.environ.get("AGENCY_SIM_VECTOR_BITS") or "LLVM's choice"
# what both kinds of child begin with: the tree's model and the case
PREAMBLE = """
import json, sys, time
sys.path.insert(0, {root!r})
from model import simulate
kw = dict(steps={steps}, seed={seed}, n_consumers={n}, agency_policy="learning", experience_weeks={experience})
"""
CHILD = (
    PREAMBLE
    + """
market = [0.0]
if {kernel!r} != "default":
    kw["market_kernel"] = {kernel!r}
simulate(**{{**kw, "steps": 2, "experience_weeks": 0}})  # compile or load the cached kernels outside the timing
t0, c0 = time.perf_counter(), time.process_time()
r = simulate(**kw)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
c1 = time.process_time()
r.brands, r.agencies  # (built on first read since d5040d8; before it, inside simulate)
tables = time.process_time() - c1
from model.market import Market
for name in ("shop", "brand_value"):  # time spent in the consumer market, in the same run again
    def timed(self, *a, _f=getattr(Market, name), **k):
        c = time.process_time()
        try:
            return _f(self, *a, **k)
        finally:
            market[0] += time.process_time() - c
    setattr(Market, name, timed)
simulate(**kw)
print(json.dumps({{"wall_s": wall, "cpu_s": cpu, "market_cpu_s": market[0], "tables_cpu_s": tables,
                  "total_gmv": r.summary["total_gmv"]}}))
"""
)


PHASES = (
    PREAMBLE
    + """
from model.contracts import ContractMarket
from model.market import Market
from model.model import AgencyMarket
from model.platform import Platform
from model.records import Records, WeeklyReporters
simulate(**{{**kw, "steps": 2, "experience_weeks": 0}})  # compile or load the cached kernels outside the timing
c0 = time.process_time()
simulate(**kw)  # the run without the timers
untimed = time.process_time() - c0
own = {{}}  # phase -> CPU seconds spent in it, less the phases it called
stack = [0.0]  # the time of the phases called by each open phase
def timer(cls, name, phase):
    f = getattr(cls, name)
    def timed(*a, _f=f, **k):
        stack.append(0.0)
        c = time.process_time()
        try:
            return _f(*a, **k)
        finally:
            spent = time.process_time() - c
            inner = stack.pop()
            own[phase] = own.get(phase, 0.0) + spent - inner
            stack[-1] += spent
    setattr(cls, name, timed)
for cls, name, phase in [
    (Platform, "rank", "rank"), (AgencyMarket, "set_tactics", "tactics"), (AgencyMarket, "make_offer", "offer"),
    (Market, "shop", "market"), (Market, "brand_value", "market"), (AgencyMarket, "settle", "settle"),
    (AgencyMarket, "measure_brands", "measure brands"), (ContractMarket, "review", "contract reviews"),
    (AgencyMarket, "learn", "learning"), (Records, "collect", "records"), (WeeklyReporters, "collect", "records"),
]:
    timer(cls, name, phase)
c0 = time.process_time()
simulate(**kw)
total = time.process_time() - c0
own["rest"] = total - sum(own.values()) - (total - untimed)  # (less what the timers cost)
print(json.dumps({{"cpu_s": untimed, "timers_s": total - untimed, "phases": own}}))
"""
)


def phases(n: int, steps: int, experience: int, repeats: int, seed: int = 1) -> None:
    """Print where this tree's run spends its CPU time, phase by phase (median of ``repeats``)."""
    code = PHASES.format(root=str(ROOT), n=n, steps=steps, experience=experience, seed=seed)
    runs = [run_child(code, ROOT, "the run") for _ in range(repeats)]
    total = statistics.median(r["cpu_s"] for r in runs)
    ms = {k: round(1e3 * statistics.median(r["phases"][k] for r in runs), 1) for k in runs[0]["phases"]}
    ms = dict(sorted(ms.items(), key=lambda kv: -kv[1]))
    share = statistics.median(r["phases"]["market"] / r["cpu_s"] for r in runs)
    timers = statistics.median(r["timers_s"] for r in runs)
    print(json.dumps({"case": "this tree, default path, phases (CPU ms, median)", "vector_bits": VECTOR_BITS,
                      "n_consumers": n, "weeks": steps, "experience_weeks": experience, "seed": seed,
                      "repeats": repeats, "cpu_s_median": round(total, 3),
                      "market_share_median": round(share, 3), "phases_ms": ms,
                      "timers_ms": round(1e3 * timers, 1)}))  # fmt: skip


def run_child(code: str, root: Path, what: str) -> dict:
    """Run a child's ``code`` on one thread in ``root``; its last line of output, read as JSON."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{what} in {root} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(root: Path, kernel: str, n: int, steps: int, experience: int, seed: int = 1) -> dict:
    code = CHILD.format(root=str(root), kernel=kernel, n=n, steps=steps, experience=experience, seed=seed)
    return run_child(code, root, f"{kernel} run")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="33f3f9f", help="the earlier commit to compare with (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--consumers", type=int, default=1500)
    ap.add_argument("--weeks", type=int, default=260)
    ap.add_argument("--experience", type=int, default=104, help="weeks of the agencies' pre-run (default: %(default)s)")
    ap.add_argument("--phases", action="store_true", help="split this tree's run into the phases of its week")
    ap.add_argument("--seed", type=int, default=1, help="the run's seed (default: %(default)s)")
    args = ap.parse_args()
    if args.phases:
        phases(args.consumers, args.weeks, args.experience, args.repeats, args.seed)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree = Path(tmp) / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(ref_tree), args.ref], cwd=ROOT, check=True)
        try:
            ref_name = f"ref {args.ref}, numba"
            cases = {
                ref_name: (ref_tree, "numba"),
                f"ref {args.ref}, default": (ref_tree, "default"),
                "this tree, numpy": (ROOT, "numpy"),
                "this tree, numba": (ROOT, "numba"),
            }
            times: dict[str, list[dict]] = {name: [] for name in cases}
            for _ in range(args.repeats):  # interleaved: load hits every case alike
                for name, (root, kernel) in cases.items():
                    times[name].append(child(root, kernel, args.consumers, args.weeks, args.experience, args.seed))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(ref_tree)], cwd=ROOT, check=False)
    medians = {}
    for name, runs in times.items():
        medians[name] = statistics.median(r["cpu_s"] for r in runs)
        share = statistics.median(r.get("market_cpu_s", 0.0) / r["cpu_s"] for r in runs)
        print(
            json.dumps(
                {
                    "case": name,
                    "vector_bits": VECTOR_BITS,
                    "n_consumers": args.consumers,
                    "weeks": args.weeks,
                    "experience_weeks": args.experience,
                    "seed": args.seed,
                    "policy": "learning",
                    "repeats": args.repeats,
                    "cpu_s_median": round(medians[name], 3),
                    "market_share_median": round(share, 3) if share else None,
                    # reading the run's weekly brand and agency tables afterwards (built on first read)
                    "tables_cpu_s_median": round(statistics.median(r["tables_cpu_s"] for r in runs), 4),
                    "wall_s_median": round(statistics.median(r["wall_s"] for r in runs), 3),
                    "total_gmv": runs[0]["total_gmv"],
                }
            )
        )
    ref = medians[ref_name]
    print(
        json.dumps(
            {
                "case": f"speed-up against {ref_name} (CPU time)",
                **{name: round(ref / t, 2) for name, t in medians.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
