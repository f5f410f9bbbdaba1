"""The calibration script end to end, on a one-candidate search (a smoke test of the procedure)."""

import pandas as pd
import pytest

from experiments import calibrate
from model import Params


@pytest.mark.slow
def test_calibrate_quick_runs_every_stage_and_reports_the_defaults(tmp_path, monkeypatch, capsys):
    defaults = Params()
    # every stage searches only the current default of each of its parameters, and the
    # starting point is moved off them, so the search must put them back
    one = tuple((label, {k: (getattr(defaults, k),) for k in grid}, pats) for label, grid, pats in calibrate.STAGES)
    monkeypatch.setattr(calibrate, "STAGES", one)
    monkeypatch.setattr(calibrate, "START", {k: v * 1.01 for k, v in calibrate.START.items()})
    assert calibrate.main(["--quick", "--n-consumers", "600", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "the current defaults are the chosen values" in out
    table = pd.read_csv(tmp_path / "calibration.csv")
    assert table["stage"].astype(str).tolist() == ["1", "2", "3", "P8 check (start)", "P8 check (chosen)"]
    market = [c for c in table.columns if c.startswith(("P1 ", "P4 ", "P7 "))]
    p8 = [c for c in table.columns if c.startswith("P8 ")]
    assert market and table[market].iloc[:3].notna().all().all()  # every stage measures P1-P7
    assert p8 and table[p8].iloc[2:].notna().all().all()  # stage 3 and the checks measure P8
    assert (tmp_path / "calibration.md").read_text(encoding="utf-8").strip()
