"""Throughput of whole runs on both market paths: consumer-brand-weeks per second, peak memory.

Each case runs in its own process so that its peak memory and its thread count are its own.
Prints one JSON line per case, then the ratios measured in the same run: the Numba kernel over
the NumPy path (per size and thread count) and over the project's per-consumer Mesa reference
(benchmarks/reference_market.py, on the docking scenario). Usage:

    python benchmarks/bench_market.py                  # 10k, 100k, 1M consumers x 12 brands, 26 weeks
    python benchmarks/bench_market.py --full           # adds the 1M-consumer, 260-week run
    python benchmarks/bench_market.py --huge           # adds 10M consumers x 260 weeks (Numba, 2 threads)
    python benchmarks/bench_market.py --sizes 10000 --weeks 52 --threads 1

The figure of merit (docs/performance.md) counts n_consumers x n_brands x weeks simulated
(burn-in weeks included, since they are simulated) over the wall time of construction and run.
The Numba kernel's compilation is not in it: each Numba case first runs a tiny market (which
loads the compiled kernels from Numba's cache, or compiles them) and reports that time as
``first_call_seconds``; the ``compile`` case measures compilation into an empty cache.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def agency_market(kernel: str, **params):
    """An AgencyMarket whose consumer market runs on ``kernel``.

    Uses the ``market_kernel`` parameter where it is declared; before that, wraps the Market
    class where model.model constructs it.
    """
    import model.model as mm
    from model import AgencyMarket, Params
    from model.market import Market

    seed = params.pop("rng")
    if "market_kernel" in {f.name for f in dataclasses.fields(Params)}:
        params["market_kernel"] = kernel
    else:
        mm.Market = lambda *a, **k: Market(*a, **{**k, "kernel": kernel})
    return AgencyMarket(make_params(**params), rng=seed)


def make_params(n_consumers: int, **params):
    """Params; where the case asks for more consumers than params.py declares, the declared
    upper bound is widened in this process (the model revalidates on ``replace``)."""
    import model.params as mp

    spec = mp.SPECS["n_consumers"]
    if spec.high is not None and n_consumers > spec.high:
        wide = dataclasses.replace(spec, high=n_consumers)
        mp.PARAM_SPECS = tuple(wide if s.name == "n_consumers" else s for s in mp.PARAM_SPECS)
        mp.SPECS["n_consumers"] = wide
        BEYOND_BOUND.append(spec.high)
    return mp.Params(n_consumers=n_consumers, **params)


BEYOND_BOUND: list = []  # the declared bound, when a case went past it


def warm_up(kernel: str) -> float:
    """Seconds of the first call of the kernels (cache load or compilation) on a tiny market."""
    if kernel != "numba":
        return 0.0
    t0 = time.perf_counter()
    agency_market(kernel, n_consumers=200, n_brands=3, n_agencies=2, burn_in_weeks=1, rng=0).run(1)
    return time.perf_counter() - t0


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def one_case(n: int, weeks: int, brands: int, burn_in: int, seed: int, kernel: str, market_only: bool) -> dict:
    import model.model  # noqa: F401  (imports are not part of the timed run)

    first_call = warm_up(kernel)
    c0 = time.process_time()
    t0 = time.perf_counter()
    if market_only:  # the consumer market alone, fed a fixed regular offer (no Mesa model)
        import numpy as np

        from model.market import Market, Offer

        p = make_params(n_consumers=n, n_brands=brands)
        market = Market(p, brands, np.random.default_rng(seed), kernel=kernel)
        price = p.mean_price * np.exp(0.3 * np.random.default_rng(seed + 1).standard_normal(brands))
        market.init_reference_prices(price)
        vis = np.full(brands, p.organic_visibility)
        offer = Offer(
            price=price,
            regular_price=price,
            discount=np.zeros(brands),
            quality=np.zeros(brands),
            visibility=vis,
            organic_visibility=vis,
            reach=np.zeros(brands),
        )
        t1 = time.perf_counter()
        for _ in range(weeks + burn_in):  # a week as the model's: shop, brand value, reporters
            market.shop(offer)
            market.brand_value(offer.quality, offer.quality - 1, price, vis, p.organic_visibility)
            market.mean_awareness(), market.mean_deal_proneness(), market.mean_reference_price_ratio(price)
            market.awareness_by_brand()
        run_weeks = weeks + burn_in
    else:
        m = agency_market(kernel, n_consumers=n, n_brands=brands, burn_in_weeks=burn_in, rng=seed)
        t1 = time.perf_counter()
        m.run(weeks)
        run_weeks = weeks
    t2 = time.perf_counter()
    cpu = time.process_time() - c0  # all threads: tells a busy machine from a slow program
    simulated = n * brands * (weeks + burn_in)
    return {
        "case": "market_alone" if market_only else "market_run",
        "kernel": kernel,
        "threads": int(os.environ.get("NUMBA_NUM_THREADS", "0")) or os.cpu_count(),
        "n_consumers": n,
        "n_brands": brands,
        "weeks": weeks,
        "burn_in_weeks": burn_in,
        "seconds_total": round(t2 - t0, 3),
        "seconds_construction": round(t1 - t0, 3),
        "seconds_per_week": round((t2 - t1) / run_weeks, 5),
        "consumer_brand_weeks_per_s": round(simulated / (t2 - t0)),
        "cpu_seconds": round(cpu, 3),
        "consumer_brand_weeks_per_cpu_s": round(simulated / cpu),
        "first_call_seconds": round(first_call, 3),
        "peak_rss_mb": peak_mb(),
        **(
            {
                "note": f"n_consumers above the bound params.py declares ({BEYOND_BOUND[0]:.0f}); "
                "the bound was widened for this run"
            }
            if BEYOND_BOUND
            else {}
        ),
    }


def compile_case() -> dict:
    """Compilation into an empty cache (the parent gives a fresh NUMBA_CACHE_DIR), then the call again."""
    import model.model  # noqa: F401

    t0 = time.perf_counter()
    warm_up("numba")
    t1 = time.perf_counter()
    warm_up("numba")
    t2 = time.perf_counter()
    return {
        "case": "compile",
        "kernel": "numba",
        "first_call_seconds": round(t1 - t0, 3),
        "second_call_seconds": round(t2 - t1, 4),
    }


def reference_case(n: int, reps: int) -> list[dict]:
    """The docking scenario on the per-consumer Mesa reference and on both market paths."""
    sys.path.insert(0, HERE)
    import docking_scenario as D

    p = D.docking_params(n_consumers=n)
    work = n * D.N_BRANDS * D.WEEKS
    rows = []
    for name, fn in (("reference", D.run_reference), ("numpy", D.run_vectorised), ("numba", D.run_numba)):
        fn(p, 0)  # warm-up (imports, compiled kernels)
        t0 = time.perf_counter()
        for seed in range(reps):
            fn(p, seed)
        sec = (time.perf_counter() - t0) / reps
        rows.append(
            {
                "case": "docking_scenario",
                "implementation": name,
                "n_consumers": n,
                "n_brands": D.N_BRANDS,
                "weeks": D.WEEKS,
                "seconds_per_run": round(sec, 4),
                "consumer_brand_weeks_per_s": round(work / sec),
            }
        )
    return rows


def child(args: list[str], threads: int, cache_dir: str | None = None) -> list[dict]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": str(threads),
    }
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"benchmark case {args} failed:\n{out.stderr[-3000:]}")
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[10_000, 100_000, 1_000_000],
        help="consumers per case (none: only the extra cases asked for)",
    )
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--brands", type=int, default=12)
    ap.add_argument("--burn-in", type=int, default=26)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="Numba thread counts")
    ap.add_argument("--kernels", nargs="+", default=["numpy", "numba"], choices=["numpy", "numba"])
    ap.add_argument("--full", action="store_true", help="also run 1,000,000 consumers for 260 weeks")
    ap.add_argument(
        "--huge",
        action="store_true",
        help="also run 10,000,000 consumers for 260 weeks (Numba, the largest thread count)",
    )
    ap.add_argument(
        "--market-only", action="store_true", help="time the consumer market alone (no Mesa model) in the --huge case"
    )
    ap.add_argument(
        "--reference-size",
        type=int,
        default=1000,
        help="consumers in the docking scenario for the Mesa-reference ratio (0: skip)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--_case", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._case:
        kind = args._case[0]
        if kind == "run":
            n, weeks, kernel, market_only = int(args._case[1]), int(args._case[2]), args._case[3], args._case[4] == "1"
            rows = [one_case(n, weeks, args.brands, args.burn_in, args.seed, kernel, market_only)]
        elif kind == "compile":
            rows = [compile_case()]
        else:
            rows = reference_case(int(args._case[1]), reps=2)
        for row in rows:
            print(json.dumps(row))
        return

    common = ["--brands", str(args.brands), "--burn-in", str(args.burn_in), "--seed", str(args.seed)]
    if "numba" in args.kernels:
        with tempfile.TemporaryDirectory() as cache:
            child(["--_case", "compile"], 1, cache_dir=cache)
    cases = [(n, args.weeks) for n in args.sizes] + ([(1_000_000, 260)] if args.full else [])
    rates: dict[tuple, float] = {}
    for n, weeks in cases:
        for kernel in args.kernels:
            # NumPy's element-wise kernels are single-threaded: one thread count is enough for it
            for threads in args.threads if kernel == "numba" else args.threads[:1]:
                (row,) = child(["--_case", "run", str(n), str(weeks), kernel, "0", *common], threads)
                rates[(n, weeks, kernel, threads)] = row["consumer_brand_weeks_per_s"]
        if "numpy" in args.kernels and "numba" in args.kernels:
            base = rates[(n, weeks, "numpy", args.threads[0])]
            for threads in args.threads:
                print(
                    json.dumps(
                        {
                            "case": "kernel_ratio",
                            "n_consumers": n,
                            "weeks": weeks,
                            "threads": threads,
                            "numba_over_numpy": round(rates[(n, weeks, "numba", threads)] / base, 2),
                        }
                    ),
                    flush=True,
                )
    if args.reference_size:
        rows = child(["--_case", "reference", str(args.reference_size)], 1)
        by = {r["implementation"]: r["consumer_brand_weeks_per_s"] for r in rows}
        best = {k: max(v for (n, w, kk, t), v in rates.items() if kk == k) for k in args.kernels}
        print(
            json.dumps(
                {
                    "case": "reference_ratio",
                    "n_consumers": args.reference_size,
                    "numpy_over_reference": round(by["numpy"] / by["reference"], 1),
                    "numba_over_reference": round(by["numba"] / by["reference"], 1),
                    **{f"best_{k}_run_over_reference": round(v / by["reference"]) for k, v in best.items()},
                }
            ),
            flush=True,
        )
    if args.huge:
        child(
            ["--_case", "run", "10000000", "260", "numba", "1" if args.market_only else "0", *common], max(args.threads)
        )


if __name__ == "__main__":
    main()
