"""Crossed designs (a sample of conditions x a small factor, common random numbers within each
sample point), their contrast tables, and Sobol' sweeps that grow (issue 25)."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from experiments.sweeps import load_results, load_spec, run_sweep

TINY = {"n_consumers": 200, "n_brands": 4, "n_agencies": 2, "burn_in_weeks": 2}


def crossed_spec(**changes):
    spec = {
        "name": "crossed",
        "steps": 12,
        "replications": 3,
        "seed": 11,
        "base": {**TINY, "focal_brands": 1, "agency_policy": "learning"},
        "design": {
            "kind": "crossed",
            "sample": {
                "kind": "lhs",
                "samples": 3,
                "factors": {"rank_feedback": [0.5, 2.0], "contract_weeks": [8, 52]},
            },
            "factor": {"focal_commission_rate": [0.05, 0.2, 0.35]},
        },
        "outputs": {"timeseries": False},
    }
    spec.update(changes)
    return spec


def test_a_crossed_design_runs_every_sample_point_at_every_level_with_shared_seeds():
    spec = load_spec(crossed_spec())
    assert spec.n_points == 9 and spec.n_runs == 27
    runs = pd.DataFrame([{**vars(r), **r.values} for r in spec.runs()])
    runs["sample"] = runs["point"] // 3
    # at one sample point, the levels differ in the factor only, and share their seeds
    for _, g in runs.groupby(["sample", "replication"]):
        assert sorted(g["focal_commission_rate"]) == [0.05, 0.2, 0.35]
        assert g["seed"].nunique() == 1
        assert g[["rank_feedback", "contract_weeks"]].nunique().max() == 1
    # every sample point and replication has a stream of its own
    assert runs.groupby(["sample", "replication"])["seed"].first().nunique() == 9
    # common_random_numbers = true: the replication alone sets the seed, as for other designs
    crn = pd.DataFrame([vars(r) for r in load_spec(crossed_spec(common_random_numbers=True)).runs()])
    assert crn.groupby("replication")["seed"].nunique().max() == 1


def test_a_crossed_design_gives_the_same_bits_on_every_executor(tmp_path):
    spec = crossed_spec(replications=2)
    tables = {}
    for executor in ("serial", "processes"):
        run_sweep(spec, tmp_path / executor, executor=executor, workers=2, progress=False)
        tables[executor] = load_results(tmp_path / executor).runs.drop(columns=["status"])
    pdt.assert_frame_equal(tables["serial"], tables["processes"])


def test_contrast_is_the_paired_difference_averaged_over_replications(tmp_path):
    run_sweep(crossed_spec(), tmp_path / "c", executor="serial", progress=False)
    res = load_results(tmp_path / "c")
    table = res.contrast("focal_commission_rate", 0.05, 0.35, ["focal_brand_profit_total", "total_gmv"])
    assert len(table) == 3 and (table["n"] == 3).all()
    runs = res.runs
    for s, row in table.iterrows():  # by hand, from the runs table
        low = runs[(runs["point"] == 3 * s) & True].sort_values("replication")
        high = runs[runs["point"] == 3 * s + 2].sort_values("replication")
        assert (low["seed"].to_numpy() == high["seed"].to_numpy()).all()
        diff = high["focal_brand_profit_total"].to_numpy() - low["focal_brand_profit_total"].to_numpy()
        assert row["focal_brand_profit_total"] == pytest.approx(diff.mean(), rel=1e-12)
        assert row["focal_brand_profit_total_se"] == pytest.approx(diff.std(ddof=1) / np.sqrt(3), rel=1e-12)
        assert row["rank_feedback"] == low["rank_feedback"].iloc[0]
    # an outcome missing in one run: its own count and standard error leave that pair out
    gap = runs.copy()
    gap.loc[gap["run_id"] == 2, "total_gmv"] = np.nan  # sample 0, replication 2, the low level
    res.__dict__["runs"] = gap
    t2 = res.contrast("focal_commission_rate", 0.05, 0.35, ["focal_brand_profit_total", "total_gmv"])
    assert t2.loc[0, "total_gmv_n"] == 2 and t2.loc[0, "focal_brand_profit_total_n"] == 3
    hand = (gap[gap["point"] == 2]["total_gmv"].to_numpy() - gap[gap["point"] == 0]["total_gmv"].to_numpy())[:2]
    assert t2.loc[0, "total_gmv_se"] == pytest.approx(hand.std(ddof=1) / np.sqrt(2), rel=1e-12)
    # a dearer focal contract costs the focal brand money at every sample point
    assert (table["focal_brand_profit_total"] < 0).all()
    with pytest.raises(ValueError, match="not a level of focal_commission_rate"):
        res.contrast("focal_commission_rate", 0.05, 0.5)
    with pytest.raises(ValueError, match="not the crossed factor"):
        res.contrast("rank_feedback", 0.5, 2.0)


@pytest.mark.parametrize(
    "design, match",
    [
        ({"kind": "crossed", "factor": {"commission_rate": [0.1, 0.2]}}, "design.sample' is missing"),
        (
            {"kind": "crossed", "sample": {"kind": "grid", "factors": {"contract_weeks": [13, 52]}},
             "factor": {"contract_weeks": [26, 104]}},
            "design.factor.contract_weeks",
        ),
        (
            {"kind": "crossed", "sample": {"kind": "grid", "factors": {"contract_weeks": [13, 52]}},
             "factor": {"commission_rate": [0.1, 0.2], "base_fee": [0.0]}},
            "lockstep",
        ),
        (
            {"kind": "crossed", "sample": {"kind": "grid", "factors": {"contract_weeks": [13, 52]}},
             "factor": {"commission_rate": [0.1]}},
            "at least two levels",
        ),
        (
            {"kind": "crossed", "factor": {"commission_rate": [0.1, 0.2]},
             "sample": {"kind": "crossed", "sample": {}, "factor": {}}},
            "design.sample.kind",
        ),
        (
            {"kind": "crossed", "sample": {"kind": "grid", "factors": {"contract_weeks": [13, 52]}},
             "factor": {"commission_rate": [0.1, 1.5]}},
            "design.factor.commission_rate",
        ),
    ],
)  # fmt: skip
def test_a_bad_crossed_design_names_the_key(design, match):
    with pytest.raises(ValueError, match=match):
        load_spec({"steps": 4, "design": design})


def sobol_spec(samples: int) -> dict:
    return {
        "name": "grow",
        "steps": 6,
        "seed": 5,
        "base": TINY,
        "design": {"kind": "sobol", "samples": samples, "second_order": False,
                   "factors": {"commission_rate": [0.02, 0.3], "rank_feedback": [0.5, 2.0]}},
        "outputs": {"timeseries": False},
    }  # fmt: skip


def test_a_sobol_sweep_grown_from_n_to_2n_equals_one_run_at_2n(tmp_path, capsys):
    run_sweep(sobol_spec(4), tmp_path / "grown", executor="serial", progress=False)
    first = load_results(tmp_path / "grown").runs
    capsys.readouterr()
    run_sweep(sobol_spec(8), tmp_path / "grown", executor="serial", progress=False)
    said = capsys.readouterr().err
    assert "from N = 4 to N = 8" in said and "16 of 32 runs were already done" in said
    grown = load_results(tmp_path / "grown")
    run_sweep(sobol_spec(8), tmp_path / "fresh", executor="serial", progress=False)
    fresh = load_results(tmp_path / "fresh")
    pdt.assert_frame_equal(grown.runs.drop(columns=["status"]), fresh.runs.drop(columns=["status"]))
    pdt.assert_frame_equal(grown.runs.head(len(first)), first)  # the first N's runs were kept as they were
    assert grown.analyze("total_gmv")["ST"] == pytest.approx(fresh.analyze("total_gmv")["ST"])
    # growing keeps runs, so it needs resume
    with pytest.raises(ValueError, match="resume is off"):
        run_sweep(sobol_spec(16), tmp_path / "grown", executor="serial", progress=False, resume=False)
    # anything but more samples is still a different sweep
    with pytest.raises(ValueError, match="holds a different sweep"):
        run_sweep({**sobol_spec(16), "steps": 7}, tmp_path / "grown", executor="serial", progress=False)


def test_analyze_refuses_an_outcome_that_is_not_finite_naming_the_runs(tmp_path):
    run_sweep(sobol_spec(2), tmp_path / "s", executor="serial", progress=False)
    res = load_results(tmp_path / "s")
    runs = res.runs.copy()
    runs.loc[runs["run_id"].isin([3, 5]), "total_gmv"] = np.nan  # as a run that went wrong would report it
    res.__dict__["runs"] = runs  # (Results.runs is a cached property)
    with pytest.raises(ValueError, match=r"'total_gmv' is not finite in 2 runs \(run ids \[3, 5\]\)"):
        res.analyze("total_gmv")
    assert np.isfinite(res.analyze("brand_profit_total")["ST"]).all()
