"""experiments.focal_contract: the contrast, the hangover and the saturation design, on two seeds."""

import numpy as np
import pandas as pd
import pytest

from experiments import focal_contract as fc
from experiments.sweeps import load_results, run_sweep


def test_the_design_declares_two_seeds_and_draws_the_focal_brands():
    specs = fc.EXPERIMENT.specs(fc.SIZES["full"])
    assert set(specs) == {f"{stage}-{s}" for stage in ("contrast", "saturation") for s in fc.SEEDS}
    contrast = specs[f"contrast-{fc.SEEDS[0]}"]
    assert contrast["common_random_numbers"] and contrast["base"]["focal_brands"] == 1
    assert contrast["base"].get("focal_assignment", "random") == "random"
    arms = {(p["focal_commission_rate"], p["focal_terms_until"]) for p in contrast["design"]["points"]}
    assert arms == {(fc.LOW, "none"), (fc.HIGH, "none"), (fc.HIGH, fc.SWITCH), (fc.TYPICAL, "none")}
    sat = specs[f"saturation-{fc.SEEDS[1]}"]
    assert [p["focal_brands"] for p in sat["design"]["points"]] == list(range(13))
    assert sat["base"]["commission_rate"] == fc.LOW and sat["outputs"]["brand_outcomes"]
    # a first seed of one's own gets a second seed of its own too
    assert set(fc.EXPERIMENT.specs(fc.SIZES["full"], 5)) == {
        "contrast-5",
        "saturation-5",
        "contrast-5714",
        "saturation-5714",
    }


def test_holds_needs_every_seed_to_exclude_zero_on_the_same_side():
    up, down, both = (dict(mean=m, ci_low=lo, ci_high=hi) for m, lo, hi in ((2, 1, 3), (-2, -3, -1), (0, -1, 1)))
    assert fc.holds([up, up]) == "yes" and fc.holds([down, down]) == "yes"
    assert fc.holds([up, down]) == "no" and fc.holds([up, both]) == "no"


@pytest.fixture(scope="module")
def tiny_saturation(tmp_path_factory):
    out = tmp_path_factory.mktemp("sat")
    spec = fc.saturation_spec(fc.SIZES["tiny"], 3)
    run_sweep(spec, out, executor="serial", progress=False)
    return load_results(out)


def test_saturation_tables_treat_every_brand_as_an_observation(tiny_saturation):
    b = fc.saturation_brands(tiny_saturation, fc.SIZES["tiny"].steps)
    J = fc.SIZES["tiny"].base["n_brands"]
    ks = fc.SIZES["tiny"].extra["ks"]
    assert len(b) == len(ks) * fc.SIZES["tiny"].extra["saturation"] * J
    assert (b.groupby("run_id")["treated"].sum() == b.groupby("run_id")["k"].first()).all()
    # nested: within a market the brands on 35% at k are among those at the next k
    for _, g in b.groupby("replication"):
        sets = [set(g[(g["k"] == k) & g["treated"]]["brand"]) for k in ks]
        assert all(a <= c for a, c in zip(sets, sets[1:]))
    table = fc.saturation_table(b)
    on_high = table[table["group"] == "on 35%"]
    assert sorted(on_high["k"]) == [k for k in ks if k > 0]
    assert sorted(table[table["group"] == "on 5%"]["k"]) == [k for k in ks if k < J]
    # every brand is measured against itself when every brand is on 5%: zero at k = 0
    at0 = table[(table["group"] == "on 5%") & (table["k"] == 0)].iloc[0]
    assert all(at0[f"{o}_mean"] == 0 for o in fc.PER_BRAND)
    # a brand that switches: its outcome at k minus its own at the k before, in the same market
    k, before = ks[1], ks[0]
    now = b[(b["k"] == k) & b["treated"]].set_index(["replication", "brand"])["short_term_gmv"]
    then = b[b["k"] == before].set_index(["replication", "brand"])["short_term_gmv"]
    switch = table[(table["group"] == "switches to 35%") & (table["k"] == k)].iloc[0]
    assert switch["k_before"] == before
    assert switch["short_term_gmv_mean"] == pytest.approx(
        (now - then.reindex(now.index)).groupby(level=0).mean().mean(), rel=1e-12
    )
    trap = fc.trap(b).set_index("outcome")
    per = b.groupby(["k", "replication"])["brand_value_change"].mean()
    assert trap.loc["brand_value_change", "mean"] == pytest.approx((per.loc[J] - per.loc[0]).mean(), rel=1e-12)
    assert fc.trap(b[b["k"] < J]).empty  # no market with every brand on 35%: no trap to read


def test_tiny_run_writes_the_findings_on_both_seeds_and_the_figures(tmp_path):
    out = tmp_path / "fc"
    assert fc.main(["--tiny", "--out", str(out), "--executor", "serial"]) == 0
    for name in ("focal_tradeoff", "focal_saturation"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0
    found = pd.read_csv(out / "findings.csv")
    assert list(found["key"]) == [k for k, *_ in fc.FINDINGS]
    seeds = fc.seeds_of(fc.SIZES["tiny"], fc.SEEDS[0])
    assert {f"mean_{s}" for s in seeds} <= set(found.columns)
    md = (out / "findings.md").read_text(encoding="utf-8")
    assert all(f"root seed {s}" in md for s in seeds) and "half-width" in md
    # findings.csv is in the unit it names (million RMB, points), as findings.md is
    contrast = pd.read_csv(out / f"contrast-{seeds[0]}.csv").set_index("outcome")
    row = found.set_index("key").loc["gmv26"]
    assert row["unit"] == "million RMB"
    assert row[f"mean_{seeds[0]}"] == pytest.approx(contrast.loc["focal_short_term_gmv", "mean"] * 1e-6, rel=1e-5)
    row = found.set_index("key").loc["value"]
    assert row["unit"] == "points"
    assert row[f"ci_low_{seeds[0]}"] == pytest.approx(
        contrast.loc["focal_brand_value_change", "ci_low"] * 100, rel=1e-5
    )
    # saturation.md's cells as findings.md's (a narrow interval does not collapse to zeros)
    sat = (out / "saturation.md").read_text(encoding="utf-8")
    last = pd.read_csv(out / f"saturation-{seeds[0]}.csv").iloc[-1]
    assert fc.fmt({c: last[f"short_term_gmv_{c}"] for c in ("mean", "ci_low", "ci_high")}, "short_term_gmv") in sat
    # saturation.md: its cells are differences, so brand value is in points, as in findings.md
    sat = (out / "saturation.md").read_text(encoding="utf-8")
    assert "brand value change, last 52 weeks vs week 0 (points)" in sat and "(%)" not in sat
    prof = pd.read_csv(out / "time_profile.csv")
    assert set(prof["contrast"]) == {"35% vs 5%", "hangover: 35% then 8% vs 8%"}
    # a contrast of an arm with itself is zero: the low arm's paired table against itself
    runs = fc.contrast_runs(load_results(out / "data" / f"contrast-{seeds[0]}"), 30, fc.SIZES["tiny"].extra["switch"])
    zero = fc.paired(runs, "low", "low", ["focal_short_term_gmv"])
    assert zero["mean"].iloc[0] == 0 and np.isnan(zero["ci_low"].iloc[0]) or zero["ci_low"].iloc[0] == 0


def test_a_run_without_the_hangover_arm_writes_no_empty_hangover_table_and_lists_what_it_wrote(
    tmp_path, monkeypatch, capsys
):
    """As the quick size: two arms (5% and 35%), one seed. No hangover-SEED.csv of empty rows;
    every file written is printed at the end."""
    tiny = fc.SIZES["tiny"]
    monkeypatch.setitem(
        fc.SIZES, "tiny", fc.Size("tiny", 2, tiny.steps, tiny.base, {**tiny.extra, "seeds": 1, "arms": ("low", "high")})
    )
    out = tmp_path / "fc"
    assert fc.main(["--tiny", "--out", str(out), "--executor", "serial"]) == 0
    s = fc.SEEDS[0]
    written = {p.name for p in out.iterdir() if p.is_file()}
    assert written == {
        "findings.md",
        "findings.csv",
        "time_profile.csv",
        "saturation.md",
        f"contrast-{s}.csv",
        f"trap-{s}.csv",
        f"saturation-{s}.csv",
    }
    printed = capsys.readouterr().out.split("tables:")[1]
    assert all(name in printed for name in written)
    assert "hangover" not in (out / "findings.md").read_text(encoding="utf-8")


def test_the_trade_off_figure_names_the_dotted_week_only_where_the_hangover_is_drawn():
    """The quick size runs no hangover arm: no blue line, so no dotted switch week and no
    x-axis label about blue's next term."""
    from experiments import report

    rows = [
        {"contrast": c, "window": w, "outcome": o, "mean": 1.0, "ci_low": 0.0, "ci_high": 2.0, "n": 3}
        for c in ("35% vs 5%", "hangover: 35% then 8% vs 8%")
        for w in range(4)
        for o in ("gmv", "value", "profit", "before")
    ]
    both = pd.DataFrame(rows)
    with report.figure_style() as plt:
        for profile, hangover in ((both, True), (both[both["contrast"] == "35% vs 5%"], False)):
            fig = fc.plot_profile(profile, 26, "tiny", plt)
            ax = fig.axes[-1]
            dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
            assert ("blue" in ax.get_xlabel()) == hangover and ("week 26" in ax.get_xlabel()) == hangover
            assert len(dotted) == hangover
            assert ("blue" in fig.get_suptitle()) == hangover
            plt.close(fig)


def test_fmt_shows_a_narrow_interval_with_the_decimals_it_needs():
    """An interval narrower than the outcome's format does not collapse to '-0 [-0, 0]'; a wide
    one keeps the outcome's format."""
    m = 1e6  # RMB per million
    narrow = {"mean": -0.03 * m, "ci_low": -0.27 * m, "ci_high": 0.204 * m}
    assert fc.fmt(narrow, "short_term_gmv") == "-0.03 [-0.27, 0.20]"
    assert fc.fmt({"mean": 1.4 * m, "ci_low": -1.8 * m, "ci_high": 4.6 * m}, "short_term_gmv") == "+1.4 [-1.8, 4.6]"
    assert fc.fmt({"mean": -95 * m, "ci_low": -125 * m, "ci_high": -65 * m}, "short_term_gmv") == "-95 [-125, -65]"
    assert fc.fmt({"mean": 2.9 * m, "ci_low": 1.5 * m, "ci_high": 4.4 * m}, "focal_short_term_gmv") == "+2.9 [1.5, 4.4]"
    assert fc.fmt({"mean": -0.12, "ci_low": -0.144, "ci_high": -0.095}, "focal_brand_value_change") == (
        "-12.0 [-14.4, -9.5]"
    )
    assert fc.fmt({"mean": np.nan, "ci_low": np.nan, "ci_high": np.nan}, "short_term_gmv") == "n/a"
    from experiments.report import interval_text

    # a format with thousands separators gets its decimals too, and keeps its separators
    assert interval_text(-0.04, -0.05, -0.03, ",.0f") == "-0.040 [-0.050, -0.030]"
    assert interval_text(-1234.5, -2000.0, -500.0, ",.0f", sign=True) == "-1,234 [-2,000, -500]"
    assert interval_text(0.5, 0.7, 0.3, ".1f") == "0.50 [0.70, 0.30]"  # (a reversed interval: its width)


@pytest.mark.slow
def test_the_headline_signs_hold_on_a_root_seed_other_than_the_docs():
    """On a root seed the docs never used, at a size that runs in about a minute: the focal
    brand's brand value falls, it pays its agency more, and its profit after agency payments
    falls, when it signs 35% instead of 5% (each 95% interval excludes zero)."""
    import tempfile

    size = fc.Size(
        "check",
        replications=40,
        steps=260,
        base={"n_consumers": 1500},
        extra={"saturation": 2, "ks": [0], "seeds": 1, "switch": fc.SWITCH},
    )
    spec = fc.contrast_spec(size, 99173)
    spec["design"]["points"] = spec["design"]["points"][:2]  # 5% and 35%
    spec["outputs"]["brands"] = False
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(spec, tmp, executor="processes", workers=2, progress=False)
        runs = load_results(tmp).runs
    runs["arm"] = fc.arm_of(runs)
    d = fc.paired(
        runs, "high", "low", ["focal_brand_value_change", "focal_paid_to_agency_total", "focal_brand_profit_total"]
    ).set_index("outcome")
    assert d.loc["focal_brand_value_change", "ci_high"] < 0
    assert d.loc["focal_paid_to_agency_total", "ci_low"] > 0
    assert d.loc["focal_brand_profit_total", "ci_high"] < 0


def test_robustness_tiny_run_writes_one_row_per_variant(tmp_path):
    from experiments import focal_robustness as fr

    out = tmp_path / "rob"
    assert fr.main(["--tiny", "--out", str(out), "--executor", "serial"]) == 0
    table = pd.read_csv(out / "robustness.csv")
    assert list(table["variant"]) == list(fr.VARIANTS) and (table["n"] == 2).all()
    assert (out / "figures" / "focal_robustness.png").stat().st_size > 0
    md = (out / "robustness.md").read_text(encoding="utf-8")
    assert "imitating agencies" in md and "learning + imitating" in md and "final week" in md
