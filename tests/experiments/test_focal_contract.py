"""experiments.focal_contract: one brand's contract against its rivals', and the contract game."""

import numpy as np
import pandas as pd

from experiments import focal_contract as fc


def test_the_design_has_each_part_once():
    pts = fc.points()
    assert len(pts) == len({tuple(sorted(p.items())) for p in pts})  # no point twice
    table = pd.DataFrame(pts)
    assert list(fc.part(table, "own")["focal_commission_rate"]) == fc.OWN
    game = fc.part(table, "game")
    assert sorted(zip(game["focal_commission_rate"], game["commission_rate"])) == \
        [(fc.LOW, fc.LOW), (fc.LOW, fc.HIGH), (fc.HIGH, fc.LOW), (fc.HIGH, fc.HIGH)]
    assert list(fc.part(table, "market")["commission_rate"]) == fc.MARKET
    neutral = fc.part(table, "neutral")
    assert (neutral["experience_weeks"] == 0).all() and list(neutral["commission_rate"]) == [fc.LOW, fc.HIGH]
    spec = fc.EXPERIMENT.spec("full")
    assert spec["base"]["focal_brands"] == 1 and spec["common_random_numbers"]


def test_tiny_run_writes_the_figures_the_tables_and_the_answers(tmp_path):
    out = tmp_path / "fc"
    assert fc.main(["--tiny", "--out", str(out), "--executor", "serial"]) == 0
    for name in ("focal_own_commission", "focal_tradeoff", "focal_game"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == len(fc.points()) and (summary["n"] == 2).all()
    diff = pd.read_csv(out / "differences.csv").set_index("focal_commission_rate")
    assert np.allclose(diff.loc[fc.LOW, [f"{o}_mean" for o in fc.FOCAL]], 0)  # paired against itself
    game = (out / "game.md").read_text(encoding="utf-8")
    assert "rivals on 5%: focal 35% minus focal 5%" in game and "everyone 35% minus everyone 5%" in game
    assert "neutral start: promotion-heavy share over weeks 0-26" in game
