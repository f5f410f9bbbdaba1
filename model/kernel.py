"""The fused consumer-market kernel: the rules of :mod:`model.market` compiled with Numba.

The NumPy path of :class:`model.market.Market` spends a week as a few dozen whole-array
expressions over the ``n_consumers x n_brands`` grid, each writing a temporary array as large
as the grid: memory traffic, not arithmetic, sets its speed. Here one pass reads each
consumer's row once and does everything on it while it is in cache: consumption, utilities,
consideration, incidence, choice, quantity, and the updates of reference prices,
deal-proneness, habit and awareness (and, in a second kernel, the closed-form brand value).

Reproducibility. The random numbers are drawn before the kernel by the market's NumPy
generator (the same two uniforms per consumer and week as the NumPy path, from the same
stream). Consumers are cut into fixed blocks of ``BLOCK`` rows; ``prange`` runs over blocks,
each block sums its own consumers into its own row of a partial-sum table, and the rows are
added in block order afterwards. Nothing depends on which thread ran which block, so the same
seed gives the same numbers bit for bit with one thread or many.

Numba is imported by this module; :mod:`model.market` imports it only when ``kernel="numba"``
is asked for, so the NumPy path runs where Numba is not installed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

BLOCK = 2048  # consumers per block: the unit of parallel work and of partial sums

# slots of the per-block scalar sums returned by shop_kernel
S_CONSUMPTION, S_TRIPS, S_SURPLUS, S_DEAL = 0, 1, 2, 3
N_SCALARS = 4


def n_blocks(n: int) -> int:
    return (n + BLOCK - 1) // BLOCK


# --- float32 exp and log --------------------------------------------------------------------
# Numba calls the C library's scalar expf/logf (about 3 ns each here; the PyPI build of llvmlite
# has no vector math library). Most of the kernel's time is a handful of them per consumer and
# brand, so these inlined, branch-free versions (Cody-Waite range reduction and a short
# polynomial, as in Cephes' expf/logf) pay: about 1 ns, relative error below 2e-7 over the
# range used (tests/test_kernel.py checks them against NumPy).
@njit(cache=True, inline="always", fastmath=True)
def exp32(x):
    x = min(max(x, np.float32(-87.0)), np.float32(88.0))
    t = x * np.float32(1.4426950408889634)
    k = np.int32(t + np.float32(0.5) if t >= 0 else t - np.float32(0.5))
    kf = np.float32(k)
    r = x - kf * np.float32(0.693359375) - kf * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1.0)
    scale = np.int32((k + np.int32(127)) << np.int32(23))
    return p * scale.view(np.float32)


@njit(cache=True, inline="always", fastmath=True)
def log32(x):
    """Natural log of a positive, normal float32 (callers clamp at 1e-30)."""
    bits = np.float32(x).view(np.int32)
    e = np.int32(((bits >> np.int32(23)) & np.int32(255)) - np.int32(127))
    m = np.int32((bits & np.int32(0x007FFFFF)) | np.int32(0x3F800000)).view(np.float32)  # [1, 2)
    if m > np.float32(1.41421356):
        m = m * np.float32(0.5)
        e += np.int32(1)
    s = (m - np.float32(1.0)) / (m + np.float32(1.0))  # log m = 2 atanh s, |s| < 0.172
    s2 = s * s
    q = np.float32(1.0 / 9.0)
    q = q * s2 + np.float32(1.0 / 7.0)
    q = q * s2 + np.float32(1.0 / 5.0)
    q = q * s2 + np.float32(1.0 / 3.0)
    q = q * s2 + np.float32(1.0)
    return np.float32(2.0) * s * q + np.float32(e) * np.float32(0.6931471805599453)


@njit(cache=True, inline="always")
def _logistic(z):
    return np.float32(1.0) / (np.float32(1.0) + exp32(-z))


@njit(parallel=True, cache=True, fastmath=True)
def shop_kernel(beta0, deal0, deal, rate, inventory, last, habit, awareness, log_ref,
                u_trip, u_brand,
                base, log_price, salience, shown, discount, depth, aware_gain,
                flags, coef,
                units, buyers, scalars, aware_sum, ref_sum):
    """One week of shopping for every consumer, in place on the state arrays.

    Per-brand inputs (float32, length J): ``base`` = quality + visibility utility,
    ``log_price`` paid, ``salience`` = promo_salience x deal salience (0 where none),
    ``shown`` = visibility this week, ``discount``, ``depth`` = min(discount / deep, 1),
    ``aware_gain`` = reach + exposure share x visibility.
    ``flags`` (int64): use_stockpiling, use_reference_prices, use_deal_learning, use_awareness.
    ``coef`` (float32): see :func:`model.market.Market._kernel_coefficients`.
    Outputs, one row per block (float64): ``units`` and ``buyers`` (blocks x J), ``scalars``
    (blocks x N_SCALARS), ``aware_sum`` and ``ref_sum`` (blocks x J: sums of the new awareness
    and of exp(new log reference price), for the reporters).
    """
    n, J = awareness.shape
    use_stock, use_ref, use_deal, use_aware = flags[0] != 0, flags[1] != 0, flags[2] != 0, flags[3] != 0
    drift, habit_bonus, ref_gain, loss_aversion = coef[0], coef[1], coef[2], coef[3]
    inc_base, inc_value, inc_inventory, festival = coef[4], coef[5], coef[6], coef[7]
    flexibility, stockpile_gain, habit_keep, ref_weight = coef[8], coef[9], coef[10], coef[11]
    deal_learning, deal_decay, aware_decay, surplus_price = coef[12], coef[13], coef[14], coef[15]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    nb = units.shape[0]
    for b in prange(nb):
        attraction = np.empty(J, dtype=np.float32)
        consider = np.empty(J, dtype=np.float32)
        for j in range(J):
            units[b, j] = 0.0
            buyers[b, j] = 0.0
            aware_sum[b, j] = 0.0
            ref_sum[b, j] = 0.0
        consumption = 0.0
        trips = 0.0
        surplus = 0.0
        deal_total = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            r = rate[i]
            inv = inventory[i]
            # consumption (a full pantry is used faster: category expansion)
            if use_stock:
                use = r * (one + flexibility * max(inv / r - one, zero))
                use = min(use, inv)
                inv = inv - use
                consumption += use
            else:
                consumption += r
            d = deal[i]
            d0 = deal0[i]
            beta = beta0[i]
            if drift != zero:
                beta = beta * (one + drift * max(d - d0, zero))
            li = last[i]
            hb = habit_bonus * habit[i]
            # utilities, consideration, attraction
            total = 0.0
            seen = zero
            considered = zero
            for j in range(J):
                lp = log_price[j]
                v = base[j] - beta * lp
                if j == li:
                    v += hb
                if use_ref:
                    g = log_ref[i, j] - lp
                    v += ref_gain * (g if g > zero else loss_aversion * g)
                v += d * salience[j]
                c = one - (one - awareness[i, j]) * (one - shown[j])
                a = c * exp32(v)
                consider[j] = c
                attraction[j] = a
                total += a
                seen += c * depth[j]
                considered += c
            tot = np.float32(total)
            inclusive = log32(max(tot, np.float32(1e-30)))
            z = inc_base + inc_value * inclusive + festival
            if use_stock:
                z -= inc_inventory * (inv / r)
            trip = _logistic(z)
            surplus += math.log1p(tot) * surplus_price / max(beta, np.float32(1e-3)) * trip
            # choice: the first brand whose cumulative attraction reaches the draw
            k = J
            if u_trip[i] < trip:
                target = u_brand[i] * (one + tot)
                cum = zero
                for j in range(J):
                    cum += attraction[j]
                    if cum >= target:
                        k = j
                        break
            if k < J:
                qty = np.float32(2.0) * r
                if use_stock:
                    qty = qty * (one + stockpile_gain * d * discount[k])
                    inv = inv + qty
                units[b, k] += qty
                buyers[b, k] += 1.0
                trips += 1.0
                last[i] = k
                habit[i] = one - habit_keep * depth[k]
            inventory[i] = inv
            # memories
            if use_deal:
                exposure = seen / max(considered, np.float32(1e-6))
                d = d + deal_learning * exposure * (one - d) - deal_decay * (d - d0)
                d = min(max(d, zero), one)
                deal[i] = d
            deal_total += d
            for j in range(J):
                if use_ref:
                    lr = log_ref[i, j]
                    lr = lr + ref_weight * consider[j] * (log_price[j] - lr)
                    log_ref[i, j] = lr
                else:
                    lr = log_ref[i, j]
                ref_sum[b, j] += exp32(lr)
                a = awareness[i, j]
                if use_aware:
                    a = a + (one - a) * aware_gain[j] - aware_decay * a
                    if j == k:
                        a = one
                    a = min(max(a, zero), one)
                    awareness[i, j] = a
                aware_sum[b, j] += a
        scalars[b, S_CONSUMPTION] = consumption
        scalars[b, S_TRIPS] = trips
        scalars[b, S_SURPLUS] = surplus
        scalars[b, S_DEAL] = deal_total


@njit(parallel=True, cache=True, fastmath=True)
def brand_value_kernel(beta0, deal0, deal, rate, last, habit, awareness, log_ref,
                       base, log_price, shown, generic_attraction, flags, coef, actual, generic):
    """Expected weekly units per brand at the regular offer, and for the generic stand-in.

    ``base`` = quality + visibility utility at organic visibility ``shown``;
    ``generic_attraction`` = baseline visibility x exp(generic quality + visibility utility),
    per brand, before the price term. Outputs ``actual`` and ``generic`` (blocks x J, float64)
    in simulated units (times the regular price and the scale in the caller).
    """
    n, J = awareness.shape
    use_stock, use_ref = flags[0] != 0, flags[1] != 0
    drift, habit_bonus, ref_gain, loss_aversion = coef[0], coef[1], coef[2], coef[3]
    inc_base, inc_value, inc_inventory = coef[4], coef[5], coef[6]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    z0 = inc_base - (inc_inventory if use_stock else zero)  # pantry at one week's stock
    nb = actual.shape[0]
    for b in prange(nb):
        attraction = np.empty(J, dtype=np.float32)
        stand_in = np.empty(J, dtype=np.float32)
        for j in range(J):
            actual[b, j] = 0.0
            generic[b, j] = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            beta = beta0[i]
            if drift != zero:
                beta = beta * (one + drift * max(deal[i] - deal0[i], zero))
            li = last[i]
            hb = habit_bonus * habit[i]
            total = 0.0
            for j in range(J):
                lp = log_price[j]
                price_term = exp32(-beta * lp)
                v = base[j]
                if j == li:
                    v += hb
                if use_ref:
                    g = log_ref[i, j] - lp
                    v += ref_gain * (g if g > zero else loss_aversion * g)
                c = one - (one - awareness[i, j]) * (one - shown[j])
                a = c * exp32(v) * price_term
                attraction[j] = a
                stand_in[j] = generic_attraction[j] * price_term
                total += a
            tot = np.float32(total)
            qty = np.float32(2.0) * rate[i]
            trip = _logistic(z0 + inc_value * log32(max(tot, np.float32(1e-30))))
            scale = trip * qty / (one + tot)
            for j in range(J):
                a = attraction[j]
                actual[b, j] += scale * a
                ag = stand_in[j]
                tot_gen = tot - a + ag
                trip_gen = _logistic(z0 + inc_value * log32(max(tot_gen, np.float32(1e-30))))
                generic[b, j] += trip_gen * qty * ag / (one + tot_gen)


@njit(parallel=True, cache=True, fastmath=True)
def column_sums(x, out):
    """Per-block column sums of a (n x J) float32 array, in float64 (blocks x J)."""
    n, J = x.shape
    for b in prange(out.shape[0]):
        for j in range(J):
            out[b, j] = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            for j in range(J):
                out[b, j] += x[i, j]


@njit(parallel=True, cache=True, fastmath=True)
def exp_column_sums(x, out):
    """Per-block column sums of exp(x) for a (n x J) float32 array, in float64 (blocks x J)."""
    n, J = x.shape
    for b in prange(out.shape[0]):
        for j in range(J):
            out[b, j] = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            for j in range(J):
                out[b, j] += exp32(x[i, j])
