"""Shared pieces of the headline experiment scripts (``python -m experiments.NAME``).

A headline script builds a sweep spec (a dict), runs it through :func:`experiments.run_sweep`
(so it resumes, and runs on local processes or a Dask cluster), then reads the tables back,
averages over replications with 95% confidence intervals, and writes figures and a summary
table. Everything a script writes goes into one output folder::

    OUT/data/                 the sweep engine's store (manifest.json, summary/, timeseries/)
    OUT/figures/NAME.png      each figure as PNG (for slides) and SVG (for papers)
    OUT/figures/NAME.svg
    OUT/summary.md            the summary table, Markdown (mean [95% CI low, high])
    OUT/summary.csv           the same, one column per mean / CI bound
    OUT/differences.csv       (optional) paired differences from a reference design point,
                              also appended to summary.md: see paired_differences()

The pieces here:

- :func:`build_parser` / :func:`parse_args`: the common command line (``--quick``, ``--tiny``,
  ``--out``, ``--executor``, ``--workers``, ``--scheduler``, ``--seed``, ``--progress``,
  ``--docs``); :class:`Size` picks the sweep size from it.
- :func:`run`: run a spec dict into ``OUT/data`` and return the loaded :class:`Results`.
- :func:`mean_ci` and :func:`timeseries_ci`: mean and Student-t 95% CI over replications;
  :func:`paired_differences`: the same for differences from a reference point, run by run
  (meaningful with ``common_random_numbers = true``).
- :func:`save_figure`, :func:`write_summary`, :func:`write_differences`, :func:`figure_style`,
  :func:`report` (print the paths written), :data:`PALETTE`,
  :data:`OUTCOMES` (labels and units of the run outcomes).
- :func:`main_guard`: user errors become one line on stderr and exit code 2, as in
  ``agency-sim``.

Sizes: the full size is meant for the published numbers; ``--quick`` is a real but small
version (about a minute on two cores); ``--tiny`` is a smoke test for the test suite (seconds,
model too small to mean anything). Each size writes to its own default folder, because the
engine refuses to mix two different sweeps in one folder.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from experiments.cli import EXIT_USAGE, UserError, parse_assignments
from experiments.cliutil import Parser

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"

# Okabe & Ito (2008) colour-blind-safe palette: blue, vermillion, bluish green, reddish purple,
# orange, sky blue, yellow, black.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


@dataclass(frozen=True)
class Outcome:
    """How to show one run outcome: a label, its unit after scaling, and the scale factor."""

    label: str
    unit: str
    scale: float = 1.0
    fmt: str = ".1f"

    @property
    def axis(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


# The run summary (model.SUMMARY_KEYS) as people read it. Money is RMB summed over all brands.
OUTCOMES: dict[str, Outcome] = {
    "short_term_gmv": Outcome("short-term GMV, first 26 weeks", "million RMB", 1e-6, ".0f"),
    "total_gmv": Outcome("total GMV", "million RMB", 1e-6, ".0f"),
    "gmv_year2": Outcome("GMV in the second year", "million RMB", 1e-6, ".0f"),  # contract_dynamics
    "final_brand_value": Outcome("final brand value", "million RMB/week", 1e-6, ".2f"),
    "brand_value_change": Outcome("brand value change over the run", "%", 100.0, ".1f"),
    "brand_profit_total": Outcome("brand profit, total", "million RMB", 1e-6, ".0f"),
    "agency_profit_total": Outcome("agency profit, total", "million RMB", 1e-6, ".0f"),
    "platform_revenue_total": Outcome("platform revenue, total", "million RMB", 1e-6, ".0f"),
    "consumer_surplus_total": Outcome("consumer surplus, total", "million RMB", 1e-6, ".0f"),
    "final_promo_strategy_share": Outcome("promotion-heavy share at the end", "% of brands", 100.0, ".0f"),
    "promo_share_first_26": Outcome("promotion-heavy share, first 26 weeks", "% of brands", 100.0, ".0f"),  # contract_dynamics
    "contract_switches_total": Outcome("contract switches", "count", 1.0, ".1f"),
    # weekly reporters used in time-series figures
    "gmv": Outcome("GMV", "million RMB/week", 1e-6, ".1f"),
    "brand_value_index": Outcome("brand-value index", "week 0 = 1", 1.0, ".2f"),
    "promo_strategy_share": Outcome("promotion-heavy share", "% of brands", 100.0, ".0f"),
}


# Design factors as column headers of the Markdown summary.
KEY_NAMES = {"base_fee": "base fee (RMB/month)", "commission_rate": "commission",
             "contract_weeks": "contract (weeks)", "brand_measure_noise": "brand-measure noise (sd)",
             "rule": "contract rule"}


# --- sizes and the command line --------------------------------------------------------------
@dataclass(frozen=True)
class Size:
    """How big a sweep is: replications, weeks, and base-parameter overrides (model size)."""

    name: str  # "full", "quick" or "tiny"
    replications: int
    steps: int
    base: dict[str, Any] = field(default_factory=dict)


TINY_BASE = {"n_consumers": 300, "n_brands": 4, "n_agencies": 2, "burn_in_weeks": 4}


def build_parser(prog: str, question: str) -> argparse.ArgumentParser:
    """The command line every headline script shares."""
    p = Parser(prog=f"python -m experiments.{prog}", description=question)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="a real but small version (about a minute on two cores)")
    size.add_argument("--tiny", action="store_true",
                      help="a smoke test in seconds (too small to mean anything; for tests)")
    p.add_argument("--out", default=None,
                   help=f"output folder (default out/{prog}, out/{prog}-quick or out/{prog}-tiny); "
                        "rerun with the same folder to resume")
    p.add_argument("--executor", default=None, choices=["serial", "processes", "dask"],
                   help="where runs execute (default: local processes; serial with --tiny)")
    p.add_argument("--workers", type=int, default=None, help="parallel workers (default: all cores)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    p.add_argument("--seed", type=int, default=None, help="root seed of the sweep (default: the script's)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only on a terminal)")
    p.add_argument("--docs", action="store_true",
                   help="also copy the headline figures into docs/img/ (for the README and docs)")
    p.add_argument("--set", action="append", default=None, metavar="NAME=VALUE", dest="changes",
                   help="change one model parameter in every run (repeatable), e.g. --set "
                        "reward_scale=client_gmv: the same experiment under other assumptions "
                        "(not with --docs; not a parameter the experiment varies itself)")
    return p


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None, prog: str) -> argparse.Namespace:
    """Parse and check the common options; fill in ``size_name``, ``out`` and ``executor``."""
    args = parser.parse_args(argv)
    args.size_name = "tiny" if args.tiny else "quick" if args.quick else "full"
    args.changes = parse_assignments(args.changes)
    global _FIGURE_STAMP  # the figures of this run say what --set changed (save_figure)
    _FIGURE_STAMP = changes_text(args.changes) if args.changes else ""
    if args.out is None:  # runs with --set changes never land in the default runs' folder
        args.out = f"out/{prog}" + ("" if args.size_name == "full" else f"-{args.size_name}") \
            + ("-changed" if args.changes else "")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    if args.scheduler and args.executor != "dask":
        raise UserError("--scheduler needs --executor dask")
    if args.executor is None:
        args.executor = "serial" if args.size_name == "tiny" else "processes"
    if args.changes and args.docs:
        raise UserError("--docs copies the documented figures, which are drawn at the defaults: "
                        "drop --set, or drop --docs")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} exists and is not a folder")
    return args


def sweep_main(prog: str, question: str, sizes: Mapping[str, Size],
               make_spec: Callable[[Size], Mapping[str, Any]],
               analyse: Callable[..., list[Path]]) -> Callable[[Sequence[str] | None], int]:
    """The ``main(argv)`` of a script that runs one sweep spec and analyses it: parse the
    common options, run ``make_spec(size)`` into ``OUT/data`` and report what ``analyse(res,
    out, size_name, docs=...)`` wrote."""
    def main(argv: Sequence[str] | None = None) -> int:
        args = parse_args(build_parser(prog, question), argv, prog)
        size = sizes[args.size_name]
        res = run(make_spec(size), args)
        report(analyse(res, Path(args.out), size.name, docs=args.docs), args.changes)
        return 0
    return main


def main_guard(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``main(argv)``; user errors print one line and return 2, Ctrl-C returns 130."""
    from .sweep import SweepFailed

    prog = Path(sys.argv[0]).stem if argv is None else "experiment"
    try:
        return main(argv)
    except SweepFailed as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except (UserError, ValueError, FileNotFoundError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted (finished runs are kept; rerun to resume)", file=sys.stderr)
        return 130


# --- specs and running ---
def headline_spec(prog: str, question: str, size: Size, seed: int, *, base: Mapping[str, Any],
                  design: Mapping[str, Any], timeseries: bool = False) -> dict[str, Any]:
    """A headline sweep spec: learning agencies under the typical TP preset plus ``base``, the
    size's horizon, replications and base, and common random numbers -- replication r starts
    from the same market (brands, consumers, agencies) at every design point, so differences
    between points are not masked by differences between random markets."""
    return {
        "name": prog,
        "description": question,
        "steps": size.steps,
        "replications": size.replications,
        "seed": seed,
        "common_random_numbers": True,
        "base": {"preset": "typical_tp", "agency_policy": "learning", **base, **size.base},
        "design": dict(design),
        "outputs": {"timeseries": timeseries, "brands": False, "agencies": False},
    }


# --- running ---------------------------------------------------------------------------------
def run(spec: Mapping[str, Any], args: argparse.Namespace, folder: str | os.PathLike | None = None):
    """Run ``spec`` into ``folder`` (default ``OUT/data``) with the executor options of
    ``args``, its root seed replaced by ``--seed`` when given; return the loaded
    :class:`experiments.store.Results`. Resumes an interrupted sweep in that folder."""
    spec = dict(spec)
    if args.seed is not None:
        spec["seed"] = args.seed
    return run_into(spec, args, Path(args.out) / "data" if folder is None else folder)


def with_changes(spec: Mapping[str, Any], changes: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``spec`` with the ``--set`` parameter changes in its base (and named in its description).
    A parameter the design varies cannot be set: the design would silently override it."""
    if not changes:
        return spec
    from .designs import Design

    design = Design.from_dict(spec["design"])
    presets = [*design.factors.get("preset", ()), *(p["preset"] for p in design.points if "preset" in p)]
    refuse_changes(changes, [*design.names, *(k for point in design.points for k in point)], presets)
    return {**spec, "base": {**spec["base"], **changes},
            "description": f"{spec.get('description', '')}{changes_note(changes)}".strip()}


def refuse_changes(changes: Mapping[str, Any] | None, varied: Iterable[str],
                   presets: Iterable[str] = ()) -> None:
    """Refuse ``--set`` changes of parameters an experiment varies, directly or through the
    ``presets`` its design points name (the base would override the preset's value everywhere)."""
    from model import PRESETS

    names = set(varied).union(*(PRESETS[p]["params"] for p in presets))
    clash = sorted(set(changes or ()) & names)
    if clash:
        raise UserError(f"--set {clash[0]}: this experiment varies {clash[0]!r} itself "
                        "(directly or through the presets it compares)")


def changes_note(changes: Mapping[str, Any] | None) -> str:
    """`` [changed: a=1, b=x]`` for the ``--set`` changes, or nothing."""
    return f" [changed: {changes_text(changes)}]" if changes else ""


def changes_text(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items())


def run_into(spec: Mapping[str, Any], args: argparse.Namespace, folder: str | os.PathLike):
    """Run ``spec`` as it is (its own seed) into ``folder`` with the executor options of
    ``args``; return the loaded :class:`experiments.store.Results`."""
    from .sweep import load_results, load_spec, run_sweep

    spec = load_spec(with_changes(spec, getattr(args, "changes", None)))
    data = Path(folder)
    t0 = time.perf_counter()
    print(f"{spec.name}: {spec.n_points} design points x {spec.replications} replications = "
          f"{spec.n_runs} runs of {spec.steps} weeks -> {data}{changes_note(getattr(args, 'changes', None))}",
          file=sys.stderr)
    run_sweep(spec, data, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
              progress=args.progress)
    print(f"{spec.name}: sweep finished in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return load_results(data)


# --- statistics ------------------------------------------------------------------------------
def t_interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and the Student-t confidence interval of the mean: ``(mean, low, high, n)``.
    With fewer than two finite values the bounds are NaN."""
    from scipy import stats

    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    if n < 2:
        return m, math.nan, math.nan, n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def mean_ci(runs: pd.DataFrame, by: Sequence[str], outcomes: Sequence[str],
            level: float = 0.95) -> pd.DataFrame:
    """One row per design point (the ``by`` columns, in order of first appearance): ``n`` and,
    per outcome, ``{o}_mean``, ``{o}_ci_low``, ``{o}_ci_high`` (Student t over replications).
    Only runs with status ``done`` count."""
    if "status" in runs.columns:
        runs = runs[runs["status"] == "done"]
    rows = []
    for key, g in runs.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key))
        for o in outcomes:
            m, lo, hi, n = t_interval(g[o].to_numpy(dtype=float), level)
            row["n"] = n
            row[f"{o}_mean"], row[f"{o}_ci_low"], row[f"{o}_ci_high"] = m, lo, hi
        rows.append(row)
    cols = [*by, "n", *[f"{o}_{s}" for o in outcomes for s in ("mean", "ci_low", "ci_high")]]
    return pd.DataFrame(rows, columns=cols)


def paired_differences(runs: pd.DataFrame, keys: Sequence[str], ref: Mapping[str, Any],
                       outcomes: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Each design point minus a reference point, paired by replication: like :func:`mean_ci`
    but on ``outcome - outcome at ref`` within the same replication and the same values of the
    other ``keys``. With common random numbers, replication r starts from the same market at
    every point, so these intervals are much tighter than the difference of two
    :func:`mean_ci` intervals. ``ref`` names the reference, e.g. ``{"commission_rate": 0.05}``."""
    if "status" in runs.columns:
        runs = runs[runs["status"] == "done"]
    held = [k for k in keys if k not in ref]
    is_ref = np.ones(len(runs), dtype=bool)
    for k, v in ref.items():
        col = runs[k].to_numpy()
        is_ref &= np.isclose(col.astype(float), float(v)) if np.issubdtype(col.dtype, np.number) else col == v
    base = runs.loc[is_ref, [*held, "replication", *outcomes]]
    merged = runs.merge(base, on=[*held, "replication"], suffixes=("", "__ref"), how="inner")
    for o in outcomes:
        merged[o] = merged[o] - merged[f"{o}__ref"]
    return mean_ci(merged, keys, outcomes, level)


def timeseries_ci(ts: pd.DataFrame, by: Sequence[str], column: str, level: float = 0.95) -> pd.DataFrame:
    """Per group and week: ``mean``, ``ci_low``, ``ci_high``, ``n`` of a weekly reporter over
    the replications (vectorised Student t)."""
    from scipy import stats

    g = ts.groupby([*by, "week"], sort=True)[column]
    out = g.agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n > 1, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), np.nan)
        half = t * out["std"].to_numpy(dtype=float) / np.sqrt(n)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out.rename(columns={"count": "n"}).drop(columns="std")


def scaled(table: pd.DataFrame, outcome: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and error-bar half-widths (below, above) of ``outcome`` in display units, NaN-safe,
    for ``errorbar(yerr=...)``."""
    s = OUTCOMES[outcome].scale
    m = table[f"{outcome}_mean"].to_numpy(dtype=float) * s
    lo = np.nan_to_num(m - table[f"{outcome}_ci_low"].to_numpy(dtype=float) * s)
    hi = np.nan_to_num(table[f"{outcome}_ci_high"].to_numpy(dtype=float) * s - m)
    return m, lo, hi


# --- output ----------------------------------------------------------------------------------
@contextmanager
def figure_style():
    """Consistent figure style for the headline figures (readable on a projector)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rc = {"figure.dpi": 100, "savefig.dpi": 150, "font.size": 10, "axes.titlesize": 11,
          "axes.labelsize": 10, "legend.fontsize": 9, "axes.spines.top": False,
          "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
          "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "legend.frameon": False,
          "svg.fonttype": "none", "figure.constrained_layout.use": True}
    with plt.rc_context(rc):
        yield plt


_FIGURE_STAMP = ""  # "name=value, ..." of the --set changes of the run being drawn, or ""


def save_figure(fig, out: str | os.PathLike, name: str, *, docs: bool = False) -> list[Path]:
    """Write ``fig`` as ``OUT/figures/NAME.png`` and ``.svg`` (and, with ``docs``, a PNG copy
    as ``docs/img/NAME.png``); close it and return the paths written. In a run with ``--set``
    changes the figure's title says what was changed."""
    import matplotlib.pyplot as plt

    if _FIGURE_STAMP:
        stamp = f"[parameters changed in every run: {_FIGURE_STAMP}]"
        title = fig.get_suptitle()
        if title:  # keep the title's own style, add a line under it
            fig._suptitle.set_text(f"{title}\n{stamp}")
        else:
            fig.suptitle(stamp, fontsize=9)
    folder = Path(out) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = folder / f"{name}.{ext}"
        fig.savefig(path, metadata={"Date": None} if ext == "svg" else None)
        paths.append(path)
    plt.close(fig)
    if docs:
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths[0], DOCS_IMG / f"{name}.png")
        paths.append(DOCS_IMG / f"{name}.png")
    return paths


def _cell(table: pd.DataFrame, i: int, o: str, spec: Outcome | None = None) -> str:
    """Row ``i``'s ``o`` as 'mean [low, high]' in display units (``spec``, else ``OUTCOMES``)."""
    spec = spec or OUTCOMES.get(o, Outcome(o, ""))
    m = table[f"{o}_mean"].iat[i] * spec.scale
    lo = table[f"{o}_ci_low"].iat[i] * spec.scale
    hi = table[f"{o}_ci_high"].iat[i] * spec.scale
    if not np.isfinite(m):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{m:{spec.fmt}}"
    return f"{m:{spec.fmt}} [{lo:{spec.fmt}}, {hi:{spec.fmt}}]"


def summary_markdown(table: pd.DataFrame, keys: Sequence[str], outcomes: Sequence[str], *,
                     title: str, note: str = "", key_labels: Mapping[str, Callable[[Any], str]] | None = None) -> str:
    """The summary table as Markdown: one row per design point, ``mean [low, high]`` cells."""
    key_labels = key_labels or {}
    head = [*(KEY_NAMES.get(k, k) for k in keys), "runs", *[OUTCOMES[o].axis if o in OUTCOMES else o for o in outcomes]]
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i in range(len(table)):
        ks = [key_labels.get(k, str)(table[k].iat[i]) for k in keys]
        cells = [*ks, str(int(table["n"].iat[i])), *[_cell(table, i, o) for o in outcomes]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(table: pd.DataFrame, out: str | os.PathLike, keys: Sequence[str],
                  outcomes: Sequence[str], *, title: str, note: str = "",
                  key_labels: Mapping[str, Callable[[Any], str]] | None = None) -> list[Path]:
    """Write ``OUT/summary.csv`` (raw units: RMB, shares) and ``OUT/summary.md`` (display
    units, mean [95% CI]); return both paths."""
    return write_table(table, out, summary_markdown(table, keys, outcomes, title=title, note=note,
                                                    key_labels=key_labels))


def write_table(table: pd.DataFrame, out: str | os.PathLike, markdown: str) -> list[Path]:
    """Write ``table`` as ``OUT/summary.csv`` and ``markdown`` as ``OUT/summary.md``; return
    both paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "summary.csv"
    md = out / "summary.md"
    table.to_csv(csv, index=False, float_format="%.6g")
    md.write_text(markdown, encoding="utf-8")
    return [md, csv]


def write_differences(table: pd.DataFrame, out: str | os.PathLike, keys: Sequence[str],
                      outcomes: Sequence[str], *, title: str, note: str = "",
                      key_labels: Mapping[str, Callable[[Any], str]] | None = None,
                      name: str = "differences") -> list[Path]:
    """Write a :func:`paired_differences` table as ``OUT/NAME.csv`` and append it to
    ``OUT/summary.md`` as a further section; return the CSV path."""
    out = Path(out)
    csv = out / f"{name}.csv"
    table.to_csv(csv, index=False, float_format="%.6g")
    md = summary_markdown(table, keys, outcomes, title=title, note=note, key_labels=key_labels)
    with open(out / "summary.md", "a", encoding="utf-8") as fh:
        fh.write("\n#" + md)  # one level below the summary's title
    return [csv]


def pct(x: float) -> str:
    """0.05 -> '5%'."""
    return f"{100 * float(x):g}%"


def report(paths: Iterable[Path], changes: Mapping[str, Any] | None = None) -> None:
    """Print the files written (figures first), one per line, on stdout. With ``--set``
    ``changes``, every Markdown table written says so under its title."""
    paths = list(paths)
    for p in paths:
        if changes and p.suffix == ".md":
            title, _, rest = p.read_text(encoding="utf-8").partition("\n")
            p.write_text(f"{title}\n\n**Parameters changed from the defaults in every run: "
                         f"{changes_text(changes)}.**\n{rest}", encoding="utf-8")
    figs = [p for p in paths if p.suffix in (".png", ".svg")]
    other = [p for p in paths if p not in figs]
    print("figures:")
    for p in figs:
        print(f"  {p}")
    if other:
        print("tables:")
        for p in other:
            print(f"  {p}")
