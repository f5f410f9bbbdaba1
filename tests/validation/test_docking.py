"""Docking (Axtell, Axelrod, Epstein & Cohen 1996): the vectorised consumer market against a
plain one-agent-per-consumer reference implementation of the same rules (M1-M4, awareness).

Both run the same scenario with the same parameters (benchmarks/docking_scenario.py) but
different code and different random streams, so the test compares *distributions over seeds*,
not paths. For every brand and window (before, during, after the treatments) the per-seed
unit totals of the two implementations (``REPS`` = 40 seeds each) must be

* equivalent in mean: two one-sided Welch t-tests (TOST) at 5% reject a difference of
  ``MARGIN`` (12%) of the mean or more; and
* not distinguishable in distribution: two-sample Kolmogorov-Smirnov, p >= 0.01 / comparisons
  (Bonferroni).

A negative control shows that the same test catches a real difference: a reference consumer
20% more price-sensitive fails it. The fused Numba kernel (``Market(kernel="numba")``) docks
with the same reference by the same test (tests/test_kernel.py docks it with the NumPy path).
"""

import docking_scenario as D
import pytest


@pytest.fixture(scope="module")
def vectorised():
    return D.window_samples(D.run_vectorised, D.docking_params(), range(D.REPS))


@pytest.fixture(scope="module")
def reference():
    # different seeds from the vectorised runs as well as different generators
    return D.window_samples(D.run_reference, D.docking_params(), range(10_000, 10_000 + D.REPS))


@pytest.mark.slow
def test_vectorised_market_docks_with_the_one_agent_per_consumer_reference(vectorised, reference):
    rows = D.compare(vectorised, reference)
    bad = D.verdict(rows)
    assert not bad["not_equivalent"], f"means differ by {D.MARGIN:.0%} or more: {bad['not_equivalent']}"
    assert not bad["different"], f"distributions differ (KS): {bad['different']}"
    # the scenario's treatments show in both: the promotion lifts brand 0, the 15% price rise
    # cuts brand 1's sales by more than 10%
    for impl in (vectorised, reference):
        per_week = {w: impl[w].mean(axis=0) / (s.stop - s.start) for w, s in D.WINDOWS.items()}
        assert per_week["during"][0] > 1.2 * per_week["before"][0]
        assert per_week["after"][1] < 0.9 * per_week["before"][1]


@pytest.mark.slow
def test_numba_kernel_docks_with_the_one_agent_per_consumer_reference(reference):
    pytest.importorskip("numba")
    fast = D.window_samples(D.run_numba, D.docking_params(), range(30_000, 30_000 + D.REPS))
    bad = D.verdict(D.compare(fast, reference))
    assert not bad["not_equivalent"], f"means differ by {D.MARGIN:.0%} or more: {bad['not_equivalent']}"
    assert not bad["different"], f"distributions differ (KS): {bad['different']}"


@pytest.mark.slow
def test_docking_catches_a_real_difference(vectorised):
    """Negative control: a reference whose consumers are 20% more price-sensitive must fail."""
    p = D.docking_params()
    changed = D.window_samples(
        D.run_reference, p.replace(price_sensitivity=1.2 * p.price_sensitivity), range(20_000, 20_000 + D.REPS // 2)
    )
    assert D.verdict(D.compare(vectorised, changed))["not_equivalent"]
