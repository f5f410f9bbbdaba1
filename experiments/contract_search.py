"""Headline experiment: the contract a brand should offer its agency, and how far "sales is king" is from it.

Question: which contract terms (base fee, commission rate, brand bonus, contract length)
maximise the brand's discounted five-year profit, given that the agency must earn at least
its outside option? How much profit and brand value does the popular "low fee, high
commission" contract (``PRESETS["sales_is_king"]``) leave on the table?

Objective: the brands' discounted profit, ``sum_w brand_profit_w * (1 + r) ** (-w / 52)`` over
the 260 weeks of a run with ``r = 10%`` a year (a brand's cost of capital; weekly compounding
of an annual rate), from the weekly ``brand_profit`` reporter, reported per brand (the 12
brands of the market all sign the same contract, so "the brand" is their average).

Constraint (participation): an agency that turns this brand down signs another brand on the
market's usual terms, so the contract must pay it at least ``outside_factor`` times the
discounted profit (fees, commission and bonus less its own labour and service costs) that
the typical TP contract (``PRESETS["typical_tp"]``) pays it, measured on the same seeds. The
default factor 1.0 is that market alternative; ``--outside-factor 0`` makes the constraint
"zero economic profit after the agency's labour cost" instead.

Design (every run on the typical TP market with learning agencies, ``agency_policy =
"learning"``, renewal judged with the typical weight 0.2 on the brand measure; all stages use
common random numbers: replication r has the same seed for every candidate, which removes most
of the noise from comparisons between candidates):

1. search:  a Latin hypercube of candidates over base_fee 0-300k RMB/month, commission_rate
            0-35%, brand_bonus_rate 0-0.5, contract_weeks 13-260 (a first search with fees up
            to 150k and terms up to 156 weeks found its best contract at those edges);
   reference: the typical TP, "sales is king" and brand-partnership presets on the same seeds
            (the typical contract sets the agency's outside option);
2. refine:  a second Latin hypercube in a box around the best feasible candidate (+-15% of
            each range);
3. confirm: the best few feasible candidates and the three presets again, on fresh seeds with
            more replications (the search picks the luckiest of many, so its own numbers are
            biased upward); the best contract is the best feasible one here, and the gaps are
            paired differences over the replications with 95% Student-t CIs.

    python -m experiments.contract_search --quick       # about a minute on two cores
    python -m experiments.contract_search               # the full size (docs numbers)

writes ``OUT/data/{search,reference,refine,confirm}/`` (the sweep engine's stores; rerun to
resume), ``OUT/figures/contract_search`` and ``contract_confirm`` (PNG and SVG),
``OUT/candidates.csv`` (every searched contract) and ``OUT/summary.md`` / ``OUT/summary.csv``
(the confirmed contracts with 95% CIs and their gaps to the best).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import TINY_BASE, Experiment, RunContext, Size, doc_question, refuse_changes
from .sweeps.errors import UserError

NAME = "contract_search"
QUESTION = doc_question(__doc__)
SEED = 27182
ANNUAL_DISCOUNT_RATE = 0.10
WEEKS_PER_YEAR = 52
# search space: term -> (low, high)
TERMS: dict[str, tuple[float, float]] = {
    "base_fee": (0.0, 300_000.0),
    "commission_rate": (0.0, 0.35),
    "brand_bonus_rate": (0.0, 0.5),
    "contract_weeks": (13, 260),
}
REFINE_WIDTH = 0.15  # half-width of the refinement box, as a share of each range
# contract columns of a confirmation point (the presets differ in these only)
POINT_KEYS = (*TERMS, "evaluation_brand_weight", "brand_measure_noise")
REFERENCES = ("typical_tp", "sales_is_king", "brand_partnership")
REF_LABELS = {"typical_tp": "typical TP", "sales_is_king": "sales is king", "brand_partnership": "brand partnership"}
METRICS = (
    "brand_profit_disc",
    "agency_profit_disc",
    "brand_value_change",
    "final_brand_value",
    "short_term_gmv",
    "final_promo_strategy_share",
)
DISPLAY: dict[str, report.Outcome] = {
    "brand_profit_disc": report.Outcome("brand's discounted 5-year profit", "million RMB/brand", 1e-6, ".1f"),
    "agency_profit_disc": report.Outcome("agency's discounted profit", "million RMB/client brand", 1e-6, ".2f"),
    "brand_value_change": report.OUTCOMES["brand_value_change"],
    "final_brand_value": report.OUTCOMES["final_brand_value"],
    "short_term_gmv": report.OUTCOMES["short_term_gmv"],
    "final_promo_strategy_share": report.OUTCOMES["final_promo_strategy_share"],
}


SIZES = {  # extra: candidates per stage, how many are confirmed, and on how many fresh replications
    "full": Size(
        "full",
        replications=4,
        steps=260,
        base={"n_consumers": 2000},
        extra=dict(search=128, refine=48, top=3, confirm_reps=16),
    ),
    "quick": Size(
        "quick",
        replications=3,
        steps=260,
        base={"n_consumers": 600},
        extra=dict(search=40, refine=16, top=3, confirm_reps=6),
    ),
    "tiny": Size(
        "tiny", replications=2, steps=20, base=TINY_BASE, extra=dict(search=8, refine=4, top=2, confirm_reps=3)
    ),
}


def preset_point(name: str) -> dict[str, Any]:
    """The contract terms of a preset, as a design point (the typical TP market otherwise)."""
    from model import Params

    p = Params.preset(name)
    return {k: getattr(p, k) for k in POINT_KEYS}


def _common(s: Size, seed: int, replications: int) -> dict[str, Any]:
    return {
        "steps": s.steps,
        "replications": replications,
        "seed": seed,
        "common_random_numbers": True,
        "base": {"preset": "typical_tp", "agency_policy": "learning", **s.base},
        "outputs": {"timeseries": True, "brands": False, "agencies": False},
    }


def search_spec(s: Size, seed: int = SEED) -> dict[str, Any]:
    return {
        "name": f"{NAME}_search_{s.name}",
        **_common(s, seed, s.replications),
        "description": "Contract search, stage 1: Latin hypercube over the contract terms",
        "design": {"kind": "lhs", "samples": s.extra["search"], "factors": {k: list(v) for k, v in TERMS.items()}},
    }


def reference_spec(s: Size, seed: int = SEED) -> dict[str, Any]:
    return {
        "name": f"{NAME}_reference_{s.name}",
        **_common(s, seed, s.replications),
        "description": "Contract search: the preset contracts on the search seeds",
        "design": {"kind": "points", "points": [preset_point(r) for r in REFERENCES]},
    }


def refine_box(best: dict[str, float]) -> dict[str, list]:
    """Bounds of the refinement box: +-REFINE_WIDTH of each range around ``best``, clipped."""
    box = {}
    for k, (lo, hi) in TERMS.items():
        half = REFINE_WIDTH * (hi - lo)
        a, b = max(lo, best[k] - half), min(hi, best[k] + half)
        if isinstance(lo, int):
            a, b = int(np.floor(a)), int(np.ceil(b))
        else:
            a, b = float(a), float(b)
        box[k] = [a, b]
    return box


def refine_spec(s: Size, best: dict[str, float], seed: int = SEED) -> dict[str, Any]:
    return {
        "name": f"{NAME}_refine_{s.name}",
        **_common(s, seed, s.replications),
        "description": "Contract search, stage 2: Latin hypercube around the best stage-1 contract",
        "design": {"kind": "lhs", "samples": s.extra["refine"], "factors": refine_box(best)},
    }


def confirm_spec(s: Size, candidates: list[dict[str, Any]], seed: int = SEED) -> dict[str, Any]:
    points = [{k: c[k] for k in POINT_KEYS} for c in candidates] + [preset_point(r) for r in REFERENCES]
    return {
        "name": f"{NAME}_confirm_{s.name}",
        **_common(s, seed + 1, s.extra["confirm_reps"]),
        "description": "Contract search, stage 3: best candidates and presets on fresh seeds",
        "design": {"kind": "points", "points": points},
    }


# --- analysis ------------------------------------------------------------------------------------
def discount_factors(weeks: np.ndarray, annual_rate: float = ANNUAL_DISCOUNT_RATE) -> np.ndarray:
    """Present value of 1 RMB paid in week ``w``: ``(1 + r) ** (-w / 52)``."""
    return (1.0 + annual_rate) ** (-np.asarray(weeks, dtype=float) / WEEKS_PER_YEAR)


def per_run(res, stage: str) -> pd.DataFrame:
    """One row per run: contract terms, discounted brand and agency profit per brand, outcomes."""
    n_brands = res.spec.params_dict(res.spec.points[0])["n_brands"]
    ts = res.read("timeseries", columns=["run_id", "week", "brand_profit", "agency_profit"])
    d = discount_factors(ts["week"].to_numpy())
    disc = pd.DataFrame(
        {
            "run_id": ts["run_id"],
            "brand_profit_disc": ts["brand_profit"].to_numpy() * d / n_brands,
            "agency_profit_disc": ts["agency_profit"].to_numpy() * d / n_brands,
        }
    )
    disc = disc.groupby("run_id").sum()
    runs = res.runs.set_index("run_id")
    terms = pd.DataFrame(
        [res.spec.params_dict(v) for v in runs.index.map(lambda i: res.spec.points[int(runs.at[i, "point"])])],
        index=runs.index,
    )[list(POINT_KEYS)]
    keep = [
        "point",
        "replication",
        "seed",
        "status",
        "brand_value_change",
        "final_brand_value",
        "short_term_gmv",
        "final_promo_strategy_share",
    ]
    out = runs[keep].join(terms).join(disc).reset_index()
    out.insert(0, "stage", stage)
    return out


def point_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over replications per design point of a stage."""
    table = stats.mean_ci(runs, ["stage", "point", *POINT_KEYS], list(METRICS))
    return table


def mark_feasible(table: pd.DataFrame, reservation: float) -> pd.DataFrame:
    table = table.copy()
    table["reservation"] = reservation
    table["feasible"] = table["agency_profit_disc_mean"] >= reservation
    return table


def best_feasible(table: pd.DataFrame) -> pd.Series:
    feas = table[table["feasible"]]
    if feas.empty:  # cannot happen while the typical contract is a candidate and factor <= 1
        raise RuntimeError("no feasible contract: lower --outside-factor")
    return feas.loc[feas["brand_profit_disc_mean"].idxmax()]


# --- figures -------------------------------------------------------------------------------------
REF_MARKERS = {
    "typical_tp": ("s", report.PALETTE[2]),
    "sales_is_king": ("D", report.PALETTE[1]),
    "brand_partnership": ("^", report.PALETTE[3]),
}


def plot_search(
    cands: pd.DataFrame,
    refs: pd.DataFrame,
    best: pd.Series,
    reservation: float,
    ctx: RunContext,
    note: str,
    box: dict[str, list] | None = None,
) -> list[Path]:
    import matplotlib as mpl

    s = DISPLAY["brand_profit_disc"].scale
    vals = pd.concat([cands, refs])["brand_profit_disc_mean"] * s
    norm = mpl.colors.Normalize(vmin=float(vals.min()), vmax=float(vals.max()))
    cmap = mpl.colormaps["cividis"]
    with report.figure_style() as plt:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5.4), gridspec_kw={"width_ratios": [1.15, 1]})
        for feasible, marker, label in ((True, "o", "feasible candidate"), (False, "X", "infeasible candidate")):
            g = cands[cands["feasible"] == feasible]
            kw = dict(edgecolors="0.2", linewidths=0.4) if feasible else dict(linewidths=0.3, edgecolors="0.2")
            ax.scatter(
                100 * g["commission_rate"],
                g["base_fee"] / 1e3,
                c=g["brand_profit_disc_mean"] * s,
                cmap=cmap,
                norm=norm,
                marker=marker,
                s=46 if feasible else 52,
                label=label,
                zorder=2,
                **kw,
            )
            ax2.scatter(
                g["agency_profit_disc_mean"] * s,
                g["brand_profit_disc_mean"] * s,
                c=g["brand_profit_disc_mean"] * s,
                cmap=cmap,
                norm=norm,
                marker=marker,
                s=46 if feasible else 52,
                zorder=2,
                **kw,
            )
        for _, r in refs.iterrows():
            ref = r["reference"]
            marker, colour = REF_MARKERS[ref]
            for a, x, y in (
                (ax, 100 * r["commission_rate"], r["base_fee"] / 1e3),
                (ax2, r["agency_profit_disc_mean"] * s, r["brand_profit_disc_mean"] * s),
            ):
                a.scatter(
                    [x],
                    [y],
                    marker=marker,
                    s=120,
                    facecolor="none",
                    edgecolor=colour,
                    linewidths=2.2,
                    zorder=4,
                    label=f"{REF_LABELS[ref]} (preset)" if a is ax else None,
                )
        for a, x, y in (
            (ax, 100 * best["commission_rate"], best["base_fee"] / 1e3),
            (ax2, best["agency_profit_disc_mean"] * s, best["brand_profit_disc_mean"] * s),
        ):
            a.scatter(
                [x],
                [y],
                marker="*",
                s=340,
                facecolor=report.PALETTE[4],
                edgecolor="black",
                linewidths=1.0,
                zorder=5,
                label="best feasible contract" if a is ax else None,
            )
        if box is not None:
            from matplotlib.patches import Rectangle

            (c0, c1), (f0, f1) = box["commission_rate"], box["base_fee"]
            ax.add_patch(
                Rectangle(
                    (100 * c0, f0 / 1e3),
                    100 * (c1 - c0),
                    (f1 - f0) / 1e3,
                    fill=False,
                    ls="--",
                    lw=1,
                    edgecolor="0.3",
                    zorder=1,
                    label="refinement box",
                )
            )
        ax.set_xlabel("commission rate (% of GMV)")
        ax.set_ylabel("base fee (thousand RMB per month)")
        ax.set_title("searched contracts (stage 1 and refinement)")
        from matplotlib.lines import Line2D

        handles, labels = ax.get_legend_handles_labels()
        # candidates: show the marker shape in grey, not an arbitrary colour of the map
        proxies = {
            lab: Line2D(
                [], [], ls="", marker=m, markersize=7, markerfacecolor="0.6", markeredgecolor="0.2", markeredgewidth=0.4
            )
            for lab, m in (("feasible candidate", "o"), ("infeasible candidate", "X"))
        }
        ax.legend(
            [proxies.get(lab, h) for h, lab in zip(handles, labels)],
            labels,
            loc="upper right",
            fontsize=8,
            framealpha=0.85,
            frameon=True,
        )
        ax2.axvline(reservation * s, color="0.3", ls="--", lw=1)
        ax2.annotate(
            "agency's outside option",
            (reservation * s, ax2.get_ylim()[0]),
            xytext=(4, 6),
            textcoords="offset points",
            fontsize=8,
            rotation=90,
            va="bottom",
        )
        ax2.set_xlabel(f"agency's discounted profit ({DISPLAY['agency_profit_disc'].unit})")
        ax2.set_ylabel(f"brand's discounted profit ({DISPLAY['brand_profit_disc'].unit})")
        ax2.set_title("the brand's gain against the agency's: feasible is right of the line")
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(
            sm,
            ax=[ax, ax2],
            label=f"brand's discounted 5-year profit ({DISPLAY['brand_profit_disc'].unit})",
            shrink=0.9,
            pad=0.01,
        )
        fig.suptitle(
            "Which contract maximises the brand's discounted profit while the agency still earns its "
            f"outside option?\n(mean over common-random-number replications; {note})"
        )
        return ctx.save_figure(fig, "contract_search")


def plot_confirm(table: pd.DataFrame, ctx: RunContext, note: str) -> list[Path]:
    labels = [
        (lab.replace(": ", "\n", 1) if lab.startswith("best: ") else lab)
        + ("" if feasible else "\n(infeasible: pays the agency too little)")
        for lab, feasible in zip(table["label"], table["feasible"])
    ]
    y = np.arange(len(labels))[::-1]  # first row at the top
    colours = [
        REF_MARKERS[r][1] if r in REF_MARKERS else (report.PALETTE[4] if role == "best" else report.PALETTE[5])
        for r, role in zip(table["reference"], table["role"])
    ]
    with report.figure_style() as plt:
        fig, axes = plt.subplots(1, 3, figsize=(13, 0.55 * len(labels) + 2.6), sharey=True)
        for ax, metric in zip(axes, ("brand_profit_disc", "brand_value_change", "agency_profit_disc")):
            spec = DISPLAY[metric]
            m = table[f"{metric}_mean"].to_numpy(float) * spec.scale
            lo = np.nan_to_num(m - table[f"{metric}_ci_low"].to_numpy(float) * spec.scale)
            hi = np.nan_to_num(table[f"{metric}_ci_high"].to_numpy(float) * spec.scale - m)
            ax.barh(y, m, color=colours, edgecolor="0.2", linewidth=0.5, height=0.7)
            ax.errorbar(m, y, xerr=[lo, hi], fmt="none", ecolor="0.15", capsize=3, lw=1)
            if metric == "agency_profit_disc":
                ax.axvline(
                    table["reservation"].iat[0] * spec.scale,
                    color="0.3",
                    ls="--",
                    lw=1,
                    label="agency's outside option",
                )
                ax.legend(loc="lower right", fontsize=8, frameon=True, framealpha=0.85)
            ax.axvline(0, color="0.3", lw=0.6)
            ax.set_xlabel(f"{spec.label}\n({spec.unit})")
            ax.set_title(spec.label)
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, labels, fontsize=8)
        fig.suptitle(
            "Confirmation on fresh seeds: the best searched contracts against the presets\n"
            f"(mean, error bars = 95% CI over replications; {note})"
        )
        return ctx.save_figure(fig, "contract_confirm")


# --- the experiment ------------------------------------------------------------------------------
def contract_label(r: pd.Series) -> str:
    return (
        f"fee {r['base_fee'] / 1e3:.0f}k, comm. {100 * r['commission_rate']:.1f}%, "
        f"bonus {r['brand_bonus_rate']:.2f}, {int(r['contract_weeks'])} wk"
    )


def search(ctx: RunContext) -> dict[str, Any]:
    """Stage 1 and the presets on the search seeds, then the refinement around the best
    feasible contract: every searched contract (marked feasible or not), the presets, the box."""
    size, seed, factor = ctx.size, ctx.seed, ctx.options.outside_factor
    res1 = ctx.run(search_spec(size, seed), "search")
    res0 = ctx.run(reference_spec(size, seed), "reference")
    refs = point_table(per_run(res0, "reference"))
    refs["reference"] = list(REFERENCES)
    reservation = factor * float(refs.loc[refs["reference"] == "typical_tp", "agency_profit_disc_mean"].iat[0])
    stage1 = point_table(per_run(res1, "search"))
    pool = mark_feasible(
        pd.concat([stage1, refs[refs["reference"] == "typical_tp"].drop(columns="reference")]), reservation
    )
    best1 = best_feasible(pool)
    res2 = ctx.run(refine_spec(size, best1.to_dict(), seed), "refine")
    stage2 = point_table(per_run(res2, "refine"))
    cands = mark_feasible(pd.concat([stage1, stage2], ignore_index=True), reservation)
    return {
        "candidates": cands,
        "references": mark_feasible(refs, reservation),
        "box": refine_box(best1.to_dict()),
        "reservation": reservation,
    }


def confirm(ctx: RunContext, cands: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, float]:
    """The best few feasible searched contracts and the presets on fresh seeds: the table (best
    first, with paired gaps to the best), the best row, and the agency's outside option."""
    feas = cands[cands["feasible"]].sort_values("brand_profit_disc_mean", ascending=False)
    top = [{k: r[k] for k in POINT_KEYS} for _, r in feas.head(ctx.size.extra["top"]).iterrows()]
    runs3 = per_run(ctx.run(confirm_spec(ctx.size, top, ctx.seed), "confirm"), "confirm")
    conf = point_table(runs3)
    conf["reference"] = [""] * len(top) + list(REFERENCES)
    typical_point = len(top) + REFERENCES.index("typical_tp")
    reservation = ctx.options.outside_factor * float(
        conf.loc[conf["point"] == typical_point, "agency_profit_disc_mean"].iat[0]
    )
    conf = mark_feasible(conf, reservation)
    best = best_feasible(conf)
    best_point = int(best["point"])
    conf["role"] = [
        "best" if p == best_point else ("candidate" if r == "" else r) for p, r in zip(conf["point"], conf["reference"])
    ]
    conf["label"] = [
        ("best: " if role == "best" else "") + (REF_LABELS[r] if r else contract_label(row))
        for role, r, (_, row) in zip(conf["role"], conf["reference"], conf.iterrows())
    ]
    for metric in ("brand_profit_disc", "brand_value_change", "final_brand_value", "agency_profit_disc"):
        gaps = [stats.paired_gap(runs3, best_point, int(p), metric) for p in conf["point"]]
        for k, part in enumerate(("mean", "ci_low", "ci_high")):
            conf[f"gap_{metric}_{part}"] = [g[k] for g in gaps]
    order = {"best": 0, "candidate": 1, "typical_tp": 2, "brand_partnership": 3, "sales_is_king": 4}
    conf = conf.sort_values("role", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    return conf, best, reservation


def searched_row(cands: pd.DataFrame, best: pd.Series) -> pd.Series:
    """The search-stage row of the confirmed best contract (same terms), for the search figure."""
    scale = pd.Series({k: hi - lo for k, (lo, hi) in TERMS.items()})
    dist = (cands[list(TERMS)] - pd.Series({k: best[k] for k in TERMS})).abs().div(scale).sum(axis=1)
    return cands.loc[dist.idxmin()]


def summary_markdown(conf: pd.DataFrame, title: str, note: str) -> str:
    cols = ("brand_profit_disc", "brand_value_change", "agency_profit_disc", "short_term_gmv")
    head = [
        "contract",
        "base fee (k RMB/month)",
        "commission",
        "bonus",
        "weeks",
        "brand weight",
        "runs",
        *[DISPLAY[c].axis for c in cols],
        "feasible",
        "best minus this: brand profit (million RMB per brand)",
        "best minus this: brand value change (points)",
    ]
    lines = [f"# {title}", "", note, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in conf.iterrows():
        cells = [
            r["label"],
            f"{r['base_fee'] / 1e3:.1f}",
            f"{100 * r['commission_rate']:.1f}%",
            f"{r['brand_bonus_rate']:.2f}",
            str(int(r["contract_weeks"])),
            f"{r['evaluation_brand_weight']:.1f}",
            str(int(r["n"])),
        ]
        cells += [report.ci_text(r, c, DISPLAY[c]) for c in cols]
        cells.append("yes" if r["feasible"] else "no")
        cells.append(
            "–" if r["role"] == "best" else report.ci_text(r, "gap_brand_profit_disc", DISPLAY["brand_profit_disc"])
        )
        cells.append(
            "–" if r["role"] == "best" else report.ci_text(r, "gap_brand_value_change", DISPLAY["brand_value_change"])
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def add_options(parser) -> None:
    parser.add_argument(
        "--outside-factor",
        type=float,
        default=1.0,
        help="the agency's outside option as a multiple of what the typical TP contract "
        "pays it (default 1.0; 0 = zero profit after its labour cost)",
    )


def check(ctx: RunContext) -> None:
    """Before the first run: the outside factor, and ``--set`` against every stage's contract
    terms (the later stages' points are only known after the first)."""
    factor = ctx.options.outside_factor
    if not np.isfinite(factor) or not 0 <= factor <= 1:
        raise UserError(f"--outside-factor must be in [0, 1] (the typical contract must stay feasible), got {factor}")
    refuse_changes(ctx.changes, POINT_KEYS, REFERENCES)


def run(ctx: RunContext) -> list[Path]:
    """Search, refine, confirm; then the two figures, candidates.csv and the summary."""
    r = search(ctx)
    conf, best, reservation_confirm = confirm(ctx, r["candidates"])
    s, out, factor = ctx.size, ctx.out, ctx.options.outside_factor
    size = ctx.n_consumers
    note = f"{s.name} size, {size:,} consumers, {s.steps} weeks, {s.replications} replications per candidate"
    paths = plot_search(
        r["candidates"], r["references"], searched_row(r["candidates"], best), r["reservation"], ctx, note, box=r["box"]
    )
    paths += plot_confirm(conf, ctx, f"{s.name} size, {s.extra['confirm_reps']} fresh replications")

    cand_csv = out / "candidates.csv"
    r["candidates"].to_csv(cand_csv, index=False, float_format="%.6g")
    sik = conf[conf["role"] == "sales_is_king"].iloc[0]
    table_paths = report.write_table(
        conf,
        out,
        summary_markdown(
            conf,
            "Contract search: the brand's best contract under the agency's participation constraint",
            f"Size `{s.name}`: {len(r['candidates'])} contracts searched ({s.extra['search']} + {s.extra['refine']} "
            f"refinement) x {s.replications} common-random-number replications, then the best {s.extra['top']} and "
            f"the presets confirmed on {s.extra['confirm_reps']} fresh replications ({size:,} consumers, {s.steps} "
            f"weeks, learning agencies). Brand profit discounted at {ANNUAL_DISCOUNT_RATE:.0%} a year, per brand. "
            f"Outside option: {factor:g} x the agency's discounted profit under the typical TP "
            f"contract = {reservation_confirm * 1e-6:.2f} million RMB per client brand. "
            f"Mean [95% CI]; gaps are paired over replications.\n\n"
            f'The "sales is king" contract earns the brand '
            f"{report.ci_text(sik, 'gap_brand_profit_disc', DISPLAY['brand_profit_disc'])} million RMB less "
            f"per brand than the "
            f"best, and ends with a brand-value change "
            f"{report.ci_text(sik, 'gap_brand_value_change', DISPLAY['brand_value_change'])} percentage points lower.",
        ),
    )
    return [*paths, *table_paths, cand_csv]


def stages(size: Size, seed: int = SEED) -> dict[str, dict]:
    """The search's spec and the reference contracts' spec."""
    return {"search": search_spec(size, seed), "reference": reference_spec(size, seed)}


EXPERIMENT = Experiment(
    name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, stages=stages, run=run, add_options=add_options, check=check
)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
