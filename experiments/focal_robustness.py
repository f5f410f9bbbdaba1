"""Headline experiment: how robust the focal contract's findings are to the model's assumptions.

Question: does what a brand's commission does to it (one brand on 35% against 5%, rivals on the
typical 8%) depend on how agencies learn, how many consumers are simulated, whether agencies
arrive experienced, and how brand value is read?

Design: the contrast of ``experiments.focal_contract`` (typical TP terms, the focal brand drawn
at random, 260 weeks, common random numbers), under each variant: the baseline (learning
agencies rewarded by their margin, ``reward_scale = "income"``, 1,500 consumers, 104 weeks of
experience); ``reward_scale = "client_gmv"`` (with ``choice_temperature`` 0.01, the scale it
suits); imitating agencies; a mix (learning and imitating agencies alternating); 5,000
consumers; agencies that start neutral (``experience_weeks = 0``). The brand-value measure
(the last 52 weeks against the final week alone) is read from the same runs.

    python -m experiments.focal_robustness --quick   # 16 markets per variant
    python -m experiments.focal_robustness           # 96 markets per variant

Writes ``robustness.md`` / ``robustness.csv`` (one row per variant: the paired effects, mean
[95% CI]) and the figure ``focal_robustness`` (PNG and SVG) into ``--out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import TINY_BASE, Experiment, RunContext, Size
from .focal_contract import EXPERIENCE, HIGH, LOW, TYPICAL, unit_of

NAME = "focal_robustness"
QUESTION = (
    "Do the focal contract's findings survive other agency learning rules, market sizes, "
    "starting experience and readings of brand value?"
)
SEED = 4409
MIX = "learning,imitation,learning,imitation,learning,imitation"
VARIANTS = {  # name -> the parameters that differ from the baseline
    "baseline": {},
    "reward_scale = client_gmv": {"reward_scale": "client_gmv", "choice_temperature": 0.01},
    "imitating agencies": {"agency_policy": "imitation"},
    "learning + imitating": {"agency_policy": MIX},
    "5,000 consumers": {"n_consumers": 5000},
    "neutral start (no experience)": {"experience_weeks": 0},
}
BASE = {
    "reward_scale": "income",
    "choice_temperature": 0.05,
    "agency_policy": "learning",
    "n_consumers": 1500,
    "experience_weeks": EXPERIENCE,
}
OUTCOMES = [
    "focal_short_term_gmv",
    "focal_gmv_year1",
    "focal_total_gmv",
    "focal_brand_value_change",
    "focal_brand_value_change_final_week",
    "focal_brand_profit_before_agency_total",
    "focal_paid_to_agency_total",
    "focal_brand_profit_total",
    "focal_promo_share",
]
SHOWN = [
    "focal_short_term_gmv",
    "focal_brand_value_change",
    "focal_brand_profit_before_agency_total",
    "focal_brand_profit_total",
]
SIZES = {
    "full": Size("full", replications=96, steps=260),
    "quick": Size("quick", replications=16, steps=260),
    "tiny": Size("tiny", replications=2, steps=30, base=TINY_BASE),
}


def points(tiny: bool = False) -> list[dict]:
    out = []
    for changes in VARIANTS.values():
        params = {**BASE, **changes}
        if tiny:
            params["n_consumers"] = min(params["n_consumers"], TINY_BASE["n_consumers"])
            if params["agency_policy"] == MIX:
                params["agency_policy"] = "learning,imitation"
        for c in (LOW, HIGH):
            out.append({"focal_commission_rate": c, **params})
    return out


def make_spec(size: Size, seed: int = SEED) -> dict:
    return {
        "name": NAME,
        "description": QUESTION,
        "steps": size.steps,
        "replications": size.replications,
        "seed": seed,
        "common_random_numbers": True,
        "base": {
            "preset": "typical_tp",
            "focal_brands": 1,
            "commission_rate": TYPICAL,
            **{k: v for k, v in size.base.items() if k != "n_consumers"},
        },
        "design": {"kind": "points", "points": points(size.name == "tiny")},
        "outputs": {"timeseries": False, "brands": False, "agencies": False},
    }


def variant_of(runs: pd.DataFrame) -> pd.Series:
    """Each run's variant (a key of :data:`VARIANTS`): design points come in pairs (5%, 35%),
    one pair per variant, in the order of :data:`VARIANTS`."""
    return runs["point"].map(lambda p: list(VARIANTS)[int(p) // 2])


def effects(runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant: 35% minus 5%, paired by replication, for every outcome."""
    runs = runs[runs["status"] == "done"].copy()
    runs["variant"] = variant_of(runs)
    rows = []
    for name in VARIANTS:
        v = runs[runs["variant"] == name]
        hi = v[np.isclose(v["focal_commission_rate"], HIGH)].set_index("replication")
        lo = v[np.isclose(v["focal_commission_rate"], LOW)].set_index("replication")
        row = {"variant": name}
        for o in OUTCOMES:
            m, a, b, n = stats.t_interval((hi[o] - lo[o]).dropna().to_numpy(dtype=float))
            row.update({f"{o}_mean": m, f"{o}_ci_low": a, f"{o}_ci_high": b, "n": n})
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, note: str) -> str:
    head = ["variant", "markets", *[f"{report.OUTCOMES[o].label} ({unit_of(o)})" for o in OUTCOMES]]
    lines = [
        "# Robustness of the focal contract's findings",
        "",
        note,
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for _, r in table.iterrows():
        cells = []
        for o in OUTCOMES:
            s = report.OUTCOMES[o]
            cells.append(
                f"{r[f'{o}_mean'] * s.scale:+{s.fmt}} [{r[f'{o}_ci_low'] * s.scale:{s.fmt}}, "
                f"{r[f'{o}_ci_high'] * s.scale:{s.fmt}}]"
            )
        lines.append("| " + " | ".join([r["variant"], str(int(r["n"])), *cells]) + " |")
    return "\n".join(lines) + "\n"


def plot(table: pd.DataFrame, size_name: str, plt):
    """A forest plot: each variant's paired effect on four outcomes."""
    fig, axes = plt.subplots(1, len(SHOWN), figsize=(14, 4.2), sharey=True)
    y = np.arange(len(table))[::-1]
    for ax, o in zip(axes, SHOWN):
        s = report.OUTCOMES[o]
        m = table[f"{o}_mean"].to_numpy() * s.scale
        err = np.clip(
            [m - table[f"{o}_ci_low"].to_numpy() * s.scale, table[f"{o}_ci_high"].to_numpy() * s.scale - m], 0, None
        )
        ax.errorbar(m, y, xerr=err, fmt="o", color=report.PALETTE[1], capsize=2, ms=4)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(f"{s.label}\n({unit_of(o)})", fontsize=9.5)
        report.size_note(ax, size_name)
    axes[0].set_yticks(y, table["variant"])
    fig.suptitle(
        "One brand on 35% instead of 5% (rivals on 8%) under other assumptions: paired effect, "
        "mean and 95% CI over markets",
        fontsize=11,
    )
    return fig


def analyse(res, ctx: RunContext) -> list[Path]:
    table = effects(res.runs)
    note = (
        f"Typical TP terms, rivals on 8%, the focal brand drawn at random; {res.spec.steps} weeks, "
        f"{res.spec.replications} markets per variant ({ctx.size.name} size, root seed {res.spec.seed}, "
        "common random numbers). Each cell: the focal brand on 35% minus on 5% in the same market, mean "
        "[95% CI]. The baseline: learning agencies rewarded by their margin, 1,500 consumers, 104 weeks "
        "of experience; each other row changes one thing."
    )
    out = Path(ctx.out)
    paths = report.write_table(table, out, markdown(table, note), name="robustness")
    with report.figure_style() as plt:
        paths = ctx.save_figure(plot(table, ctx.size.name, plt), "focal_robustness") + paths
    print(markdown(table, note))
    return paths


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
