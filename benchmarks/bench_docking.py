"""Speed of the vectorised consumer market against the plain one-agent-per-consumer reference.

Both run the docking scenario (benchmarks/docking_scenario.py) with the same parameters; the
figure of merit is consumer-brand-weeks per second (docs/performance.md). Prints one JSON line
per case and implementation, then one line with the speed ratio. Usage:

    python benchmarks/bench_docking.py                    # 500, 2,000 and 10,000 consumers
    python benchmarks/bench_docking.py --sizes 1000 --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import docking_scenario as D  # noqa: E402


def timed(fn, p, reps: int) -> float:
    t0 = time.perf_counter()
    for seed in range(reps):
        fn(p, seed)
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10_000])
    ap.add_argument("--reps", type=int, default=2, help="runs per implementation and size")
    args = ap.parse_args()
    for n in args.sizes:
        p = D.docking_params(n_consumers=n)
        work = n * D.N_BRANDS * D.WEEKS
        rates = {}
        for name, fn in (("vectorised", D.run_vectorised), ("reference", D.run_reference)):
            fn(p, 0)  # warm-up (imports, caches)
            sec = timed(fn, p, args.reps)
            rates[name] = work / sec
            print(
                json.dumps(
                    {
                        "case": "docking_scenario",
                        "implementation": name,
                        "n_consumers": n,
                        "n_brands": D.N_BRANDS,
                        "weeks": D.WEEKS,
                        "seconds_per_run": round(sec, 4),
                        "consumer_brand_weeks_per_s": round(work / sec),
                    }
                ),
                flush=True,
            )
        print(
            json.dumps(
                {
                    "case": "docking_speed_ratio",
                    "n_consumers": n,
                    "vectorised_over_reference": round(rates["vectorised"] / rates["reference"], 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
