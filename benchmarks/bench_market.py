"""Throughput of whole runs: consumer-brand-weeks per second, and peak memory.

Each case runs in its own process so its peak memory is its own. Prints one JSON line per
case. Usage:

    python benchmarks/bench_market.py                 # 10k, 100k, 1M consumers x 12 brands, 26 weeks
    python benchmarks/bench_market.py --full          # adds the 1M-consumer, 260-week run
    python benchmarks/bench_market.py --sizes 10000 --weeks 52

The figure of merit (DESIGN.md section 9) counts n_consumers x n_brands x weeks simulated
(burn-in weeks included, since they are simulated) over the wall time of construction and run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def one_case(n: int, weeks: int, brands: int, burn_in: int, seed: int) -> dict:
    from model import AgencyMarket, Params

    t0 = time.perf_counter()
    m = AgencyMarket(Params(n_consumers=n, n_brands=brands, burn_in_weeks=burn_in), rng=seed)
    t1 = time.perf_counter()
    m.run(weeks)
    t2 = time.perf_counter()
    simulated = n * brands * (weeks + burn_in)
    return {
        "case": "market_run", "n_consumers": n, "n_brands": brands, "weeks": weeks,
        "burn_in_weeks": burn_in, "seconds_total": round(t2 - t0, 3),
        "seconds_per_week": round((t2 - t1) / weeks, 5),
        "consumer_brand_weeks_per_s": round(simulated / (t2 - t0)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_threads": os.environ.get("OMP_NUM_THREADS", "default"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--brands", type=int, default=12)
    ap.add_argument("--burn-in", type=int, default=26)
    ap.add_argument("--full", action="store_true", help="also run 1,000,000 consumers for 260 weeks")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--_child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        print(json.dumps(one_case(args._child[0], args._child[1], args.brands, args.burn_in, args.seed)))
        return
    cases = [(n, args.weeks) for n in args.sizes]
    if args.full:
        cases.append((1_000_000, 260))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for n, weeks in cases:  # one core: NumPy's element-wise kernels are single-threaded anyway
        out = subprocess.run([sys.executable, __file__, "--_child", str(n), str(weeks),
                              "--brands", str(args.brands), "--burn-in", str(args.burn_in),
                              "--seed", str(args.seed)], env=env, capture_output=True, text=True,
                             check=True)
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
