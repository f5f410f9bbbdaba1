"""How experiment results are shown: labels and units, the palette, figures and tables.

Everything a headline script writes goes into one output folder::

    OUT/data/                 the sweep engine's store (manifest.json, summary/, timeseries/)
    OUT/figures/NAME.png      each figure as PNG (for slides) and SVG (for papers)
    OUT/figures/NAME.svg
    OUT/summary.md            the summary table, Markdown (mean [95% CI low, high])
    OUT/summary.csv           the same, one column per mean / CI bound
    OUT/differences.csv       (optional) paired differences from a reference design point,
                              also appended to summary.md (see experiments.stats)

- :class:`Outcome` and :data:`OUTCOMES` (declared in :mod:`model.outcomes`): label, unit and
  display scale of each run outcome;
  :data:`KEY_NAMES`: design factors as column headers;
- :data:`PALETTE` (Okabe & Ito 2008, colour-blind safe; the one of ``model.plots``) and
  :data:`MARKERS`; :func:`figure_style`; :func:`save_figure` (PNG + SVG, optional copy to
  docs/img, and a stamp naming ``--set`` changes in the title);
- :func:`summary_markdown`, :func:`write_summary`, :func:`write_table`,
  :func:`write_differences`; :func:`print_written` prints what was written.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.outcomes import OUTCOMES as MODEL_OUTCOMES
from model.outcomes import Outcome
from model.plots import COLORS as PALETTE  # one palette for the model's and the experiments' figures

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


# How each run outcome reads (label, unit, scale, format): declared once in model.outcomes, with
# its definition; an experiment's own derived outcomes are declared as Outcome(label, unit, ...).
OUTCOMES: dict[str, Outcome] = MODEL_OUTCOMES


# Design factors as column headers of the Markdown summary.
KEY_NAMES = {
    "base_fee": "base fee (RMB/month)",
    "commission_rate": "commission",
    "contract_weeks": "contract (weeks)",
    "brand_measure_noise": "brand-measure noise (sd)",
    "rule": "contract rule",
    "focal_commission_rate": "focal brand's commission",
    "experience_weeks": "agencies' experience (weeks)",
}


def pct(x: float) -> str:
    """0.05 -> '5%'."""
    return f"{100 * float(x):g}%"


def changes_text(changes: Mapping[str, Any] | None) -> str:
    """``a=1, b=x`` for the ``--set`` changes, or ``""``."""
    return ", ".join(f"{k}={v}" for k, v in (changes or {}).items())


def changes_note(changes: Mapping[str, Any] | None) -> str:
    """`` [changed: a=1, b=x]`` for the ``--set`` changes, or nothing."""
    return f" [changed: {changes_text(changes)}]" if changes else ""


# --- numbers in display units ------------------------------------------------------------------
def scaled(table: pd.DataFrame, outcome: str, spec: Outcome | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and error-bar half-widths (below, above) of ``outcome`` in display units (``spec``,
    else ``OUTCOMES[outcome]``), NaN-safe, for ``errorbar(yerr=...)``."""
    s = (spec or OUTCOMES[outcome]).scale
    m = table[f"{outcome}_mean"].to_numpy(dtype=float) * s
    lo = np.nan_to_num(m - table[f"{outcome}_ci_low"].to_numpy(dtype=float) * s)
    hi = np.nan_to_num(table[f"{outcome}_ci_high"].to_numpy(dtype=float) * s - m)
    return m, lo, hi


def ci_text(row: Mapping[str, Any], o: str, spec: Outcome | None = None) -> str:
    """``row``'s ``o`` as 'mean [low, high]' in display units (``spec``, else ``OUTCOMES``)."""
    spec = spec or OUTCOMES.get(o, Outcome(o, ""))
    m, lo, hi = (row[f"{o}_{s}"] * spec.scale for s in ("mean", "ci_low", "ci_high"))
    if not np.isfinite(m):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{m:{spec.fmt}}"
    return f"{m:{spec.fmt}} [{lo:{spec.fmt}}, {hi:{spec.fmt}}]"


def interval_text(m: float, lo: float, hi: float, fmt: str = ".1f", *, sign: bool = False) -> str:
    """'mean [low, high]' (display units) with ``fmt``'s decimals, or more where the interval is
    narrow: enough to show two significant digits of its half-width (at most six decimals), so
    that an interval as wide as a thousandth of a unit does not read as zeros. ``sign``: a '+'
    on a positive mean (for differences)."""
    if not np.isfinite(m):
        return "–"
    fixed = re.fullmatch(r"(,?)\.(\d+)f", fmt)  # (a fixed-point format, with or without thousands)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{m:{'+' if sign else ''}{fmt}}"
    f = fmt
    half = abs(hi - lo) / 2
    if fixed and half > 0:
        digits = max(int(fixed[2]), min(6, 1 - int(np.floor(np.log10(half)))))
        f = f"{fixed[1]}.{digits}f"
    return f"{m:{'+' if sign else ''}{f}} [{lo:{f}}, {hi:{f}}]"


def cell(table: pd.DataFrame, i: int, o: str, spec: Outcome | None = None) -> str:
    """Row ``i`` of ``table``: :func:`ci_text` of outcome ``o``."""
    return ci_text(table.iloc[i], o, spec)


# --- figures -------------------------------------------------------------------------------------
@contextmanager
def figure_style():
    """Consistent figure style for the headline figures (readable on a projector)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rc = {
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.6,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "legend.frameon": False,
        "svg.fonttype": "none",
        "figure.constrained_layout.use": True,
    }
    with plt.rc_context(rc):
        yield plt


def save_figure(fig, out: str | os.PathLike, name: str, *, docs: bool = False, stamp: str = "") -> list[Path]:
    """Write ``fig`` as ``OUT/figures/NAME.png`` and ``.svg`` (and, with ``docs``, a PNG copy
    as ``docs/img/NAME.png``); close it and return the paths written. A ``stamp`` (what
    ``--set`` changed, e.g. ``"reward_scale=client_gmv"``) is added under the title."""
    import matplotlib.pyplot as plt

    if stamp:
        line = f"[parameters changed in every run: {stamp}]"
        title = fig.get_suptitle()
        if title:  # keep the title's own style, add a line under it
            fig._suptitle.set_text(f"{title}\n{line}")
        else:
            fig.suptitle(line, fontsize=9)
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


def size_note(ax, size_name: str) -> None:
    """A small grey 'quick run' / 'tiny run' in the corner of ``ax`` (nothing at full size)."""
    if size_name != "full":
        ax.text(
            0.99, 0.01, f"{size_name} run", transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="grey"
        )


# --- tables --------------------------------------------------------------------------------------
def summary_markdown(
    table: pd.DataFrame,
    keys: Sequence[str],
    outcomes: Sequence[str],
    *,
    title: str,
    note: str = "",
    key_labels: Mapping[str, Callable[[Any], str]] | None = None,
    header: Callable[[str], str] | None = None,
    cell_text: Callable[[Mapping[str, Any], str], str] | None = None,
) -> str:
    """The summary table as Markdown: one row per design point, ``mean [low, high]`` cells
    (:func:`ci_text`, or ``cell_text(row, outcome)``), each outcome's column headed by its
    label and unit (or ``header(outcome)``)."""
    key_labels = key_labels or {}
    header = header or (lambda o: OUTCOMES[o].axis if o in OUTCOMES else o)
    cell_text = cell_text or ci_text
    head = [*(KEY_NAMES.get(k, k) for k in keys), "runs", *[header(o) for o in outcomes]]
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i in range(len(table)):
        row = table.iloc[i]
        ks = [key_labels.get(k, str)(table[k].iat[i]) for k in keys]
        cells = [*ks, str(int(table["n"].iat[i])), *[cell_text(row, o) for o in outcomes]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(
    table: pd.DataFrame,
    out: str | os.PathLike,
    keys: Sequence[str],
    outcomes: Sequence[str],
    *,
    title: str,
    note: str = "",
    key_labels: Mapping[str, Callable[[Any], str]] | None = None,
    name: str = "summary",
) -> list[Path]:
    """Write ``OUT/NAME.csv`` (raw units: RMB, shares) and ``OUT/NAME.md`` (display units,
    mean [95% CI]); return both paths."""
    return write_table(
        table, out, summary_markdown(table, keys, outcomes, title=title, note=note, key_labels=key_labels), name=name
    )


def write_table(table: pd.DataFrame, out: str | os.PathLike, markdown: str, name: str = "summary") -> list[Path]:
    """Write ``table`` as ``OUT/NAME.csv`` and ``markdown`` as ``OUT/NAME.md``; return both
    paths (Markdown first)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{name}.csv"
    md = out / f"{name}.md"
    table.to_csv(csv, index=False, float_format="%.6g")
    md.write_text(markdown, encoding="utf-8")
    return [md, csv]


def write_differences(
    table: pd.DataFrame,
    out: str | os.PathLike,
    keys: Sequence[str],
    outcomes: Sequence[str],
    *,
    title: str,
    note: str = "",
    key_labels: Mapping[str, Callable[[Any], str]] | None = None,
    name: str = "differences",
) -> list[Path]:
    """Write a :func:`experiments.stats.paired_differences` table as ``OUT/NAME.csv`` and
    append it to ``OUT/summary.md`` as a further section; return the CSV path."""
    out = Path(out)
    csv = out / f"{name}.csv"
    table.to_csv(csv, index=False, float_format="%.6g")
    md = summary_markdown(table, keys, outcomes, title=title, note=note, key_labels=key_labels)
    with open(out / "summary.md", "a", encoding="utf-8") as fh:
        fh.write("\n#" + md)  # one level below the summary's title
    return [csv]


def print_written(paths: Iterable[Path], changes: Mapping[str, Any] | None = None) -> None:
    """Print the files written (figures first), one per line, on stdout. With ``--set``
    ``changes``, every Markdown table written says so under its title."""
    paths = list(paths)
    for p in paths:
        if changes and p.suffix == ".md":
            title, _, rest = p.read_text(encoding="utf-8").partition("\n")
            p.write_text(
                f"{title}\n\n**Parameters changed from the defaults in every run: {changes_text(changes)}.**\n{rest}",
                encoding="utf-8",
            )
    figs = [p for p in paths if p.suffix in (".png", ".svg")]
    other = [p for p in paths if p not in figs]
    print("figures:")
    for p in figs:
        print(f"  {p}")
    if other:
        print("tables:")
        for p in other:
            print(f"  {p}")
