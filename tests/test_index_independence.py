"""No brand's outcome depends on its index (ODD 7.1; issue 22).

With identical contracts the brands of a market are exchangeable: their prices, images and
promotion calendars are drawn. Before the calendars were drawn, brand j's calendar started at
week j, so in the last week no even-numbered brand could be discounting; read in that week, even
brands' brand value was 7 points higher than odd ones'. These tests run enough markets to see a
3-point gap (the 95% half-width is asserted below 3 points) and check that no gap is there, and
that the same test does see the old calendars' gap (a negative control).
"""

import numpy as np
import pytest
from scipy import stats

from model import AgencyMarket, Params
from model.records import brand_outcomes

MARKETS = 120
WEEKS = 104
PARAMS = Params.preset("typical_tp", n_consumers=1000, agency_policy="learning")
READINGS = ("brand_value_change", "brand_value_change_final_week")


def outcomes(index_calendars: bool = False) -> dict[str, np.ndarray]:
    """Per market (rows) and brand (columns): each reading of brand value change, and each
    brand's share of its market's GMV. ``index_calendars``: brand j's calendar starts at week j,
    as before the calendars were drawn."""
    out = {k: [] for k in (*READINGS, "gmv_share")}
    for seed in range(MARKETS):
        m = AgencyMarket(PARAMS, rng=seed)
        if index_calendars:
            m.promo_phase = np.arange(PARAMS.n_brands)
        m.run(WEEKS)
        rows = brand_outcomes(m)
        for k in READINGS:
            out[k].append(rows[k].to_numpy())
        gmv = rows["total_gmv"].to_numpy()
        out["gmv_share"].append(gmv / gmv.sum())
    return {k: np.array(v) for k, v in out.items()}


def gap(per_market: np.ndarray) -> tuple[float, float]:
    """Mean and 95% half-width over markets of even-numbered brands' mean minus odd ones'."""
    d = per_market[:, 0::2].mean(axis=1) - per_market[:, 1::2].mean(axis=1)
    return float(d.mean()), float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))


@pytest.fixture(scope="module")
def drawn():
    return outcomes()


@pytest.mark.slow
@pytest.mark.parametrize("reading", READINGS)
def test_even_and_odd_brands_differ_by_nothing_the_design_could_see(drawn, reading):
    mean, half = gap(drawn[reading])
    assert half < 0.03, f"the design cannot see a 3-point gap (95% half-width {half * 100:.1f} points)"
    assert abs(mean) < half, f"even minus odd brands: {mean * 100:+.1f} points +/- {half * 100:.1f}"


@pytest.mark.slow
def test_no_brand_index_stands_out(drawn):
    """Kruskal-Wallis across the twelve indices: brand value change and share of GMV."""
    for k in ("brand_value_change", "gmv_share"):
        assert stats.kruskal(*drawn[k].T).pvalue > 0.01, k
    # brand 0 (the focal brand of earlier experiments) against the others
    d = drawn["brand_value_change"][:, 0] - drawn["brand_value_change"][:, 1:].mean(axis=1)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert abs(d.mean()) < half


@pytest.mark.slow
def test_the_same_test_sees_the_gap_of_calendars_phased_by_index():
    mean, half = gap(outcomes(index_calendars=True)["brand_value_change_final_week"])
    assert mean - half > 0, f"even minus odd {mean * 100:+.1f} +/- {half * 100:.1f} points: not seen"


def test_calendars_are_drawn_per_market_not_by_index():
    phases = np.array([AgencyMarket(PARAMS.replace(n_consumers=50), rng=s).promo_phase for s in range(60)])
    assert phases.min() == 0 and phases.max() == 5  # the whole six-week cycle
    assert len({tuple(p) for p in phases}) == 60
    # brand 0 and brand 1 are at every phase in some market
    assert set(phases[:, 0]) == set(range(6)) and set(phases[:, 1]) == set(range(6))
