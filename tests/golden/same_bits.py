"""Same bits: a digest of every table of a dozen runs, to compare a change with a commit before it.

The golden tests allow 1e-9 relative, so a reordered sum in a reporter passes them. A refactor
that means to change nothing (a faster bookkeeping, a compiled path) should change no bit of
any table, and this says whether it did: it runs the same dozen runs (every agency policy,
focal contracts, contract schedules, in-house stores, interventions, mechanisms switched off,
the NumPy market path) in this tree and in another commit (checked out into a temporary git
worktree), each in a fresh process, and compares a digest of each run's summary and of each
of its tables::

    python tests/golden/same_bits.py              # this tree against HEAD
    python tests/golden/same_bits.py --ref main~3 # ... against another commit
    python tests/golden/same_bits.py --only focal iv

Exit status 0 when every digest matches, 1 otherwise (the runs and tables that differ are
listed). Bits are those of this machine: another CPU or NumPy may round an exponential
differently, so compare two trees on one machine, not digests across machines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("summary", "timeseries", "brands", "agencies", "brand_outcomes")

# three brands on the focal terms (two cases)
FOCAL = dict(n_consumers=1000, agency_policy="learning", experience_weeks=52, focal_brands=3, focal_commission_rate=0.3)
# name -> (preset or None, simulate's keywords); small, but each reaches a path the others do not
CASES: dict[str, tuple[str | None, dict]] = {
    "learning": (None, dict(n_consumers=1500, agency_policy="learning", experience_weeks=104, steps=260, seed=1)),
    "learning_numpy": (
        None,
        dict(n_consumers=600, agency_policy="learning", experience_weeks=30, steps=60, seed=3, market_kernel="numpy"),
    ),
    "imitation": (None, dict(n_consumers=800, agency_policy="imitation", steps=120, seed=2)),
    "fixed": (None, dict(n_consumers=800, agency_policy="fixed", steps=80, seed=4, contract_weeks=13)),
    "mixed": (
        None,
        dict(
            n_consumers=800,
            n_agencies=3,
            agency_policy="learning,imitation,fixed",
            brand_bonus_rate=0.2,
            evaluation_brand_weight=0.5,
            contract_weeks=13,
            steps=100,
            seed=8,
        ),
    ),
    "focal": ("typical_tp", dict(FOCAL, steps=150, seed=5)),
    "focal_until": ("typical_tp", dict(FOCAL, focal_terms_until=40, steps=100, seed=6)),
    "no_paid_no_goodwill": (
        None,
        dict(n_consumers=700, agency_policy="learning", use_paid_traffic=False, use_goodwill=False, steps=80, seed=9),
    ),
    "interventions": (
        None,
        dict(
            n_consumers=700,
            agency_policy="learning",
            steps=80,
            seed=10,
            interventions=[
                {"brand": 1, "start": 10, "weeks": 8, "discount": 0.3},
                {"brand": 2, "start": 5, "weeks": 20, "paid_traffic": 5000.0, "traffic_price": 2.0},
            ],
        ),
    ),
    "interventions_2": (
        None,
        dict(
            n_consumers=700,
            agency_policy="imitation",
            steps=70,
            seed=12,
            use_goodwill=False,
            interventions=[
                {"brand": 0, "start": 3, "weeks": 30, "price_multiplier": 1.2, "brand_effort": 0.9},
                {"brand": 4, "start": 20, "weeks": 10, "traffic_price": 0.5},
            ],
        ),
    ),
    "no_festivals_no_rank": (
        None,
        dict(
            n_consumers=500,
            agency_policy="learning",
            steps=60,
            seed=13,
            use_festivals=False,
            use_rank_feedback=False,
            use_paid_traffic=False,
        ),
    ),
    "contract_schedules": (
        None,
        dict(
            n_consumers=700,
            agency_policy="learning",
            steps=80,
            seed=11,
            experience_weeks=20,
            brand_terms={
                0: [(0, {"commission_rate": 0.3}), (30, {"commission_rate": 0.05})],
                3: [(10, {"base_fee": 2000.0})],
            },
        ),
    ),
}


def table_digest(table) -> str:
    """A digest of a DataFrame's columns, their order and dtypes and every value's bits (a
    summary dict: of each value's repr, which for a float is the shortest string giving its
    bits back)."""
    import hashlib

    import pandas as pd

    if table is None:
        return "none"
    if isinstance(table, dict):
        text = json.dumps({k: repr(v) for k, v in table.items()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
    rows = pd.util.hash_pandas_object(table.reset_index(drop=True), index=False).to_numpy().tobytes()
    columns = "\x00".join(f"{c}:{t}" for c, t in table.dtypes.items())
    return hashlib.sha256(rows + columns.encode()).hexdigest()[:16]


def run_digests(names: list[str]) -> dict[str, dict[str, str]]:
    """Each case's digests (``TABLES``), run in this process with the ``model`` it imports."""
    import warnings

    from model import simulate

    out = {}
    for name in names:
        preset, kw = CASES[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (an intervention that changed nothing warns)
            r = simulate(preset, **kw)
        # (a table an older commit did not have yet: "absent")
        out[name] = {t: table_digest(getattr(r, t)) if hasattr(r, t) else "absent" for t in TABLES}
    return out


def digests_in(tree: Path, names: list[str], env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """:func:`run_digests` in a fresh process that imports ``model`` from ``tree`` (``env``:
    its environment, default this process's)."""
    code = (
        f"import json, sys; sys.path[:0] = [{str(tree)!r}, {str(Path(__file__).parent)!r}]; "
        f"import same_bits; print(json.dumps(same_bits.run_digests({names!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the runs in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def differences(a: dict, b: dict) -> list[str]:
    """'case: table' for every digest that is not the same in ``a`` and ``b``."""
    return [f"{case}: {t}" for case in a for t in TABLES if a[case][t] != b.get(case, {}).get(t)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD", help="the commit to compare this tree with (default: %(default)s)")
    ap.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these cases")
    args = ap.parse_args(argv)
    names = args.only or list(CASES)
    here = digests_in(ROOT, names)
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree = Path(tmp) / "ref"
        made = subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(ref_tree), args.ref],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if made.returncode:
            raise SystemExit(f"could not check out {args.ref!r}: {made.stderr.strip()}")
        try:
            there = digests_in(ref_tree, names)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(ref_tree)], cwd=ROOT, check=False)
    differ = differences(here, there)
    for name in names:
        print(f"{name:22s} {'same' if not any(d.startswith(name + ':') for d in differ) else 'DIFFERENT'}")
    if differ:
        print(f"\n{len(differ)} table(s) differ from {args.ref}: " + ", ".join(differ))
        return 1
    print(f"\nevery table of {len(names)} runs has the same bits as {args.ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
