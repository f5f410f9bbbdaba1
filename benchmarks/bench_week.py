"""Where a week's time goes: the market kernels against everything else, per consumer-brand pair.

Builds one model, runs a few weeks to load or compile the kernels, then times ``--weeks`` weeks
with the market's two passes (``Market.shop`` and ``Market.brand_value``) timed on their own.
Prints one JSON line: nanoseconds per consumer-brand pair for each pass and for the whole week,
and the whole week's consumer-brand-weeks per second. Usage:

    python benchmarks/bench_week.py                                  # 1M consumers x 12 brands, Numba, 1 thread
    python benchmarks/bench_week.py --consumers 2000 --kernel numpy --weeks 52

Set NUMBA_NUM_THREADS to choose the kernel's threads (default here: 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--consumers", type=int, default=1_000_000)
    ap.add_argument("--brands", type=int, default=12)
    ap.add_argument("--weeks", type=int, default=10)
    ap.add_argument("--kernel", choices=("numba", "numpy"), default="numba")
    a = ap.parse_args(argv)

    from model import AgencyMarket, Params

    model = AgencyMarket(
        Params(n_consumers=a.consumers, n_brands=a.brands, n_agencies=max(2, a.brands // 3), market_kernel=a.kernel),
        rng=0,
    )
    model.run(2)  # first calls: cache load or compilation
    spent = {"shop": 0.0, "brand_value": 0.0}
    market = model.market
    for name in spent:
        method = getattr(market, name)

        def timed(*args, _method=method, _name=name, **kwargs):
            t0 = time.perf_counter()
            out = _method(*args, **kwargs)
            spent[_name] += time.perf_counter() - t0
            return out

        setattr(market, name, timed)
    t0 = time.perf_counter()
    model.run(a.weeks)
    week = time.perf_counter() - t0
    pairs = a.consumers * a.brands * a.weeks
    ns = {k: round(v / pairs * 1e9, 2) for k, v in spent.items()}
    print(
        json.dumps(
            {
                "consumers": a.consumers,
                "brands": a.brands,
                "weeks": a.weeks,
                "kernel": a.kernel,
                "threads": int(os.environ["NUMBA_NUM_THREADS"]),
                "ns_per_pair": {
                    **ns,
                    "rest": round((week - sum(spent.values())) / pairs * 1e9, 2),
                    "week": round(week / pairs * 1e9, 2),
                },
                "cbw_per_second": round(pairs / week),
            }
        )
    )


if __name__ == "__main__":
    main()
