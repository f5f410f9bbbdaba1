"""Scenario discovery: PRIM finds a planted box, and the headline experiment runs end to end."""

import numpy as np
import pandas as pd
import pytest

from experiments import prim
from experiments import scenario_discovery as sd


@pytest.fixture(scope="module")
def planted():
    """An outcome made to depend on two of five conditions (c > 0.7 and a < 0.5), with noise."""
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.random((800, 5)), columns=list("abcde"))
    y = ((X["c"] > 0.7) & (X["a"] < 0.5)).to_numpy() ^ (rng.random(800) < 0.03)
    return X, y, {k: (0.0, 1.0) for k in X}


def test_prim_finds_the_planted_box(planted):
    X, y, bounds = planted
    trajectory = prim.peel(X, y, bounds)
    assert trajectory[0].mass == 1 and trajectory[0].coverage == 1  # it starts from the whole space
    assert all(b.mass >= prim.MIN_MASS for b in trajectory)
    box = prim.choose(trajectory)
    assert box.density >= prim.THRESHOLD and box.coverage > 0.7
    p = prim.quasi_p_values(X, y, box, bounds)
    real = {k for k, v in p.items() if v < 0.05}
    assert real == {("a", "high"), ("c", "low")}  # each limit tested on its own; others not significant
    limits = prim.stated(box, p, bounds)
    assert limits["c"][1] == 1.0 and limits["a"][0] == 0.0 and limits["b"] == (0.0, 1.0)
    # near the planted limits (a little wider: the chosen box buys coverage down to 80% density)
    assert 0.55 < box.limits["c"][0] <= 0.75 and 0.45 <= box.limits["a"][1] < 0.6
    scores = prim.feature_scores(X, y)
    assert list(scores.index[:2]) == ["c", "a"] and scores.iloc[2] < 0.2


def test_a_peel_that_removes_many_tied_points_must_earn_it():
    """A 0/1 condition unrelated to the case: peeling half the points on it raises the density by
    chance, but less per point removed than a thin slice of the condition that matters."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.random(400), "k": rng.integers(0, 2, 400).astype(float)})
    y = (X["a"] > 0.6).to_numpy() ^ (rng.random(400) < 0.1)
    first = prim.peel(X, y, {"a": (0.0, 1.0), "k": (0.0, 1.0)})[1]
    assert first.limits["k"] == (0.0, 1.0) and first.limits["a"][0] > 0 and first.mass > 0.9


def test_prim_refuses_an_outcome_that_never_holds(planted):
    X, _, bounds = planted
    with pytest.raises(ValueError, match="no point is a case of interest"):
        prim.peel(X, np.zeros(len(X), dtype=bool), bounds)


def test_the_spec_crosses_the_conditions_with_three_contracts_on_shared_seeds():
    from experiments.sweeps import load_spec

    specs = sd.stages(sd.SIZES["quick"])
    assert [s["seed"] for s in specs.values()] == list(sd.SEEDS)  # the search and the fresh test sample
    spec = load_spec(specs["find"])
    assert spec.design.kind == "crossed" and len(sd.CONDITIONS) >= 8
    assert spec.n_points == 3 * sd.SIZES["quick"].extra["samples"]
    runs = list(spec.runs())
    levels = [tuple(r.values[k] for k in ("focal_brands", "focal_commission_rate")) for r in runs[: 3 * 3 : 3]]
    assert levels == [(1, sd.LOW), (1, sd.HIGH), (12, sd.HIGH)]
    assert runs[0].seed == runs[3].seed == runs[6].seed != runs[9].seed  # one market, three contracts


def test_a_tiny_run_writes_its_boxes_tables_and_figures(tmp_path, capsys):
    out = tmp_path / "sd"
    assert sd.main(["--tiny", "--out", str(out), "--executor", "serial"]) == 0
    effects = pd.read_csv(out / "effects.csv")
    assert len(effects) == sd.SIZES["tiny"].extra["samples"]
    for q, _, _, sign, _ in sd.QUESTIONS:
        # a case where the estimate has the expected sign; clear where its 95% interval excludes zero
        assert (effects[f"{q}_holds"] == (effects[f"{q}_effect"] * sign > 0)).all()
        side = effects[f"{q}_low"] > 0 if sign > 0 else effects[f"{q}_high"] < 0
        assert (effects[f"{q}_clear"] == side).all()
    fresh = pd.read_csv(out / "effects_test.csv")
    assert len(fresh) == len(effects) and not np.allclose(fresh["rank_feedback"], effects["rank_feedback"])
    boxes = pd.read_csv(out / "boxes.csv")
    assert {"test_inside_mean", "test_outside_mean", "test_density"} <= set(boxes.columns)
    text = (out / "boxes.md").read_text()
    assert all(f"## {q}" in text for q, *_ in sd.QUESTIONS)
    for name in ("discovery_tradeoffs", "discovery_boxes", "discovery_scores"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    assert set(pd.read_csv(out / "feature_scores.csv", index_col=0).index) == set(sd.CONDITIONS)


def test_setting_the_brand_count_is_refused_before_anything_runs(tmp_path):
    from experiments.sweeps.errors import UserError

    with pytest.raises(UserError, match="--set n_brands"):
        sd.main(["--tiny", "--out", str(tmp_path / "x"), "--set", "n_brands=6"])
    assert not (tmp_path / "x" / "data").exists()
