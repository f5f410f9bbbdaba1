"""The shared scenario of the docking study: same parameters, same weekly offers, two markets.

The scenario is a small controlled category (no agencies, no rank feedback, so the offers do
not depend on sales): ``N_BRANDS`` brands at fixed regular prices and qualities, shown by
organic search with a constant chance, over ``WEEKS`` weeks. It exercises every consumer rule:

* brand 0 runs a 30% promotion in weeks 12 and 16 (M1 salience and reference gain, M2
  stockpiling, M3 and M4 updates);
* brand 1 raises its regular price by 15% from week 14 (M1 price, M3 reference loss);
* brand 3 runs a brand-building campaign (awareness reach) in weeks 10-19;
* week 18 is a festival (extra demand; no deal is a letdown).

Windows compared: before the treatments (weeks 0-11), during them (12-19), after (20-25).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from model import Params
from model.market import Market, Offer

N_BRANDS = 5
WEEKS = 26
WINDOWS = {"before": slice(0, 12), "during": slice(12, 20), "after": slice(20, 26)}
PRICE_FACTORS = (0.8, 0.9, 1.0, 1.1, 1.25)
REPS = 40  # replications (seeds) per implementation
MARGIN = 0.12  # equivalence margin: share of the mean
ALPHA = 0.05  # level of the equivalence test (TOST)
KS_ALPHA = 0.01  # family-wise level of the Kolmogorov-Smirnov tests (Bonferroni over comparisons)
VISIBILITY = 0.10
QUALITY_PER_LOG_PRICE = 2.0  # utils per unit log regular price


def docking_params(**changes) -> Params:
    return Params(**{"n_consumers": 500, "n_brands": N_BRANDS, **changes})


def initial_prices(p: Params) -> np.ndarray:
    return p.mean_price * np.array(PRICE_FACTORS)


def offers(p: Params) -> list[Offer]:
    """The offers of every week (the same for both implementations)."""
    regular0 = initial_prices(p)
    # dearer brands are better (as in AgencyMarket), plus a fixed image and goodwill; fixed
    # numbers, so that changing a consumer parameter changes the consumers only
    quality = -0.5 + QUALITY_PER_LOG_PRICE * np.log(regular0 / p.mean_price) + 0.5
    out = []
    for week in range(WEEKS):
        regular = regular0.copy()
        if week >= 14:
            regular[1] *= 1.15
        discount = np.zeros(N_BRANDS)
        if week in (12, 16):
            discount[0] = 0.30
        reach = np.zeros(N_BRANDS)
        if 10 <= week < 20:
            reach[3] = 0.03
        vis = np.full(N_BRANDS, VISIBILITY)
        out.append(
            Offer(
                price=regular * (1 - discount),
                regular_price=regular,
                discount=discount,
                quality=quality.copy(),
                visibility=vis,
                organic_visibility=vis.copy(),
                reach=reach,
                festival=(week == 18) and p.use_festivals,
            )
        )
    return out


def run_vectorised(p: Params, seed: int, kernel: str = "numpy") -> np.ndarray:
    """Weekly real units per brand (weeks x brands) from :class:`model.market.Market` on ``kernel``."""
    market = Market(p, N_BRANDS, np.random.default_rng(seed), kernel=kernel)
    market.init_reference_prices(initial_prices(p))
    return np.array([market.shop(o).units for o in offers(p)])


def run_numba(p: Params, seed: int) -> np.ndarray:
    """As :func:`run_vectorised`, on the fused Numba kernel."""
    return run_vectorised(p, seed, kernel="numba")


def run_reference(p: Params, seed: int) -> np.ndarray:
    """Weekly real units per brand (weeks x brands) from the one-agent-per-consumer reference."""
    from reference_market import ReferenceMarket  # benchmarks/ is on sys.path (script dir or conftest)

    market = ReferenceMarket(p, N_BRANDS, initial_prices(p), rng=seed)
    week_offers = [
        Offer(
            price=o.price.tolist(),
            regular_price=o.regular_price.tolist(),
            discount=o.discount.tolist(),
            quality=o.quality.tolist(),
            visibility=o.visibility.tolist(),
            organic_visibility=o.organic_visibility.tolist(),
            reach=o.reach.tolist(),
            festival=o.festival,
        )
        for o in offers(p)
    ]
    return np.array([market.shop(o) for o in week_offers])


def window_totals(units: np.ndarray) -> dict[str, np.ndarray]:
    """Units per brand summed over each window."""
    return {name: units[w].sum(axis=0) for name, w in WINDOWS.items()}


# --- the docking comparison ------------------------------------------------------------------
def tost(a: np.ndarray, b: np.ndarray, margin: float) -> float:
    """p-value of the two one-sided tests (TOST) for |mean(a) - mean(b)| < margin, Welch's SE."""
    na, nb = len(a), len(b)
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    d = a.mean() - b.mean()
    p_low = stats.t.sf((d + margin) / se, df)  # H0: d <= -margin
    p_high = stats.t.cdf((d - margin) / se, df)  # H0: d >= margin
    return float(max(p_low, p_high))


def window_samples(fn, params: Params, seeds) -> dict[str, np.ndarray]:
    """Per window, a (replications x brands) array of unit totals from ``fn(params, seed)``."""
    runs = [window_totals(fn(params, int(s))) for s in seeds]
    return {w: np.array([r[w] for r in runs]) for w in WINDOWS}


def compare(vec: dict[str, np.ndarray], ref: dict[str, np.ndarray], margin: float = MARGIN) -> list[dict]:
    """One row per window and brand: means, relative difference, TOST and KS p-values."""
    rows = []
    for w in WINDOWS:
        for j in range(N_BRANDS):
            a, b = vec[w][:, j], ref[w][:, j]
            scale = 0.5 * (a.mean() + b.mean())
            rows.append(
                {
                    "window": w,
                    "brand": j,
                    "vectorised": float(a.mean()),
                    "reference": float(b.mean()),
                    "rel_diff": float((b.mean() - a.mean()) / scale),
                    "tost_p": tost(a / scale, b / scale, margin),
                    "ks_p": float(stats.ks_2samp(a, b).pvalue),
                }
            )
    return rows


def verdict(rows: list[dict]) -> dict[str, list[dict]]:
    """The comparisons that fail equivalence of means, and those whose distributions differ."""
    bonferroni = KS_ALPHA / len(rows)
    return {
        "not_equivalent": [r for r in rows if r["tost_p"] >= ALPHA],
        "different": [r for r in rows if r["ks_p"] < bonferroni],
    }


def dock(params: Params | None = None, reps: int = REPS) -> list[dict]:
    """Run both implementations over ``reps`` seeds each (disjoint seeds) and compare."""
    p = params if params is not None else docking_params()
    vec = window_samples(run_vectorised, p, range(reps))
    ref = window_samples(run_reference, p, range(10_000, 10_000 + reps))
    return compare(vec, ref)
