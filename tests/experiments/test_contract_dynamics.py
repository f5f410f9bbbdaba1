"""experiments.contract_dynamics: issue 3's cases in one sweep, compared with 35% GMV-only."""

import numpy as np
import pandas as pd
import pytest

from experiments import contract_dynamics as cd


def test_tiny_run_writes_every_case_and_pairs_with_the_reference(tmp_path):
    out = tmp_path / "cd"
    assert cd.main(["--tiny", "--out", str(out)]) == 0
    assert (out / "figures" / "dynamics_cases.png").exists()
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["case"]) == list(cd.CASES)  # in the order of the cases, one row each
    assert (summary["n"] == cd.SIZES["tiny"].replications).all()
    diff = pd.read_csv(out / "differences.csv").set_index("case")
    assert (diff.loc[cd.REFERENCE, [f"{o}_mean" for o in cd.OUTCOMES if o != "gmv_year2"]] == 0).all()
    # a 30-week run has no second year: shown as missing, not as zero
    assert summary["gmv_year2_mean"].isna().all()
    assert summary["promo_share_first_26_mean"].between(0, 1).all()
    assert "| 35%, 13-week terms |" in (out / "summary.md").read_text(encoding="utf-8")


def test_second_year_gmv_and_first_half_year_promotion_come_from_their_weeks():
    runs = pd.DataFrame([dict(zip(cd.KEYS, v), run_id=i) for i, v in enumerate(cd.CASES.values())])
    weeks = np.arange(120)
    ts = pd.concat(
        [
            pd.DataFrame(
                {
                    "run_id": i,
                    "week": weeks,
                    "gmv": (i + 1.0) * (weeks >= 52),
                    "promo_strategy_share": np.where(weeks < 13, 0.1 * i, 1.0),
                }
            )
            for i in range(len(runs))
        ]
    )
    short = ts[~((ts["run_id"] == 0) & (ts["week"] > 80))]  # run 0 stops in its second year
    short = short[~((short["run_id"] == 1) & (short["week"] > 20))]  # run 1 in its first half-year
    got = cd.with_cases(runs, short)
    assert list(got["case"]) == list(cd.CASES)
    assert np.isnan(got["gmv_year2"].iat[0]) and np.isnan(got["gmv_year2"].iat[1])
    np.testing.assert_allclose(got["gmv_year2"].iloc[2:], [52.0 * (i + 1) for i in range(2, len(runs))])
    # weeks 0-12 at 0.1 * i, weeks 13-25 at 1: the mean of the 26, whatever comes after
    assert np.isnan(got["promo_share_first_26"].iat[1])
    expect = [(13 * 0.1 * i + 13) / 26 for i in range(len(runs)) if i != 1]
    np.testing.assert_allclose(got["promo_share_first_26"].drop(index=1), expect)


def test_a_run_outside_the_cases_is_an_error():
    runs = pd.DataFrame([dict(zip(cd.KEYS, (0.2, 0.0, 0.1, 52)), run_id=0)])
    with pytest.raises(ValueError, match="matches no case"):
        cd.with_cases(runs, pd.DataFrame({"run_id": [0], "week": [0], "gmv": [1.0], "promo_strategy_share": [0.5]}))
