"""Measure every validation pattern (P1-P9) and write docs/validation.md.

    python -m experiments.validate [--quick] [--out DIR] [--doc PATH]

Runs the virtual experiments of :mod:`experiments.validation.patterns` over several
replications, writes the measurements to ``DIR/validation.csv`` and regenerates
``docs/validation.md`` (built by :mod:`experiments.validation.document`: the table of
pattern, target, source, measured value with its 95% confidence interval and pass/fail,
then the methods, the calibration reasoning and the docking study). The document is
generated, never typed: edit the templates in that module, not the Markdown.

``--quick`` uses fewer seeds and brands (a smoke test; its document says so).
``--odd-table`` only regenerates the parameter tables of docs/ODD.md from the code.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .options import Parser
from .validation.document import (
    DOC,
    FULL,
    ODD,
    QUICK,
    build_doc,  # noqa: F401
    docking_section,
    fmt,
    read_measurements,
    update_odd,
)
from .validation.patterns import measure_all

# ODD_BEGIN, ODD_END and odd_tables are imported by tests/validation/test_odd.py from here


def main(argv: Sequence[str] | None = None) -> int:
    ap = Parser(prog="python -m experiments.validate", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer seeds and brands (smoke test)")
    ap.add_argument("--out", default="out/validation", help="directory for validation.csv (default: %(default)s)")
    ap.add_argument("--doc", default=str(DOC), help="where to write the Markdown (default: docs/validation.md)")
    ap.add_argument(
        "--odd-table", action="store_true", help="only regenerate the parameter tables of docs/ODD.md (no runs)"
    )
    ap.add_argument(
        "--from-csv",
        metavar="CSV",
        help="rebuild the document from a previous run's validation.csv (no pattern runs; the docking study is rerun)",
    )
    ap.add_argument(
        "--default-market",
        action="store_true",
        help="with --from-csv: measure the consumer patterns in the default market anew "
        "(without --from-csv they are always measured)",
    )
    args = ap.parse_args(argv)
    if args.odd_table:
        print(f"{ODD} " + ("updated" if update_odd() else "already up to date"))
        return 0
    cfg = QUICK if args.quick else FULL
    t0 = time.perf_counter()

    def progress(name: str) -> None:
        print(f"[validate] {name} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_csv:
        ms = read_measurements(Path(args.from_csv))
        default_csv = Path(args.from_csv).with_name("validation_default_market.csv")
        default_ms = read_measurements(default_csv) if default_csv.exists() else []
    else:
        ms = measure_all(None, cfg["seeds"], brands=cfg["brands"], p8_seeds=cfg["p8_seeds"], progress=progress)
        pd.DataFrame([m.as_row() for m in ms]).to_csv(out / "validation.csv", index=False)
    if args.from_csv is None or args.default_market:
        default_ms = measure_all(
            None,
            cfg["seeds"],
            brands=cfg["brands"],
            market="default",
            progress=lambda name: progress(f"{name} (default market)"),
        )
        pd.DataFrame([m.as_row() for m in default_ms]).to_csv(out / "validation_default_market.csv", index=False)
    doc = Path(args.doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    progress("docking")
    docking = docking_section(cfg["docking_reps"])
    doc.write_text(
        build_doc(
            ms,
            quick=args.quick,
            docking=docking,
            default_ms=default_ms,
            **{k: cfg[k] for k in ("seeds", "brands", "p8_seeds")},
        ),
        encoding="utf-8",
    )
    for m in ms:
        print(
            f"{m.pattern:3s} {m.quantity[:70]:70s} {fmt(m.value):>8s} [{fmt(m.ci_low)}, {fmt(m.ci_high)}] "
            f"{'PASS' if m.passed else 'FAIL'}"
        )
    print(
        f"{sum(m.passed for m in ms)} of {len(ms)} pass; wrote {doc} and {out / 'validation.csv'} "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
