"""The golden cases: small runs whose numbers are pinned in ``golden.json``.

A refactor that keeps the numbers keeps these tests green. A change that moves the numbers on
purpose (a new random stream, a fixed bug, a recalibration) regenerates the file once, in the
same commit, and says why in the commit message::

    python tests/golden/cases.py --write

See CONTRIBUTING.md, "What changes the numbers".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden.json"

SIZE = dict(n_consumers=600, n_brands=6, n_agencies=3, burn_in_weeks=8)
# one case per agency policy, each long enough for several contract terms and learning periods
RUNS = {
    "fixed": dict(params=dict(SIZE, agency_policy="fixed", contract_weeks=26), steps=80, seed=5),
    "learning": dict(
        params=dict(SIZE, agency_policy="learning", contract_weeks=26, commission_rate=0.3), steps=80, seed=6
    ),
    "imitation": dict(params=dict(SIZE, agency_policy="imitation", contract_weeks=26), steps=80, seed=7),
    "mixed": dict(
        params=dict(
            SIZE,
            agency_policy="learning,imitation,fixed",
            brand_bonus_rate=0.2,
            evaluation_brand_weight=0.5,
            contract_weeks=13,
        ),
        steps=60,
        seed=8,
    ),
}
SWEEP = {
    "name": "golden_grid",
    "steps": 30,
    "replications": 2,
    "seed": 21,
    "base": {
        "preset": "typical_tp",
        "agency_policy": "learning",
        "n_consumers": 300,
        "n_brands": 4,
        "n_agencies": 2,
        "burn_in_weeks": 4,
    },
    "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.3]}},
}


def run_digest(case: dict) -> dict:
    """What is pinned of one run: its summary and the column sums of every numeric table."""
    from model import simulate

    r = simulate(case["params"], steps=case["steps"], seed=case["seed"])
    return {
        "summary": {k: float(v) for k, v in r.summary.items()},
        "timeseries": _column_sums(r.timeseries),
        "brands": _column_sums(r.brands),
        "agencies": _column_sums(r.agencies),
        "strategies": r.brands["strategy"].value_counts().sort_index().to_dict(),
    }


def sweep_digest(out_dir) -> dict:
    """What is pinned of the golden sweep: every run's seed and summary outcomes."""
    from experiments import load_results, run_sweep
    from model import SUMMARY_KEYS

    run_sweep(SWEEP, out_dir, executor="serial", progress=False)
    runs = load_results(out_dir).runs.sort_values("run_id")
    return {"seed": [int(s) for s in runs["seed"]], **{k: [float(v) for v in runs[k]] for k in SUMMARY_KEYS}}


def _column_sums(df) -> dict:
    num = df.select_dtypes(include=[np.number])
    return {c: float(np.nansum(num[c].to_numpy(dtype=np.float64))) for c in num.columns}


def compute(tmp_dir) -> dict:
    return {
        "runs": {name: run_digest(case) for name, case in RUNS.items()},
        "sweep": sweep_digest(Path(tmp_dir) / "sweep"),
    }


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden/cases.py --write   (regenerates golden.json)")
    sys.path.insert(0, str(HERE.parents[1]))
    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps(compute(tmp), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN.relative_to(HERE.parents[1])}")
