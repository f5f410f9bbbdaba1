"""The validation patterns P1-P9 measured on one market path: one JSON line per measurement.

The measurements of tests/validation/test_patterns.py at the smaller sizes the Numba-path test
in tests/test_kernel.py uses (it calls :func:`measure`); docs/performance.md tabulates both
paths. Usage:

    python benchmarks/patterns_on_both_paths.py numba
    python benchmarks/patterns_on_both_paths.py numpy
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PATTERNS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9")
SEEDS = (0, 1, 2)
BRANDS = (0, 4, 8)


def measure(pattern: str) -> list:
    """One pattern's measurements at this script's sizes, on whatever path the model uses."""
    from experiments import validation as V
    from model import Params

    if pattern == "P8":
        res = V.multitask_distortion(Params(**V.P8_SIZE), tuple(range(32)))
    elif pattern in ("P5", "P7", "P9"):
        res = V.EXPERIMENTS[pattern](Params(n_consumers=4000), SEEDS, brands=None)
    elif pattern == "P6":
        res = V.EXPERIMENTS[pattern](Params(n_consumers=4000), SEEDS, brands=BRANDS)
    else:
        res = V.EXPERIMENTS[pattern](Params(n_consumers=2000), SEEDS, brands=BRANDS)
    return res if isinstance(res, list) else [res]


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ("numpy", "numba"):
        raise SystemExit("usage: patterns_on_both_paths.py numpy|numba")
    kernel = argv[0]
    import model.model as model_module
    from experiments import validation as V
    from model.market import Market

    # the validation experiments build their models without a market_kernel: point them at one
    model_module.Market = lambda *a, **k: Market(*a, **{**k, "kernel": kernel})
    V.clear_cache()
    for pattern in PATTERNS:
        for m in measure(pattern):
            print(
                json.dumps(
                    {
                        "kernel": kernel,
                        "pattern": m.pattern,
                        "quantity": m.quantity,
                        "value": m.value,
                        "ci": [m.ci_low, m.ci_high],
                        "target": str(m.target),
                        "passed": bool(m.passed),
                        "replications": len(m.replications),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
