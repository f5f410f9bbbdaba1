"""Headline experiment: the focal contract -- what a commission does to the brand that signs it,
and what happens when every brand signs it. The project's findings.

Question: when a brand signs a high commission while its rivals keep the typical TP contract,
what does it gain in GMV and lose in brand value and profit, when, and what is left once it
leaves the contract? When more and more brands sign it, how do the brands that sign and those
that do not fare (the temptation and the trap)?

Design. The typical TP preset (8% commission, 52-week terms, weight 0.2 on the brand measure),
learning agencies that arrive experienced (104 weeks of a pre-run of the same market), 1,500
consumers, 260 weeks, common random numbers (replication r is the same market at every point).
Which brands sign the focal terms is drawn in each market (``focal_assignment = "random"``), so
the answer is about a brand, not brand 0.

* contrast: one brand signs 5% or 35% (rivals on 8%); the hangover: it signs 35% until week 104
  and the typical 8% from its next term, against 8% throughout.
* saturation (a randomized saturation design): k of the 12 brands, drawn at random and nested
  within a market, sign 35%, the others 5%, k = 0 to 12. Every brand is an observation: a
  treated brand against an untreated one in the same markets (the temptation), and both as the
  share signing high rises (the trap).

Every stage runs on two root seeds declared before the runs (:data:`SEEDS`); ``findings.md``
reports both and marks a finding as holding only where the 95% intervals of both exclude zero
with the same sign. The full size's number of markets was chosen for 95% half-widths of at
most 1.5 million RMB (a brand's GMV in the first 26 weeks) and 3 points (its brand value change);
the achieved widths are printed.

    python -m experiments.focal_contract --quick     # the main job: one seed, about a minute on two cores
    python -m experiments.focal_contract             # full size, both seeds

Writes into ``--out``: ``data/`` (one sweep per stage and seed), figures ``focal_tradeoff``
(the time profile and the hangover) and ``focal_saturation`` (PNG and SVG), ``findings.md`` /
``findings.csv`` (every headline effect on every seed in its display unit, and whether it
holds), ``time_profile.csv`` (the first seed's effects per 13-week window), per seed the tables
behind the findings, ``contrast-SEED.csv``, ``hangover-SEED.csv`` (not at the quick size, which
runs no hangover arm), ``trap-SEED.csv`` and ``saturation-SEED.csv``, and ``saturation.md`` (the
saturation design of the first seed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import TINY_BASE, Experiment, RunContext, Size

NAME = "focal_contract"
QUESTION = (
    "A brand's commission: what it buys the brand in GMV, what it costs in brand value and "
    "profit, when, what is left after it, and what happens as more brands sign it."
)
TYPICAL = 0.08  # the rivals' commission, and "never signed high" in the hangover
LOW, HIGH = 0.05, 0.35
EXPERIENCE = 104  # weeks of the agencies' pre-run
SWITCH = 104  # the hangover: the focal brand leaves the high commission at its first term after this week
WINDOW = 13  # weeks per window of the time profile
SEEDS = (2032, 7741)  # root seeds, declared in docs/experiments.md before the runs
TARGETS = {"focal_short_term_gmv": 1.5e6, "focal_brand_value_change": 0.03}  # 95% half-widths aimed at

SIZES = {
    "full": Size(
        "full",
        replications=384,
        steps=260,
        base={"n_consumers": 1500},
        extra={"saturation": 96, "ks": list(range(13)), "seeds": 2, "switch": SWITCH},
    ),
    # the main job: sized so that what holds at full size excludes zero here too, in about a minute
    "quick": Size(
        "quick",
        replications=160,
        steps=260,
        base={"n_consumers": 1500},
        extra={"saturation": 64, "ks": [0, 1, 11, 12], "seeds": 1, "switch": SWITCH, "arms": ("low", "high")},
    ),
    "tiny": Size(
        "tiny",
        replications=3,
        steps=30,
        base=TINY_BASE,
        extra={"saturation": 2, "ks": [0, 1, 2, 4], "seeds": 2, "switch": 12},
    ),
}

# the contrast's arms: (focal commission, focal_terms_until)
ARMS = {"low": (LOW, None), "high": (HIGH, None), "high_then_typical": (HIGH, "switch"), "typical": (TYPICAL, None)}
CONTRAST = [
    "focal_short_term_gmv",
    "focal_gmv_year1",
    "focal_gmv_per_year",
    "focal_brand_value_change",
    "focal_brand_value_change_final_week",
    "focal_brand_profit_total",
    "focal_brand_profit_before_agency_total",
    "focal_paid_to_agency_total",
    "focal_promo_share",
    "rivals_short_term_gmv",
    "rivals_brand_value_change",
    "short_term_gmv",
    "brand_value_change",
]
HANGOVER = ["focal_gmv_after", "focal_brand_value_change", "focal_brand_profit_after"]
PER_BRAND = [
    "short_term_gmv",
    "gmv_per_year",
    "brand_value_change",
    "brand_profit_total",
    "brand_profit_before_agency_total",
]


def seeds_of(size: Size, seed: int) -> list[int]:
    """The root seeds of a run: ``seed`` and, where the size has two, the declared second one
    (or, for another first seed, one derived from it)."""
    second = SEEDS[1] if seed == SEEDS[0] else seed + 5709
    return [seed, second][: size.extra["seeds"]]


def _spec(name: str, size: Size, seed: int, replications: int, base: dict, points: list[dict], tables: dict) -> dict:
    return {
        "name": name,
        "description": QUESTION,
        "steps": size.steps,
        "replications": replications,
        "seed": seed,
        "common_random_numbers": True,
        "base": {
            "preset": "typical_tp",
            "agency_policy": "learning",
            "experience_weeks": EXPERIENCE,
            **base,
            **size.base,
        },
        "design": {"kind": "points", "points": points},
        "outputs": {"timeseries": False, "brands": False, "agencies": False, **tables},
    }


def contrast_spec(size: Size, seed: int) -> dict:
    switch = size.extra["switch"]
    arms = size.extra.get("arms", tuple(ARMS))
    points = [
        {"focal_commission_rate": c, "focal_terms_until": switch if until == "switch" else "none"}
        for name, (c, until) in ARMS.items()
        if name in arms
    ]
    return _spec(
        f"{NAME}-contrast",
        size,
        seed,
        size.replications,
        {"focal_brands": 1, "commission_rate": TYPICAL},
        points,
        {"brands": True, "brand_outcomes": True},
    )


def saturation_spec(size: Size, seed: int) -> dict:
    points = [{"focal_brands": k, "focal_commission_rate": HIGH if k else "none"} for k in size.extra["ks"]]
    return _spec(
        f"{NAME}-saturation",
        size,
        seed,
        size.extra["saturation"],
        {"commission_rate": LOW},
        points,
        {"brand_outcomes": True},
    )


def stages(size: Size, seed: int) -> dict[str, dict]:
    out = {}
    for s in seeds_of(size, seed):
        out[f"contrast-{s}"] = contrast_spec(size, s)
        out[f"saturation-{s}"] = saturation_spec(size, s)
    return out


# --- the contrast and the hangover -------------------------------------------------------------
def arm_of(runs: pd.DataFrame) -> pd.Series:
    """Each run's arm (a key of :data:`ARMS`)."""
    rate = runs["focal_commission_rate"].astype(float).round(4)
    until = pd.to_numeric(runs["focal_terms_until"], errors="coerce")
    arm = pd.Series("", index=runs.index)
    for name, (c, u) in ARMS.items():
        arm[(rate == c) & (until.notna() if u == "switch" else until.isna())] = name
    return arm


def contrast_runs(res, steps: int, switch: int, profile: pd.DataFrame | None = None) -> pd.DataFrame:
    """The contrast's runs with their arm and the derived outcomes (per year, after the switch);
    ``profile`` is :func:`focal_profile` of ``res`` if already read."""
    runs = res.runs[res.runs["status"] == "done"].copy()
    runs["arm"] = arm_of(runs)
    runs["focal_gmv_per_year"] = runs["focal_total_gmv"] / (steps / 52)
    if profile is None:
        profile = focal_profile(res)
    after = switch + 52  # every term that began after the switch has begun by then
    late = profile[profile["week"] >= after].groupby("run_id")
    years = max(steps - after, 1) / 52
    runs["focal_gmv_after"] = runs["run_id"].map(late["gmv"].sum() / years)
    runs["focal_brand_profit_after"] = runs["run_id"].map(late["profit"].sum() / years)
    return runs


def focal_profile(res) -> pd.DataFrame:
    """The focal brand's weekly rows of every run (the brands table is read a column at a time)."""
    focal = res.brand_outcomes
    focal = focal.loc[focal["focal"], ["run_id", "brand"]]
    cols = ["run_id", "week", "brand", "gmv", "brand_value_index", "profit", "paid_to_agency"]
    brands = res.read("brands", columns=cols)
    return brands.merge(focal, on=["run_id", "brand"], how="inner")


def paired(runs: pd.DataFrame, a: str, b: str, outcomes: list[str]) -> pd.DataFrame:
    """Arm ``a`` minus arm ``b``, paired by replication (the same market): one row per outcome
    with mean, CI, n and the 95% half-width."""
    x = runs[runs["arm"] == a].set_index("replication")
    y = runs[runs["arm"] == b].set_index("replication")
    rows = []
    for o in outcomes:
        d = (x[o] - y[o]).dropna().to_numpy(dtype=float)
        m, lo, hi, n = stats.t_interval(d)
        rows.append({"outcome": o, "mean": m, "ci_low": lo, "ci_high": hi, "n": n, "half_width": (hi - lo) / 2})
    return pd.DataFrame(rows)


def time_profile(profile: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per 13-week window: the paired effect of 35% against 5% on the focal brand's GMV, brand
    value index and profit (before and after agency payments), and the hangover (35% then 8%
    against 8% throughout); ``profile`` is :func:`focal_profile` of the contrast."""
    prof = profile.copy()
    prof["window"] = prof["week"] // WINDOW
    prof["before"] = prof["profit"] + prof["paid_to_agency"]
    per = (
        prof.groupby(["run_id", "window"])
        .agg(
            gmv=("gmv", "sum"), value=("brand_value_index", "mean"), profit=("profit", "sum"), before=("before", "sum")
        )
        .reset_index()
    )
    per = per.merge(runs[["run_id", "arm", "replication"]], on="run_id")
    rows = []
    for label, a, b in (("35% vs 5%", "high", "low"), ("hangover: 35% then 8% vs 8%", "high_then_typical", "typical")):
        x = per[per["arm"] == a].set_index(["replication", "window"])
        y = per[per["arm"] == b].set_index(["replication", "window"])
        d = (x[["gmv", "value", "profit", "before"]] - y[["gmv", "value", "profit", "before"]]).dropna()
        for w, g in d.groupby(level="window"):
            for col in ("gmv", "value", "profit", "before"):
                m, lo, hi, n = stats.t_interval(g[col].to_numpy(dtype=float))
                rows.append(
                    {
                        "contrast": label,
                        "window": int(w),
                        "outcome": col,
                        "mean": m,
                        "ci_low": lo,
                        "ci_high": hi,
                        "n": n,
                    }
                )
    return pd.DataFrame(rows)


def plot_profile(profile: pd.DataFrame, switch: int, size_name: str, plt):
    """The trade-off over time: the paired effect of the brand's commission per 13-week window."""
    panels = [
        ("gmv", "GMV per 13 weeks (million RMB)", 1e-6),
        ("value", "brand-value index (points)", 100.0),
        ("before", "profit before agency payments\nper 13 weeks (million RMB)", 1e-6),
        ("profit", "profit after agency payments\nper 13 weeks (million RMB)", 1e-6),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.4), sharex=True)
    styles = {"35% vs 5%": (report.PALETTE[1], "o"), "hangover: 35% then 8% vs 8%": (report.PALETTE[0], "s")}
    hangover = (profile["contrast"] != "35% vs 5%").any()  # the blue line (the quick size runs no hangover arm)
    for ax, (col, label, scale) in zip(axes.flat, panels):
        for contrast, (color, marker) in styles.items():
            t = profile[(profile["contrast"] == contrast) & (profile["outcome"] == col)].sort_values("window")
            if t.empty:
                continue
            x = (t["window"].to_numpy() + 0.5) * WINDOW
            ax.fill_between(x, t["ci_low"] * scale, t["ci_high"] * scale, color=color, alpha=0.18, lw=0)
            ax.plot(x, t["mean"] * scale, color=color, marker=marker, ms=3.5, lw=1.4, label=contrast)
        ax.axhline(0, color="grey", lw=0.8)
        if hangover:
            ax.axvline(switch, color="grey", lw=0.8, ls=":")
        ax.set_ylabel(label, fontsize=9)
        report.size_note(ax, size_name)
    for ax in axes[1]:
        ax.set_xlabel(f"week (dotted: week {switch}; blue's next term is on 8%)" if hangover else "week")
    axes[0, 0].legend(fontsize=8.5, loc="best")
    fig.suptitle(
        "One brand signs 35% instead of 5% (rivals on 8%): its paired effect per 13-week window\n"
        "(mean and 95% CI over markets"
        + (f"; blue: it signs 35% until week {switch} and 8% after, against 8% throughout)" if hangover else ")"),
        fontsize=11,
    )
    return fig


# --- the saturation design ---------------------------------------------------------------------
def saturation_brands(res, steps: int) -> pd.DataFrame:
    """One row per run and brand, with k (brands on 35%), whether the brand is on 35%, and the
    replication (the market)."""
    runs = res.runs[res.runs["status"] == "done"][["run_id", "replication"]]
    b = res.brand_outcomes.merge(runs, on="run_id")  # (it has the varied parameters: focal_brands)
    b["k"] = b["focal_brands"].astype(int)
    b["treated"] = b["focal"].astype(bool) & (b["k"] > 0)
    b["gmv_per_year"] = b["total_gmv"] / (steps / 52)
    return b


def _changes(b: pd.DataFrame) -> pd.DataFrame:
    """Each brand's outcomes at k minus its own at k = 0 (every brand on 5%) in the same market."""
    base = b[b["k"] == 0].set_index(["replication", "brand"])[PER_BRAND]
    x = b.set_index(["replication", "brand"])
    d = x[PER_BRAND] - base.reindex(x.index)
    return pd.concat([x[["k", "treated"]], d], axis=1).reset_index()


def _row(values: pd.DataFrame, **key) -> dict:
    row = dict(key)
    for o in PER_BRAND:
        m, lo, hi, n = stats.t_interval(values[o].to_numpy(dtype=float))
        row.update({f"{o}_mean": m, f"{o}_ci_low": lo, f"{o}_ci_high": hi, "n": n})
    return row


def saturation_table(b: pd.DataFrame) -> pd.DataFrame:
    """Per k (brands on 35%), in the same markets as k = 0 (common random numbers, nested sets):

    * ``on 35%`` / ``on 5%``: a brand's outcome minus its own when every brand is on 5% (the
      mean over the group's brands in a market, then mean and CI over markets);
    * ``switches to 35%``: the brands on 35% at k that were on 5% at the design's k before it,
      minus their own outcome there (with consecutive k: one brand deviates, every other brand's
      contract as it was) -- the gain from signing high, given how many others do.
    """
    d = _changes(b)
    rows = []
    for (k, treated), g in d.groupby(["k", "treated"]):
        per_market = g.groupby("replication")[PER_BRAND].mean()
        rows.append(_row(per_market, k=int(k), group="on 35%" if treated else "on 5%"))
    ks = sorted(b["k"].unique())
    x = b.set_index(["replication", "brand", "k"])
    for before, k in zip(ks, ks[1:]):
        now = b[(b["k"] == k) & b["treated"]].set_index(["replication", "brand"])
        then = x.xs(before, level="k").reindex(now.index)
        switched = now[~then["treated"].astype(bool)]
        gain = (switched[PER_BRAND] - then.loc[switched.index, PER_BRAND]).groupby(level="replication").mean()
        rows.append(_row(gain, k=int(k), group="switches to 35%", k_before=int(before)))
    return pd.DataFrame(rows).sort_values(["group", "k"]).reset_index(drop=True)


def trap(b: pd.DataFrame) -> pd.DataFrame:
    """Every brand on 35% minus every brand on 5%: a brand's mean outcome, paired by market."""
    J = int(b["brand"].max()) + 1
    per = b.groupby(["k", "replication"])[PER_BRAND].mean()
    if 0 not in per.index.get_level_values(0) or J not in per.index.get_level_values(0):
        return pd.DataFrame(columns=["outcome", "mean", "ci_low", "ci_high", "n", "half_width"])
    d = (per.loc[J] - per.loc[0]).dropna()
    rows = []
    for o in PER_BRAND:
        m, lo, hi, n = stats.t_interval(d[o].to_numpy(dtype=float))
        rows.append({"outcome": o, "mean": m, "ci_low": lo, "ci_high": hi, "n": n, "half_width": (hi - lo) / 2})
    return pd.DataFrame(rows)


def plot_saturation(table: pd.DataFrame, n_brands: int, size_name: str, plt):
    """The temptation and the trap in one slide: against how many brands sign 35%, a brand on
    35%, a brand on 5%, and a brand that switches, each against everyone on 5%."""
    panels = ["short_term_gmv", "brand_value_change", "brand_profit_before_agency_total", "brand_profit_total"]
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 7.6), sharex=True)
    groups = (
        ("on 35%", report.PALETTE[1], "o", "a brand on 35%"),
        ("on 5%", report.PALETTE[0], "s", "a brand on 5%"),
        ("switches to 35%", report.PALETTE[2], "^", "a brand that switches to 35% (others as they are)"),
    )
    for ax, o in zip(axes.flat, panels):
        spec = report.OUTCOMES[o]
        for group, color, marker, label in groups:
            t = table[table["group"] == group].sort_values("k")
            m = t[f"{o}_mean"] * spec.scale
            err = np.clip([m - t[f"{o}_ci_low"] * spec.scale, t[f"{o}_ci_high"] * spec.scale - m], 0, None)
            ax.errorbar(
                t["k"],
                m,
                yerr=err,
                color=color,
                marker=marker,
                ms=4,
                capsize=2,
                lw=1.3,
                ls=":" if group == "switches to 35%" else "-",
                label=label,
            )
        ax.axhline(0, color="grey", lw=0.8)
        unit = "points" if spec.unit == "%" else spec.unit
        ax.set_title(f"{spec.label} ({unit})", fontsize=10)
        report.size_note(ax, size_name)
    for ax in axes[1]:
        ax.set_xlabel(f"brands (of {n_brands}) on 35%; the others on 5%")
    axes[0, 0].legend(fontsize=8.5)
    fig.suptitle(
        "The temptation and the trap: each brand against itself when every brand is on 5% (same market)\n"
        "mean and 95% CI over markets",
        fontsize=11,
    )
    return fig


# --- the findings on both seeds ----------------------------------------------------------------
FINDINGS = [  # (key, claim, source table, outcome)
    ("gmv26", "one brand on 35% (rivals 8%) vs 5%: its GMV, first 26 weeks", "contrast", "focal_short_term_gmv"),
    ("gmv_year", "... its GMV per year over five years", "contrast", "focal_gmv_per_year"),
    ("value", "... its brand value change (last 52 weeks vs week 0)", "contrast", "focal_brand_value_change"),
    ("value_final", "... the same read in the final week only", "contrast", "focal_brand_value_change_final_week"),
    (
        "profit_before",
        "... its five-year profit before agency payments",
        "contrast",
        "focal_brand_profit_before_agency_total",
    ),
    ("paid", "... what it pays its agency over five years", "contrast", "focal_paid_to_agency_total"),
    ("profit", "... its five-year profit after agency payments", "contrast", "focal_brand_profit_total"),
    ("rivals_value", "... a rival's brand value change", "contrast", "rivals_brand_value_change"),
    (
        "hang_gmv",
        "hangover: 35% until week 104, then 8%, vs 8% throughout: its GMV per year after week 156",
        "hangover",
        "focal_gmv_after",
    ),
    ("hang_value", "... its brand value change (last 52 weeks)", "hangover", "focal_brand_value_change"),
    (
        "tempt_gmv",
        "temptation, alone: a brand signs 35% while the 11 others stay on 5%, vs all on 5%: its GMV, first 26 weeks",
        "tempt",
        "short_term_gmv",
    ),
    ("tempt_gmv_year", "... its GMV per year", "tempt", "gmv_per_year"),
    ("tempt_value", "... its brand value change", "tempt", "brand_value_change"),
    ("tempt_before", "... its profit before agency payments", "tempt", "brand_profit_before_agency_total"),
    ("tempt_profit", "... its profit after agency payments", "tempt", "brand_profit_total"),
    (
        "tempt_all_gmv",
        "temptation, last: the 12th brand signs 35% when the 11 others have, vs staying on 5%: its GMV, first 26 weeks",
        "tempt_all",
        "short_term_gmv",
    ),
    ("tempt_all_before", "... its profit before agency payments", "tempt_all", "brand_profit_before_agency_total"),
    ("tempt_all_profit", "... its profit after agency payments", "tempt_all", "brand_profit_total"),
    (
        "trap_gmv",
        "trap: every brand on 35% vs every brand on 5%: a brand's GMV, first 26 weeks",
        "trap",
        "short_term_gmv",
    ),
    ("trap_gmv_year", "... a brand's GMV per year", "trap", "gmv_per_year"),
    ("trap_value", "... a brand's brand value change", "trap", "brand_value_change"),
    ("trap_before", "... a brand's profit before agency payments", "trap", "brand_profit_before_agency_total"),
    ("trap_profit", "... a brand's profit after agency payments", "trap", "brand_profit_total"),
]


def effects_of_seed(contrast_res, saturation_res, steps: int, switch: int) -> tuple[dict, dict]:
    """Every headline effect of one seed (key -> row) and the tables behind them."""
    profile = focal_profile(contrast_res)  # the brands table, read once
    runs = contrast_runs(contrast_res, steps, switch, profile)
    sources = {
        "contrast": paired(runs, "high", "low", CONTRAST),
        "hangover": paired(runs, "high_then_typical", "typical", HANGOVER),
    }
    sat = saturation_brands(saturation_res, steps)
    table = saturation_table(sat)
    J = int(sat["brand"].max()) + 1
    for name, k in (("tempt", 1), ("tempt_all", J)):
        r = table[(table["group"] == "switches to 35%") & (table["k"] == k) & (table["k_before"] == k - 1)]
        sources[name] = pd.DataFrame(
            [
                {
                    "outcome": o,
                    "mean": x[f"{o}_mean"],
                    "ci_low": x[f"{o}_ci_low"],
                    "ci_high": x[f"{o}_ci_high"],
                    "n": x["n"],
                    "half_width": (x[f"{o}_ci_high"] - x[f"{o}_ci_low"]) / 2,
                }
                for _, x in r.iterrows()
                for o in PER_BRAND
            ],
            columns=["outcome", "mean", "ci_low", "ci_high", "n", "half_width"],
        )
    sources["trap"] = trap(sat)
    found = {}
    for key, _, src, o in FINDINGS:
        t = sources[src]
        row = t[t["outcome"] == o]
        found[key] = (
            row.iloc[0].to_dict() if len(row) else {"mean": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0}
        )
    return found, {
        "runs": runs,
        "profile": profile,
        "contrast": sources["contrast"],
        "hangover": sources["hangover"],
        "saturation": table,
        "saturation_brands": sat,
        "trap": sources["trap"],
    }


def holds(rows: list[dict]) -> str:
    """'yes' when every seed's interval excludes zero on the same side; else 'no'."""
    signs = {np.sign(r["ci_low"]) if np.sign(r["ci_low"]) == np.sign(r["ci_high"]) else 0 for r in rows}
    return "yes" if len(signs) == 1 and 0 not in signs and all(np.isfinite(r["ci_low"]) for r in rows) else "no"


def unit_of(o: str) -> str:
    """The unit of a difference of ``o`` (a difference of per cents is in points)."""
    unit = report.OUTCOMES[o].unit
    return "points" if unit == "%" else unit


def fmt(row: dict, o: str) -> str:
    """A difference ``mean [95% CI]`` of ``o`` in its display unit (:func:`unit_of`), with the
    outcome's decimals or more where the interval is narrow
    (:func:`experiments.report.interval_text`)."""
    s = report.OUTCOMES[o]
    if not np.isfinite(row.get("mean", np.nan)):
        return "n/a"
    m, lo, hi = (row[c] * s.scale for c in ("mean", "ci_low", "ci_high"))
    return report.interval_text(m, lo, hi, s.fmt, sign=True)


def findings_table(by_seed: dict[int, dict]) -> pd.DataFrame:
    """One row per finding: per seed the mean and 95% CI in the display unit of the ``unit``
    column (as in findings.md), the number of markets, and whether it holds."""
    rows = []
    for key, claim, _source, o in FINDINGS:
        row = {"key": key, "claim": claim, "outcome": o, "unit": unit_of(o)}
        scale = report.OUTCOMES[o].scale
        for s, found in by_seed.items():
            r = found[key]
            row.update(
                {
                    f"mean_{s}": r["mean"] * scale,
                    f"ci_low_{s}": r["ci_low"] * scale,
                    f"ci_high_{s}": r["ci_high"] * scale,
                    f"n_{s}": r.get("n", 0),
                }
            )
        row["holds"] = holds([found[key] for found in by_seed.values()])
        rows.append(row)
    return pd.DataFrame(rows)


def findings_markdown(by_seed: dict[int, dict], size_name: str, n_markets: dict) -> list[str]:
    seeds = list(by_seed)
    head = ["finding", "unit", *[f"root seed {s}" for s in seeds], "holds" if len(seeds) > 1 else "excludes 0"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, claim, _source, o in FINDINGS:
        rows = [by_seed[s][key] for s in seeds]
        if not any(r.get("n", 0) for r in rows):
            continue  # not in this size's design (the quick size runs no hangover arm)
        lines.append("| " + " | ".join([claim, unit_of(o), *[fmt(r, o) for r in rows], holds(rows)]) + " |")
    return lines


def widths_lines(by_seed: dict[int, dict]) -> list[str]:
    """The achieved 95% half-widths of the headline effects against their targets."""
    out = []
    for s, found in by_seed.items():
        for key, o in (("gmv26", "focal_short_term_gmv"), ("value", "focal_brand_value_change")):
            r = found[key]
            half = (r["ci_high"] - r["ci_low"]) / 2
            spec = report.OUTCOMES[o]
            out.append(
                f"- root seed {s}, {spec.label}: 95% half-width {half * spec.scale:.2f} {unit_of(o)} "
                f"over {int(r.get('n', 0))} markets (target {TARGETS[o] * spec.scale:g})"
            )
    return out


def analyse(results: dict, ctx: RunContext) -> list[Path]:
    out, size, size_name = ctx.out, ctx.size, ctx.size.name
    steps, switch = size.steps, size.extra["switch"]
    seeds = seeds_of(size, ctx.seed)
    by_seed, tables = {}, {}
    for s in seeds:
        by_seed[s], tables[s] = effects_of_seed(results[f"contrast-{s}"], results[f"saturation-{s}"], steps, switch)
    first = seeds[0]
    n_brands = int(tables[first]["saturation_brands"]["brand"].max()) + 1
    paths: list[Path] = []
    with report.figure_style() as plt:
        profile = time_profile(tables[first]["profile"], tables[first]["runs"])
        paths += ctx.save_figure(plot_profile(profile, switch, size_name, plt), "focal_tradeoff")
        paths += ctx.save_figure(
            plot_saturation(tables[first]["saturation"], n_brands, size_name, plt), "focal_saturation"
        )
    profile.to_csv(out / "time_profile.csv", index=False, float_format="%.6g")
    paths.append(out / "time_profile.csv")
    note = (
        f"Typical TP terms, learning agencies with {EXPERIENCE} weeks of experience, "
        f"{ctx.n_consumers:,} consumers, {steps} weeks, the focal brands drawn at random; "
        f"{size_name} size. Paired differences in the same markets (common random numbers), "
        "mean [95% CI]; money in million RMB, brand value in points."
    )
    found = findings_table(by_seed)
    found.to_csv(out / "findings.csv", index=False, float_format="%.6g")
    md = [
        "# Findings that hold",
        "",
        note,
        "",
        f"Root seeds: {', '.join(map(str, seeds))}. A finding holds when the 95% interval excludes zero "
        "with the same sign on every seed."
        if len(seeds) > 1
        else f"Root seed {first}, one seed only at this size: the full size runs two (docs/experiments.md).",
        "",
        *findings_markdown(by_seed, size_name, {}),
        "",
        "## Interval widths",
        "",
        *widths_lines(by_seed),
        "",
    ]
    findings_md = out / "findings.md"
    findings_md.write_text("\n".join(md), encoding="utf-8")
    paths += [findings_md, out / "findings.csv"]
    for s in seeds:  # the tables behind the findings, per seed (those this size's design measures)
        t = tables[s]
        for name in ("contrast", "hangover", "trap", "saturation"):
            if not (t[name]["n"] > 0).any():
                continue  # e.g. the hangover at the quick size, which runs no hangover arm
            t[name].assign(seed=s).to_csv(out / f"{name}-{s}.csv", index=False, float_format="%.6g")
            paths.append(out / f"{name}-{s}.csv")
    sat = tables[first]["saturation"]
    sat_md = report.summary_markdown(
        sat,
        ["group", "k"],
        PER_BRAND,
        title="The saturation design (first seed)",
        header=lambda o: f"{report.OUTCOMES[o].label} ({unit_of(o)})",
        cell_text=lambda row, o: fmt({c: row[f"{o}_{c}"] for c in ("mean", "ci_low", "ci_high")}, o),
        note="Each brand against itself when every brand is on 5%, in the same market (per-brand means within a "
        "market, then mean [95% CI] over markets), by k, the number of brands on 35%: a brand on 35%, a brand "
        "on 5%, and the brands that switch to 35% between the previous k of the design and k.",
    )
    (out / "saturation.md").write_text(sat_md, encoding="utf-8")
    paths.append(out / "saturation.md")
    print("\n".join(md[4:]))
    return paths


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEEDS[0], sizes=SIZES, stages=stages, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
