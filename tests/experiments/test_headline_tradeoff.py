"""The headline experiment scripts (commission sweep, contract horizon, evaluation rules) write
what they promise: the sweep store, figures as PNG and SVG, and a summary table whose numbers
are the replication means of the stored runs, with confidence intervals around them.

Each script runs once per module in ``--tiny`` mode (a few seconds, serial executor).
"""

from __future__ import annotations

import contextlib
import io
import math
import xml.etree.ElementTree as ET

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from experiments import commission_sweep, contract_dynamics, contract_horizon, evaluation_rules, load_results, stats

SCRIPTS = {
    "commission_sweep": dict(
        module=commission_sweep,
        keys=["base_fee", "commission_rate"],
        figures=["commission_tradeoff", "commission_timeseries", "commission_who_gains"],
        rows=len(commission_sweep.FEES) * len(commission_sweep.COMMISSIONS),
        outcomes=[
            "short_term_gmv",
            "final_brand_value",
            "brand_value_change",
            "brand_profit_total",
            "agency_profit_total",
            "final_promo_strategy_share",
        ],
        tables=["timeseries"],
    ),
    "contract_horizon": dict(
        module=contract_horizon,
        keys=["contract_weeks", "commission_rate"],
        figures=["horizon_heatmaps"],
        rows=len(contract_horizon.CONTRACT_WEEKS) * len(contract_horizon.COMMISSIONS),
        outcomes=["brand_value_change", "final_promo_strategy_share"],
        tables=[],
    ),
    "evaluation_rules": dict(
        module=evaluation_rules,
        keys=["rule", "brand_measure_noise"],
        figures=["evaluation_bars"],
        rows=len(evaluation_rules.RULES) * len(evaluation_rules.NOISES),
        # the GMV-only control is simulated once: noise cannot reach a rule that never reads it
        stored=1 + (len(evaluation_rules.RULES) - 1) * len(evaluation_rules.NOISES),
        outcomes=["brand_value_change", "short_term_gmv", "brand_profit_total"],
        tables=[],
    ),
}


@pytest.fixture(scope="module", params=list(SCRIPTS))
def ran(request, tmp_path_factory):
    """Run one script in tiny mode into a fresh folder; return (name, info, out, stdout)."""
    name = request.param
    info = SCRIPTS[name]
    out = tmp_path_factory.mktemp(name) / "out"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = info["module"].main(["--tiny", "--out", str(out)])
    assert code == 0
    return name, info, out, buf.getvalue()


def test_writes_figures_as_png_and_svg_and_prints_their_paths(ran):
    name, info, out, stdout = ran
    for fig in info["figures"]:
        png = out / "figures" / f"{fig}.png"
        svg = out / "figures" / f"{fig}.svg"
        assert png.is_file() and svg.is_file(), fig
        img = mpimg.imread(png)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
        assert float(np.std(img[..., :3])) > 0.01  # not a blank canvas
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")
        assert str(png) in stdout and str(svg) in stdout


def test_summary_table_has_one_row_per_design_point_with_cis(ran):
    name, info, out, _ = ran
    csv = pd.read_csv(out / "summary.csv")
    assert len(csv) == info["rows"]
    expected = [*info["keys"], "n"] + [f"{o}_{s}" for o in info["outcomes"] for s in ("mean", "ci_low", "ci_high")]
    missing = [c for c in expected if c not in csv.columns]
    assert not missing, missing
    assert not csv[info["keys"]].duplicated().any()
    for o in info["outcomes"]:
        lo, m, hi = csv[f"{o}_ci_low"], csv[f"{o}_mean"], csv[f"{o}_ci_high"]
        assert m.notna().all(), o
        assert ((lo <= m + 1e-9 * m.abs()) & (m <= hi + 1e-9 * m.abs())).all(), o
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert md.startswith("# ")
    first = md.split("\n## ")[0]  # the summary; a table of paired differences may follow
    assert first.count("\n|") == info["rows"] + 2  # header, rule, one line per design point


def test_summary_means_are_replication_means_of_the_stored_runs(ran):
    name, info, out, _ = ran
    res = load_results(out / "data")
    runs = res.runs
    spec = info["module"].EXPERIMENT.spec("tiny")
    assert (runs["status"] == "done").all()
    assert len(runs) == info.get("stored", info["rows"]) * spec["replications"]
    for table in info["tables"]:
        ts = getattr(res, table)
        assert len(ts) == len(runs) * spec["steps"]
    csv = pd.read_csv(out / "summary.csv")
    if name == "evaluation_rules":
        runs = evaluation_rules.control_at_every_noise(runs)
    o = info["outcomes"][0]
    means = runs.groupby(info["keys"])[o].mean().reset_index()
    merged = csv.merge(means, on=info["keys"], how="outer", validate="one_to_one")
    assert len(merged) == info["rows"]
    np.testing.assert_allclose(merged[f"{o}_mean"], merged[o], rtol=1e-5)
    assert (csv["n"] == spec["replications"]).all()


def test_paired_differences_are_zero_at_the_reference(ran):
    name, info, out, _ = ran
    if name == "contract_horizon":  # a grid with no reference point: no differences table
        assert not (out / "differences.csv").exists()
        assert "## Difference from" not in (out / "summary.md").read_text(encoding="utf-8")
        return
    diff = pd.read_csv(out / "differences.csv")
    assert len(diff) == info["rows"]
    ref = (
        diff["commission_rate"] == commission_sweep.REFERENCE
        if name == "commission_sweep"
        else diff["rule"] == "GMV only"
    )
    assert ref.sum() == info["rows"] // (
        len(commission_sweep.COMMISSIONS) if name == "commission_sweep" else len(evaluation_rules.RULES)
    )
    o = info["outcomes"][0]
    assert (diff.loc[ref, f"{o}_mean"] == 0).all()
    # and not all zero elsewhere (at the tiny size the rules may differ only in money: in 30
    # weeks the agencies, on their own random streams, can make the same choices under each)
    cols = [c for c in (f"{x}_mean" for x in info["outcomes"]) if c in diff.columns]
    assert (diff.loc[~ref, cols] != 0).to_numpy().any()
    assert "## Difference from" in (out / "summary.md").read_text(encoding="utf-8")


def test_gmv_only_control_is_run_once_and_shown_at_every_noise_level(ran):
    name, info, out, _ = ran
    if name != "evaluation_rules":
        return
    runs = load_results(out / "data").runs
    control = runs[(runs["evaluation_brand_weight"] == 0) & (runs["brand_bonus_rate"] == 0)]
    assert control["brand_measure_noise"].nunique() == 1
    assert control["replication"].is_unique
    csv = pd.read_csv(out / "summary.csv")
    shown = csv[csv["rule"] == evaluation_rules.CONTROL]
    assert sorted(shown["brand_measure_noise"]) == sorted(evaluation_rules.NOISES)
    for o in info["outcomes"]:
        assert shown[f"{o}_mean"].nunique() == 1
        assert shown[f"{o}_mean"].iloc[0] == pytest.approx(control[o].mean(), rel=1e-5)  # CSV keeps 6 digits


def test_noise_table_pairs_each_rule_with_its_noise_free_survey(ran):
    name, info, out, _ = ran
    if name != "evaluation_rules":
        assert not (out / "noise_differences.csv").exists()
        return
    runs = load_results(out / "data").runs
    noise = pd.read_csv(out / "noise_differences.csv")
    assert set(noise["rule"]) == set(evaluation_rules.RULES) - {evaluation_rules.CONTROL}
    o = info["outcomes"][0]
    for (rule, n), row in noise.set_index(["rule", "brand_measure_noise"]).iterrows():
        w, b = evaluation_rules.RULES[rule]
        same = runs[(runs["evaluation_brand_weight"] == w) & (runs["brand_bonus_rate"] == b)]
        at = same.set_index(["brand_measure_noise", "replication"])[o]
        expected = (at.loc[n] - at.loc[evaluation_rules.NOISES[0]]).mean()
        assert row[f"{o}_mean"] == pytest.approx(expected, rel=1e-5, abs=1e-12)
    assert "## Difference from a noise-free survey" in (out / "summary.md").read_text(encoding="utf-8")


def test_rerun_resumes_and_runs_nothing(ran, capsys):
    name, info, out, _ = ran
    before = pd.read_csv(out / "summary.csv")
    assert info["module"].main(["--tiny", "--out", str(out)]) == 0
    manifest = load_results(out / "data").manifest
    assert len(manifest["sessions"]) == 2
    assert manifest["sessions"][-1]["runs_done"] == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), before)


def test_student_t_interval():
    m, lo, hi, n = stats.t_interval([1.0, 2.0, 3.0])
    assert (m, n) == (2.0, 3)
    assert hi - m == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)  # t(0.975, 2) * sd / sqrt(n)
    assert m - lo == pytest.approx(hi - m)
    m1, lo1, hi1, n1 = stats.t_interval([5.0, float("nan")])
    assert (m1, n1) == (5.0, 1) and math.isnan(lo1) and math.isnan(hi1)


def test_timeseries_ci_matches_t_interval():
    ts = pd.DataFrame({"g": [0] * 6, "week": [0, 1] * 3, "gmv": [1.0, 4.0, 2.0, 5.0, 6.0, 9.0]})
    band = stats.timeseries_ci(ts, ["g"], "gmv")
    for week, values in ((0, [1, 2, 6]), (1, [4, 5, 9])):
        m, lo, hi, n = stats.t_interval(values)
        row = band[band["week"] == week].iloc[0]
        assert (row["mean"], row["n"]) == (pytest.approx(m), n)
        assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--tiny", "--workers", "0"], "--workers"),
        (["--tiny", "--seed", "-1"], "--seed"),
        (["--tiny", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
        (["--tiny", "--set", "commission_rate=0.2"], "varies 'commission_rate' itself"),
        (["--tiny", "--set", "reward_scale=gmv"], "'reward_scale' = 'gmv' is invalid"),
        (["--tiny", "--set", "reward_scale"], "--set expects name=value"),
        (["--tiny", "--docs", "--set", "reward_scale=client_gmv"], "drop --set, or drop --docs"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, words, tmp_path, capsys):
    code = commission_sweep.EXPERIMENT.cli([*argv, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert contract_horizon.EXPERIMENT.cli(["--tiny", "--out", str(f)]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        evaluation_rules.main(["--tiny", "--frobnicate"])
    assert exc.value.code == 2


def test_set_changes_a_parameter_in_every_run_and_is_recorded(tmp_path):
    import json

    out = tmp_path / "o"
    argv = ["--tiny", "--out", str(out), "--set", "reward_scale=client_gmv", "--set", "choice_temperature=0.01"]
    assert contract_dynamics.main(argv) == 0
    manifest = json.loads((out / "data" / "manifest.json").read_text(encoding="utf-8"))
    base = manifest["spec"]["base"]
    assert (base["reward_scale"], base["choice_temperature"]) == ("client_gmv", 0.01)
    assert "[changed: reward_scale=client_gmv, choice_temperature=0.01]" in manifest["spec"]["description"]
    # the same runs at the defaults are another sweep: the folder refuses to mix them
    assert contract_dynamics.EXPERIMENT.cli(["--tiny", "--out", str(out)]) == 2
    # and every table written says what was changed, under its title
    lines = (out / "summary.md").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ") and "changed from the defaults" in lines[2]
    assert "reward_scale=client_gmv, choice_temperature=0.01" in lines[2]
    # and so does every figure, in its title
    svg = (out / "figures" / "dynamics_cases.svg").read_text(encoding="utf-8")
    assert "parameters changed in every run: reward_scale=client_gmv, choice_temperature=0.01" in svg
    # a later run without --set draws plain figures again
    plain = tmp_path / "plain"
    assert contract_dynamics.main(["--tiny", "--out", str(plain)]) == 0
    assert "parameters changed" not in (plain / "figures" / "dynamics_cases.svg").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "module, argv, name",
    [
        ("agency_mix", ["--set", "commission_rate=0.2"], "commission_rate"),  # set by the regions' presets
        ("contract_search", ["--set", "brand_measure_noise=0.5"], "brand_measure_noise"),  # a later stage's
    ],
)
def test_set_refuses_what_the_experiment_varies_before_running_anything(module, argv, name, tmp_path, capsys):
    import importlib

    experiment = importlib.import_module(f"experiments.{module}").EXPERIMENT
    assert experiment.cli(["--tiny", "--out", str(tmp_path / "o"), *argv]) == 2
    assert f"varies {name!r} itself" in capsys.readouterr().err
    assert not (tmp_path / "o" / "data").exists()
