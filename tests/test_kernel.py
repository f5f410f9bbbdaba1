"""The fused Numba kernel against the NumPy path of the consumer market (docking of two paths).

The two paths draw the same random numbers from the market's generator and apply the same
rules, so

* from the same state with the same draws one week agrees to float rounding (a consumer's
  choice could flip when a draw falls within rounding of a boundary: rare, so tolerances are
  tight but not zero); the closed-form brand value and the reporters agree to float tolerance;
* over whole runs on *different* seeds their outputs agree in distribution (the docking
  scenario's equivalence and Kolmogorov-Smirnov tests; the Mesa model's weekly units and GMV
  per brand and its consumer-state means), and the validation patterns hold on the Numba path;
* each path is bit-reproducible for a seed, and the Numba path gives the same bits with one
  thread or two.

Until ``market_kernel`` is a declared parameter, the Mesa model is pointed at the Numba path by
wrapping :class:`model.market.Market` where model.model constructs it (``use_kernel``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

numba = pytest.importorskip("numba")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:  # the docking scenario lives with the benchmarks
    sys.path.insert(0, str(BENCHMARKS))

import docking_scenario as D  # noqa: E402
from patterns_on_both_paths import PATTERNS, measure  # noqa: E402  (P1-P9 at the Numba test's sizes)

import model  # noqa: E402
import model.model as model_module  # noqa: E402
from model import AgencyMarket, Params, simulate  # noqa: E402
from model import market as market_module  # noqa: E402
from model.market import Market, Offer  # noqa: E402

STATE = ("beta0", "deal0", "deal", "rate", "inventory", "last", "habit", "awareness", "log_ref")


def use_kernel(monkeypatch, kernel: str) -> None:
    """Make AgencyMarket build its consumer market with ``kernel``."""

    def make(*args, **kwargs):
        return Market(*args, **{**kwargs, "kernel": kernel})

    monkeypatch.setattr(model_module, "Market", make)


def docking_market(kernel: str, seed: int, n: int = 3000) -> tuple[Market, list[Offer]]:
    p = D.docking_params(n_consumers=n)
    m = Market(p, D.N_BRANDS, np.random.default_rng(seed), kernel=kernel)
    m.init_reference_prices(D.initial_prices(p))
    return m, D.offers(p)


def run_docking(kernel: str, seed: int, n: int = 3000) -> tuple[Market, np.ndarray, list]:
    m, offers = docking_market(kernel, seed, n)
    sales = [m.shop(o) for o in offers]
    return m, np.array([s.units for s in sales]), sales


# --- choosing the path ----------------------------------------------------------------------------
def test_unknown_kernel_is_a_one_line_error_naming_the_choices():
    with pytest.raises(ValueError, match=r"kernel must be one of 'numpy', 'numba', got 'fortran'"):
        Market(Params(n_consumers=50), 3, np.random.default_rng(0), kernel="fortran")


def test_without_numba_the_default_runs_the_numpy_path_with_a_one_line_notice(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "numba", None)  # makes "import numba" fail
    monkeypatch.delitem(sys.modules, "model.kernel", raising=False)
    monkeypatch.delattr(model, "kernel", raising=False)
    monkeypatch.setattr(market_module, "_FALLBACK_NOTED", False)
    m = Market(Params(n_consumers=50), 3, np.random.default_rng(0), kernel="numba")
    assert m.kernel == "numpy"
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1 and "numba cannot be imported" in notice[0] and "NumPy market path" in notice[0]
    Market(Params(n_consumers=50), 3, np.random.default_rng(0), kernel="numba")
    assert capsys.readouterr().err == ""  # once per process
    # the whole model runs, and gives the NumPy path's numbers
    small = dict(n_consumers=200, n_brands=3, n_agencies=2, burn_in_weeks=2)
    fell_back = simulate(steps=5, seed=1, **small)
    plain = simulate(steps=5, seed=1, market_kernel="numpy", **small)
    pd.testing.assert_frame_equal(fell_back.brands, plain.brands, check_exact=True)


def test_default_is_the_compiled_path():
    assert Params().market_kernel == "numba"
    assert Market(Params(n_consumers=50), 3, np.random.default_rng(0)).kernel == "numba"
    assert AgencyMarket(n_consumers=50, n_brands=3, n_agencies=2, burn_in_weeks=1, rng=0).market.kernel == "numba"


# --- the same rules ---------------------------------------------------------------------------------
def test_float32_exp_and_log_match_numpy():
    from model.kernel import exp32, log32

    @numba.njit
    def both(x, e, lg):
        for i in range(x.size):
            e[i] = exp32(x[i])
            lg[i] = log32(max(abs(x[i]), np.float32(1e-30)))

    x = np.concatenate([np.linspace(-80, 80, 200_001), -np.logspace(-30, 1.9, 20_001)]).astype(np.float32)
    e, lg = np.empty_like(x), np.empty_like(x)
    both(x, e, lg)
    xd = x.astype(np.float64)
    np.testing.assert_allclose(e, np.exp(xd), rtol=3e-7)
    np.testing.assert_allclose(lg, np.log(np.maximum(np.abs(xd), 1e-30)), rtol=3e-7, atol=2e-7)


@pytest.mark.parametrize("festival", [False, True])
def test_the_kernels_per_brand_inputs_are_the_numpy_paths_rounded_once(festival):
    """shop_inputs and brand_value_inputs compute in float64 and round once to float32, as the
    NumPy path's expressions do before they meet the float32 state."""
    from model.kernel import brand_value_inputs, shop_inputs
    from model.market import AWARENESS_FROM_EXPOSURE, DEEP_DISCOUNT

    rng = np.random.default_rng(1)
    J = 12
    quality, vis, reach = rng.normal(0, 1, J), rng.uniform(0, 0.9, J), rng.uniform(0, 0.05, J)
    price = rng.uniform(50, 300, J)
    discount = np.where(rng.random(J) < 0.5, rng.choice([0.1, 0.2, 0.3, 0.4], J), 0.0)
    out = np.empty((7, J), np.float32)
    shop_inputs(
        quality,
        vis,
        price,
        discount,
        reach,
        0.8,
        150.0,
        DEEP_DISCOUNT,
        0.6,
        festival,
        AWARENESS_FROM_EXPOSURE,
        True,
        out,
    )
    depth = np.minimum(discount / DEEP_DISCOUNT, 1.0)
    salience = 0.6 * np.where(discount > 0, depth, -0.5 if festival else 0.0)
    expected = [
        quality + 0.8 * vis,
        np.log(price / 150.0),
        salience,
        vis,
        discount,
        depth,
        reach + AWARENESS_FROM_EXPOSURE * vis,
    ]
    for row, want in zip(out, expected):
        np.testing.assert_allclose(row, want.astype(np.float32), rtol=1.2e-7, atol=1e-30)
    np.testing.assert_array_equal(out[[0, 2, 3, 4, 5, 6]], np.array(expected)[[0, 2, 3, 4, 5, 6]].astype(np.float32))

    generic = rng.normal(-1, 0.5, J)
    bv = np.empty((4, J), np.float32)
    brand_value_inputs(quality, vis, price, generic, 0.8, 150.0, 0.1, bv)
    expected = [quality + 0.8 * vis, np.log(price / 150.0), vis, 0.1 * np.exp(generic + 0.8 * 0.1)]
    for row, want in zip(bv, expected):
        np.testing.assert_allclose(row, want.astype(np.float32), rtol=1.2e-7)


def test_one_week_from_the_same_state_and_draws_agrees_to_float_rounding():
    a, offers = docking_market("numpy", 5)
    b, _ = docking_market("numba", 5)
    for week in range(12):  # both at the same state, then the promotion week
        sa = a.shop(offers[week])
        sb = b.shop(offers[week])
    for name in STATE:
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-5, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(sb.units, sa.units, rtol=1e-6)
    np.testing.assert_allclose(sb.buyers, sa.buyers, rtol=1e-6)
    for field in ("trips", "consumption", "consumer_surplus"):
        assert getattr(sb, field) == pytest.approx(getattr(sa, field), rel=1e-5), field
    assert sa.units[0] > 0 and offers[12].discount[0] > 0
    sa, sb = a.shop(offers[12]), b.shop(offers[12])  # a deep deal: stockpiling, salience, learning
    np.testing.assert_allclose(sb.units, sa.units, rtol=1e-5)
    np.testing.assert_allclose(b.inventory, a.inventory, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.deal, a.deal, rtol=1e-5)


def test_festival_and_switched_off_mechanisms_follow_the_same_rules():
    p = D.docking_params(
        n_consumers=2000,
        use_stockpiling=False,
        use_reference_prices=False,
        use_deal_learning=False,
        use_awareness=False,
        price_sensitivity_drift=0.0,
    )
    offers = D.offers(D.docking_params(n_consumers=2000))
    markets = []
    for kernel in ("numpy", "numba"):
        m = Market(p, D.N_BRANDS, np.random.default_rng(2), kernel=kernel)
        m.init_reference_prices(D.initial_prices(p))
        festival = Offer(**{**offers[16].__dict__, "festival": True})  # a deal in a festival week
        markets.append((m, [m.shop(o).units for o in (offers[0], festival, offers[17])]))
    (a, ua), (b, ub) = markets
    np.testing.assert_allclose(ub, ua, rtol=1e-6)
    for name in STATE:
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-6, atol=1e-6, err_msg=name)


def test_brand_value_and_reporters_agree_given_the_same_state():
    a, offers = docking_market("numpy", 7)
    b, _ = docking_market("numba", 7)
    for o in offers[:14]:
        a.shop(o)
    for name in STATE:  # the same state exactly, whatever rounding did on the way
        getattr(b, name)[...] = getattr(a, name)
    b._summary = None
    o = offers[13]
    args = (o.quality, o.quality - 1.0, o.regular_price, o.organic_visibility, 0.08)
    np.testing.assert_allclose(b.brand_value(*args), a.brand_value(*args), rtol=2e-5)
    assert b.mean_awareness() == pytest.approx(a.mean_awareness(), rel=1e-6)
    assert b.mean_deal_proneness() == pytest.approx(a.mean_deal_proneness(), rel=1e-6)
    assert b.mean_reference_price_ratio(o.regular_price) == pytest.approx(
        a.mean_reference_price_ratio(o.regular_price), rel=1e-6
    )
    np.testing.assert_allclose(b.awareness_by_brand(), a.awareness_by_brand(), rtol=1e-6)
    # the sums the shop pass leaves for the reporters are those of the state it leaves
    a.shop(offers[14])
    b.shop(offers[14])
    fresh = {k: getattr(b, k)() for k in ("mean_awareness", "mean_deal_proneness")}
    ratio = b.mean_reference_price_ratio(offers[14].regular_price)
    b._summary = None
    assert fresh["mean_awareness"] == pytest.approx(b.mean_awareness(), rel=1e-6)
    assert fresh["mean_deal_proneness"] == pytest.approx(b.mean_deal_proneness(), rel=1e-6)
    assert ratio == pytest.approx(b.mean_reference_price_ratio(offers[14].regular_price), rel=1e-6)


def test_a_whole_docking_run_on_the_same_seed_follows_the_same_path():
    (a, ua, _), (b, ub, _) = run_docking("numpy", 11), run_docking("numba", 11)
    np.testing.assert_allclose(ub.sum(axis=0), ua.sum(axis=0), rtol=2e-3)
    assert np.mean(a.last == b.last) > 0.995


# --- reproducibility ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_each_path_is_bit_reproducible_for_a_seed(kernel):
    (a, ua, sa), (b, ub, sb) = run_docking(kernel, 3), run_docking(kernel, 3)
    assert np.array_equal(ua, ub)
    assert [s.consumer_surplus for s in sa] == [s.consumer_surplus for s in sb]
    for name in STATE:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_numba_path_gives_the_same_bits_on_one_thread_or_two():
    from model import kernel as K

    n = K.PARALLEL_FROM + 17  # enough blocks for the parallel kernels, the last block short
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            # one thread: the serial twins; two: the parallel kernels (where the machine has two)
            assert K.kernels(n) is (K.PARALLEL if threads > 1 else K.SERIAL)
            m, units, sales = run_docking("numba", 4, n=n)
            o = D.offers(m.p)[0]
            bv = m.brand_value(o.quality, o.quality - 1, o.regular_price, o.organic_visibility, 0.1)
            runs.append(
                (
                    units,
                    [s.consumer_surplus for s in sales],
                    bv,
                    m.mean_reference_price_ratio(o.price),
                    m.awareness.copy(),
                    m.log_ref.copy(),
                )
            )
    finally:
        numba.set_num_threads(before)
    (u1, cs1, bv1, r1, a1, l1), (u2, cs2, bv2, r2, a2, l2) = runs
    assert np.array_equal(u1, u2) and cs1 == cs2 and np.array_equal(bv1, bv2) and r1 == r2
    assert np.array_equal(a1, a2) and np.array_equal(l1, l2)


def test_a_mesa_run_on_the_numba_path_is_bit_reproducible(monkeypatch, small):
    use_kernel(monkeypatch, "numba")
    runs = [AgencyMarket(Params(**small), rng=9).run(20) for _ in range(2)]
    t0, t1 = (m.datacollector.get_model_vars_dataframe() for m in runs)
    assert t0.equals(t1)
    assert runs[0].market.kernel == "numba"


# --- the same distributions ---------------------------------------------------------------------------
@pytest.mark.slow
def test_numba_path_docks_with_the_numpy_path_over_seeds():
    """The docking scenario's test (equivalence of means within 12%, KS) between the two paths."""
    p = D.docking_params()
    fast = D.window_samples(D.run_numba, p, range(D.REPS))
    plain = D.window_samples(D.run_vectorised, p, range(50_000, 50_000 + D.REPS))
    bad = D.verdict(D.compare(fast, plain))
    assert not bad["not_equivalent"] and not bad["different"], bad


MODEL_SIZE = dict(n_consumers=1500, n_brands=4, n_agencies=2, burn_in_weeks=8)
MODEL_WEEKS = 40
MODEL_REPS = 40
STATE_MEANS = ("mean_reference_price_ratio", "mean_deal_proneness", "mean_awareness")


def brand_weeks(m: AgencyMarket, column: str) -> np.ndarray:
    return m.brand_table().pivot(index="week", columns="brand", values=column).to_numpy()


def test_mesa_model_on_both_paths_follows_the_same_path_for_a_seed(monkeypatch):
    """Same draws, same rules: weekly units and GMV per brand agree to float rounding, and so
    do the agencies' choices that depend on them."""
    runs = {}
    for kernel in ("numpy", "numba"):
        use_kernel(monkeypatch, kernel)
        runs[kernel] = AgencyMarket(Params(**MODEL_SIZE), rng=21).run(MODEL_WEEKS)
    a, b = runs["numpy"], runs["numba"]
    for column in ("units", "gmv", "brand_value"):
        np.testing.assert_allclose(brand_weeks(b, column), brand_weeks(a, column), rtol=1e-4, err_msg=column)
    ta, tb = (m.datacollector.get_model_vars_dataframe() for m in (a, b))
    assert ta["promo_strategy_share"].equals(tb["promo_strategy_share"])
    for name in STATE_MEANS:
        np.testing.assert_allclose(tb[name], ta[name], rtol=1e-5, err_msg=name)


def model_runs(monkeypatch, kernel: str, seeds, **changes) -> dict[str, np.ndarray]:
    """Per seed: mean weekly units and GMV (market and per brand by rank), the state means of
    the last week and the mean pantry. Brands differ between seeds (prices and images are
    drawn), so brands are compared by rank of their sales, not by index."""
    use_kernel(monkeypatch, kernel)
    out = {"units": [], "gmv": [], "brand_units": [], "brand_gmv": [], "pantry": [], **{k: [] for k in STATE_MEANS}}
    for seed in seeds:
        m = AgencyMarket(Params(**{**MODEL_SIZE, **changes}), rng=int(seed)).run(MODEL_WEEKS)
        for name in ("units", "gmv"):
            per_brand = brand_weeks(m, name).mean(axis=0)
            out[name].append(per_brand.sum())
            out[f"brand_{name}"].append(np.sort(per_brand)[::-1])
        last = m.datacollector.get_model_vars_dataframe().iloc[-1]
        for k in STATE_MEANS:
            out[k].append(last[k])
        out["pantry"].append(float(m.market.inventory.mean(dtype=np.float64)))
    return {k: np.array(v) for k, v in out.items()}


# quantities whose spread over seeds allows an equivalence test (TOST) at 20 seeds, and margins
EQUIVALENT_WITHIN = {
    "units": 0.05,
    "mean_reference_price_ratio": 0.03,
    "mean_deal_proneness": 0.03,
    "mean_awareness": 0.03,
}


def distribution_failures(fast: dict, plain: dict) -> list:
    """Comparisons that fail: for every quantity (market units and GMV, brands by rank, state
    means, pantry) a Welch t-test or a Kolmogorov-Smirnov test rejects at 1% (Bonferroni over
    the comparisons); for the quantities of EQUIVALENT_WITHIN, TOST at 5% does not show the
    means equivalent within the margin. GMV and brand-level sales vary 15-40% between seeds
    (the brands' prices are drawn), too much to show equivalence at 40 seeds (random promotion
    calendars add to it); the same-seed
    test above checks them to float rounding."""
    pairs = []
    for name in fast:
        a, b = fast[name], plain[name]
        pairs += [(name, j, a[:, j], b[:, j]) for j in range(a.shape[1])] if a.ndim == 2 else [(name, 0, a, b)]
    level = 0.01 / len(pairs)
    bad = []
    for name, j, x, y in pairs:
        t = stats.ttest_ind(x, y, equal_var=False).pvalue
        ks = stats.ks_2samp(x, y).pvalue
        scale = 0.5 * (x.mean() + y.mean())
        tost = D.tost(x / scale, y / scale, EQUIVALENT_WITHIN[name]) if name in EQUIVALENT_WITHIN else 0.0
        if t < level or ks < level or tost >= 0.05:
            bad.append((name, j, float(x.mean()), float(y.mean()), t, ks, tost))
    return bad


@pytest.mark.slow
def test_mesa_model_on_both_paths_gives_the_same_distributions(monkeypatch):
    fast = model_runs(monkeypatch, "numba", range(MODEL_REPS))
    plain = model_runs(monkeypatch, "numpy", range(1000, 1000 + MODEL_REPS))
    assert not distribution_failures(fast, plain)


@pytest.mark.slow
def test_mesa_model_distribution_test_catches_a_real_difference(monkeypatch):
    """Negative control: consumers who use 15% more of the category fail the same test."""
    fast = model_runs(monkeypatch, "numba", range(MODEL_REPS // 2))
    plain = model_runs(
        monkeypatch, "numpy", range(1000, 1000 + MODEL_REPS // 2), consumption_rate=1.15 * Params().consumption_rate
    )
    assert any(row[0] == "units" for row in distribution_failures(fast, plain))


# --- the validation patterns on the Numba path ------------------------------------------------------


@pytest.fixture(scope="module")
def numba_patterns():
    """Every pattern's measurements (benchmarks/patterns_on_both_paths.py) on the Numba path."""
    from experiments import validation as V

    results = {}
    with pytest.MonkeyPatch.context() as mp:
        use_kernel(mp, "numba")
        V.clear_cache()  # the run cache is keyed by parameters, not by path: share nothing
        try:
            for pattern in PATTERNS:
                results[pattern] = measure(pattern)
        finally:
            V.clear_cache()
    return results


@pytest.mark.slow
@pytest.mark.parametrize("pattern", PATTERNS)
def test_validation_patterns_hold_on_the_numba_path(numba_patterns, pattern):
    for m in numba_patterns[pattern]:
        assert len(m.replications) >= 3
        assert m.passed, (
            f"{m.pattern} {m.quantity}: measured {m.value:.3f} "
            f"[{m.ci_low:.3f}, {m.ci_high:.3f}], target {m.target} ({m.criterion})"
        )


def test_market_module_imports_without_numba_kernel_loaded():
    # the NumPy path must not import numba: model.market has no module-level numba import
    assert "numba" not in market_module.__dict__


def test_the_market_kernel_parameter_picks_the_path(monkeypatch):
    small = dict(n_consumers=500, n_brands=4, n_agencies=2, burn_in_weeks=4, agency_policy="fixed")
    from model import simulate

    by_param = simulate(steps=20, seed=3, market_kernel="numba", **small)
    use_kernel(monkeypatch, "numba")
    by_patch = simulate(steps=20, seed=3, **small)
    pd.testing.assert_frame_equal(by_param.brands, by_patch.brands, check_exact=True)
    with pytest.raises(ValueError, match="'market_kernel' = 'fortran' is invalid"):
        simulate(steps=2, market_kernel="fortran", **small)


def test_a_process_that_ran_the_kernel_can_still_fork_sweep_workers(tmp_path):
    # GNU OpenMP, numba's default threading layer on Linux, kills a forked child; the kernel
    # picks a fork-safe layer, and the sweep's workers give each run one thread
    from experiments import run_sweep

    spec = {
        "name": "k",
        "steps": 12,
        "replications": 2,
        "seed": 1,
        "base": {"n_consumers": 300, "n_brands": 4, "n_agencies": 2, "burn_in_weeks": 4, "market_kernel": "numba"},
        "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.3]}},
    }
    serial = run_sweep(spec, tmp_path / "serial", executor="serial", progress=False)
    forked = run_sweep(spec, tmp_path / "forked", executor="processes", workers=2, progress=False)
    key = ["run_id", "total_gmv", "brand_value_change"]
    pd.testing.assert_frame_equal(
        serial.sort_values("run_id")[key].reset_index(drop=True),
        forked.sort_values("run_id")[key].reset_index(drop=True),
        check_exact=True,
    )
