"""The headline scripts agency_mix, sensitivity and contract_search, run in --tiny mode.

Each script runs once per module (serially, in this process) into a temporary folder; the
tests then check what a user relies on: the files are there and readable, the tables have the
promised columns and rows, the sweeps load with ``experiments.load_results``, the contract
search's best contract satisfies its participation constraint, the Sobol' indices are finite,
and bad command-line input is one line with exit code 2.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import agency_mix, contract_search, load_results, sensitivity


def _run(module, out: Path, *extra: str) -> int:
    return module.EXPERIMENT.cli(["--tiny", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def mix_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("agency_mix") / "out"
    assert _run(agency_mix, out) == 0
    return out


@pytest.fixture(scope="module")
def sens_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("sensitivity") / "out"
    assert _run(sensitivity, out) == 0
    return out


@pytest.fixture(scope="module")
def contract_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("contract_search") / "out"
    assert _run(contract_search, out) == 0
    return out


def _check_figures(out: Path, names: list[str]) -> None:
    import matplotlib.image as mpimg

    for name in names:
        png, svg = out / "figures" / f"{name}.png", out / "figures" / f"{name}.svg"
        assert png.is_file() and svg.is_file(), name
        img = mpimg.imread(png)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
        assert img[..., :3].std() > 0.01  # not a blank canvas
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")


def _check_summary(out: Path) -> pd.DataFrame:
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert md.startswith("# ") and "|---|" in md
    return pd.read_csv(out / "summary.csv")


def _check_store(folder: Path, timeseries: bool = True):
    res = load_results(folder)
    assert len(res.runs) > 0
    assert (res.runs["status"] == "done").all()
    if timeseries:
        assert len(res.timeseries) == len(res.runs) * res.spec.steps
    return res


# --- agency_mix ------------------------------------------------------------------------------------
def test_agency_mix_writes_figures_summary_and_data(mix_out, capsys):
    _check_figures(mix_out, ["mix_over_time", "mix_agency_strategies", "mix_contracts_vs_agencies"])
    table = _check_summary(mix_out)
    assert table["region"].tolist() == list(agency_mix.REGIONS)
    for col in (
        "preset",
        "sales_driven_share",
        "n",
        "promo_strategy_share_end_mean",
        "promo_strategy_share_end_ci_low",
        "promo_strategy_share_end_ci_high",
        "mean_deal_proneness_end_mean",
        "mean_reference_price_ratio_end_mean",
        "brand_value_change_mean",
    ):
        assert col in table.columns, col
    assert (table["n"] == 2).all()
    share = table["promo_strategy_share_end_mean"]
    assert share.between(0, 1).all()
    res = _check_store(mix_out / "data")
    assert set(res.runs["preset"]) == set(agency_mix.PRESET_ORDER)
    # the swapped regions: each extreme preset's contracts with the other's agency mix
    assert set(zip(res.runs["preset"], res.runs["sales_driven_share"])) == {
        (p["preset"], p["sales_driven_share"]) for p in agency_mix.REGIONS.values()
    }
    assert res.runs.merge(res.timeseries[["run_id"]].drop_duplicates(), on="run_id").shape[0] == len(res.runs)
    assert len(res.agencies) > 0


def test_agency_mix_regions_start_from_their_archetypes(mix_out):
    # the sales-driven region starts with more brands on promotion than the brand-driven one
    table = pd.read_csv(mix_out / "summary.csv").set_index("region")
    start = table["promo_strategy_share_start_mean"]
    assert start["region_sales_driven"] > start["typical_tp"] > start["region_brand_driven"]
    assert start["brand_contracts_sales_agencies"] > start["sales_contracts_brand_agencies"]


def test_agency_mix_rerun_resumes_without_new_runs(mix_out):
    manifest = load_results(mix_out / "data").manifest
    sessions = len(manifest["sessions"])
    assert _run(agency_mix, mix_out) == 0
    after = load_results(mix_out / "data").manifest
    assert len(after["sessions"]) == sessions + 1
    assert after["sessions"][-1]["runs_done"] == 0  # nothing was left to run


# --- sensitivity -----------------------------------------------------------------------------------
def test_sensitivity_indices_are_finite_and_complete(sens_out):
    _check_figures(sens_out, ["sensitivity_morris", "sensitivity_sobol"])
    table = _check_summary(sens_out)
    for col in ("outcome", "factor", "group", "S1", "S1_conf", "ST", "ST_conf", "mu_star", "sigma"):
        assert col in table.columns, col
    assert set(table["outcome"]) == set(sensitivity.OUTCOMES)
    assert len(table) == len(sensitivity.OUTCOMES) * len(sensitivity.FACTORS)
    for o, g in table.groupby("outcome"):
        assert sorted(g["factor"]) == sorted(sensitivity.FACTORS), o
    numbers = table[["S1", "S1_conf", "ST", "ST_conf", "mu_star", "sigma"]].to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    assert (table["mu_star"] >= 0).all() and (table["ST_conf"] >= 0).all()


def test_sensitivity_sweeps_load_and_analyse(sens_out):
    morris = _check_store(sens_out / "data" / "morris", timeseries=False)
    sobol = _check_store(sens_out / "data" / "sobol", timeseries=False)
    assert morris.spec.design.kind == "morris" and sobol.spec.design.kind == "sobol"
    assert sobol.problem["names"] == list(sensitivity.FACTORS)
    D = len(sensitivity.FACTORS)
    assert len(sobol.runs) == sensitivity.SIZES["tiny"].extra["sobol_n"] * (D + 2)
    # common random numbers: every design point runs with the same seeds
    assert sobol.runs["seed"].nunique() == sobol.spec.replications
    si = sobol.analyze("brand_value_change")
    assert np.isfinite(si["ST"]).all()


# --- contract_search -------------------------------------------------------------------------------
def test_contract_search_best_satisfies_the_participation_constraint(contract_out):
    _check_figures(contract_out, ["contract_search", "contract_confirm"])
    table = _check_summary(contract_out)
    for col in (
        "role",
        "label",
        *contract_search.POINT_KEYS,
        "brand_profit_disc_mean",
        "brand_profit_disc_ci_low",
        "agency_profit_disc_mean",
        "reservation",
        "feasible",
        "gap_brand_profit_disc_mean",
        "gap_brand_value_change_mean",
    ):
        assert col in table.columns, col
    size = contract_search.SIZES["tiny"]
    assert len(table) == size.extra["top"] + len(contract_search.REFERENCES)
    best = table[table["role"] == "best"]
    assert len(best) == 1
    best = best.iloc[0]
    assert bool(best["feasible"])
    assert best["agency_profit_disc_mean"] >= best["reservation"]
    feasible = table[table["feasible"].astype(bool)]
    assert best["brand_profit_disc_mean"] == pytest.approx(feasible["brand_profit_disc_mean"].max())
    assert best["gap_brand_profit_disc_mean"] == 0.0
    # the typical contract sets the outside option, so (with factor 1) it is exactly feasible
    typical = table[table["label"].str.contains("typical TP")].iloc[0]
    assert typical["agency_profit_disc_mean"] == pytest.approx(typical["reservation"])
    sik = table[table["label"].str.contains("sales is king")].iloc[0]
    assert math.isfinite(sik["gap_brand_profit_disc_mean"])
    assert sik["gap_brand_profit_disc_mean"] >= 0 or not sik["feasible"]


def test_contract_search_candidates_and_stages(contract_out):
    cands = pd.read_csv(contract_out / "candidates.csv")
    size = contract_search.SIZES["tiny"]
    assert len(cands) == size.extra["search"] + size.extra["refine"]
    assert set(cands["stage"]) == {"search", "refine"}
    for k, (lo, hi) in contract_search.TERMS.items():
        assert cands[k].between(lo, hi).all(), k
    assert (cands["feasible"] == (cands["agency_profit_disc_mean"] >= cands["reservation"])).all()
    seeds = set()
    for stage in ("search", "reference", "refine"):  # common random numbers across stages
        res = _check_store(contract_out / "data" / stage)
        seeds |= set(res.runs["seed"])
    assert len(seeds) == size.replications
    confirm = _check_store(contract_out / "data" / "confirm")
    assert not seeds & set(confirm.runs["seed"])  # confirmation uses fresh seeds


def test_contract_search_discounting():
    d = contract_search.discount_factors(np.array([0, 52, 104]))
    assert d == pytest.approx([1.0, 1 / 1.1, 1 / 1.21])


# --- command line ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module, argv",
    [
        (contract_search, ["--outside-factor", "2"]),
        (agency_mix, ["--workers", "0"]),
        (sensitivity, ["--scheduler", "tcp://127.0.0.1:1"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(module, argv, tmp_path, capsys):
    code = module.EXPERIMENT.cli(["--tiny", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "error" in err
    assert not (tmp_path / "o").exists()


def test_sobol_indices_that_only_sampling_error_produces_are_flagged():
    import pandas as pd

    from experiments import sensitivity as sens

    ok = pd.DataFrame({"S1": [0.2, 0.5], "ST": [0.3, 0.6]})
    assert sens.uninterpretable(ok) == ""
    bad = pd.DataFrame({"S1": [0.4, -0.2], "ST": [0.3, 0.6]})
    assert "Not interpretable at this size: 2 of 2" in sens.uninterpretable(bad)
