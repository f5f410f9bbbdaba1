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

Threads: a fork-safe threading layer is chosen (below), and the sweep engine gives each run one
thread (it already runs one process per core). Numba is imported by this module; :mod:`model.market` imports it only when ``kernel="numba"``
is asked for, so the NumPy path runs where Numba is not installed.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from numba import njit, prange

# A fork-safe threading layer: the sweep engine forks worker processes, and a process that has
# run a parallel kernel on GNU OpenMP (numba's default on Linux wheels) cannot fork safely
# ("fork() called from a process already using GNU OpenMP" kills the workers). numba's own
# workqueue layer forks safely; it must not be entered from two threads of one process at once,
# which the sweep engine never does (one run per process; Dask workers have one thread each).
# NUMBA_THREADING_LAYER overrides the choice. It must be set before numba starts its threads.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

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


@njit(cache=True, inline="always", fastmath=True)
def _tastes(i0, m, beta0, deal0, deal, habit, last, drift, habit_bonus):
    """This week's price sensitivity, habit bonus and last brand of a block's consumers."""
    beta = np.empty(m, np.float32)
    hb = np.empty(m, np.float32)
    li = np.empty(m, np.int32)
    for k in range(m):
        i = i0 + k
        bt = beta0[i]
        if drift != np.float32(0.0):
            bt = bt * (np.float32(1.0) + drift * max(deal[i] - deal0[i], np.float32(0.0)))
        beta[k] = bt
        hb[k] = habit_bonus * habit[i]
        li[k] = last[i]
    return beta, hb, li


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

    Within a block the work goes brand by brand over the block's consumers (the block's rows
    stay in cache), so that the compiler can vectorise the utilities and the memory updates;
    incidence and choice go consumer by consumer.
    """
    n, J = awareness.shape
    use_stock, use_ref, use_deal, use_aware = flags[0] != 0, flags[1] != 0, flags[2] != 0, flags[3] != 0
    drift, habit_bonus, ref_gain, loss_aversion = coef[0], coef[1], coef[2], coef[3]
    inc_base, inc_value, inc_inventory, festival = coef[4], coef[5], coef[6], coef[7]
    flexibility, stockpile_gain, habit_keep, ref_weight = coef[8], coef[9], coef[10], coef[11]
    deal_learning, deal_decay, aware_decay, surplus_price = coef[12], coef[13], coef[14], coef[15]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for b in prange(units.shape[0]):
        i0 = b * BLOCK
        m = min(n, i0 + BLOCK) - i0
        beta, hb, li = _tastes(i0, m, beta0, deal0, deal, habit, last, drift, habit_bonus)
        d_old = np.empty(m, np.float32)
        total = np.zeros(m, np.float32)
        seen = np.zeros(m, np.float32)
        considered = np.zeros(m, np.float32)
        chosen = np.empty(m, np.int32)
        attraction = np.empty((J, m), np.float32)
        consider = np.empty((J, m), np.float32)
        for j in range(J):
            units[b, j] = 0.0
            buyers[b, j] = 0.0
        consumption = 0.0
        # 1. consumption (a full pantry is used faster: category expansion), tastes of the week
        for k in range(m):
            i = i0 + k
            r = rate[i]
            if use_stock:
                inv = inventory[i]
                use = min(r * (one + flexibility * max(inv / r - one, zero)), inv)
                inventory[i] = inv - use
                consumption += use
            else:
                consumption += r
            d_old[k] = deal[i]
        # 2. utilities, consideration, attraction, brand by brand
        for j in range(J):
            lp = log_price[j]
            bj = base[j]
            sal = salience[j]
            not_shown = one - shown[j]
            dj = depth[j]
            for k in range(m):
                i = i0 + k
                v = bj - beta[k] * lp + d_old[k] * sal + (hb[k] if li[k] == j else zero)
                if use_ref:
                    g = log_ref[i, j] - lp
                    v += ref_gain * (g if g > zero else loss_aversion * g)
                c = one - (one - awareness[i, j]) * not_shown
                a = c * exp32(v)
                consider[j, k] = c
                attraction[j, k] = a
                total[k] += a
                seen[k] += c * dj
                considered[k] += c
        # 3. incidence, choice, quantity, habit and deal-proneness, consumer by consumer
        trips = 0.0
        surplus = 0.0
        deal_total = 0.0
        for k in range(m):
            i = i0 + k
            tot = total[k]
            r = rate[i]
            z = inc_base + inc_value * log32(max(tot, np.float32(1e-30))) + festival
            if use_stock:
                z -= inc_inventory * (inventory[i] / r)
            trip = _logistic(z)
            surplus += math.log1p(tot) * surplus_price / max(beta[k], np.float32(1e-3)) * trip
            pick = J
            if u_trip[i] < trip:  # the first brand whose cumulative attraction reaches the draw
                target = u_brand[i] * (one + tot)
                cum = zero
                for j in range(J):
                    cum += attraction[j, k]
                    if cum >= target:
                        pick = j
                        break
            chosen[k] = pick
            d = d_old[k]
            if pick < J:
                qty = np.float32(2.0) * r
                if use_stock:
                    qty = qty * (one + stockpile_gain * d * discount[pick])
                    inventory[i] += qty
                units[b, pick] += qty
                buyers[b, pick] += 1.0
                trips += 1.0
                last[i] = pick
                habit[i] = one - habit_keep * depth[pick]
            if use_deal:
                exposure = seen[k] / max(considered[k], np.float32(1e-6))
                d = d + deal_learning * exposure * (one - d) - deal_decay * (d - deal0[i])
                d = min(max(d, zero), one)
                deal[i] = d
            deal_total += d
        # 4. reference prices and awareness, brand by brand
        for j in range(J):
            lp = log_price[j]
            gain = aware_gain[j]
            s_ref = np.float32(0.0)
            s_aware = np.float32(0.0)
            for k in range(m):
                i = i0 + k
                lr = log_ref[i, j]
                if use_ref:
                    lr = lr + ref_weight * consider[j, k] * (lp - lr)
                    log_ref[i, j] = lr
                s_ref += exp32(lr)
                a = awareness[i, j]
                if use_aware:
                    a = a + (one - a) * gain - aware_decay * a
                    a = one if chosen[k] == j else min(max(a, zero), one)
                    awareness[i, j] = a
                s_aware += a
            ref_sum[b, j] = s_ref
            aware_sum[b, j] = s_aware
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
    in simulated units (times the regular price and the scale in the caller). Brand by brand
    within a block, as :func:`shop_kernel`.
    """
    n, J = awareness.shape
    use_stock, use_ref = flags[0] != 0, flags[1] != 0
    drift, habit_bonus, ref_gain, loss_aversion = coef[0], coef[1], coef[2], coef[3]
    inc_base, inc_value, inc_inventory = coef[4], coef[5], coef[6]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    z0 = inc_base - (inc_inventory if use_stock else zero)  # pantry at one week's stock
    for b in prange(actual.shape[0]):
        i0 = b * BLOCK
        m = min(n, i0 + BLOCK) - i0
        beta, hb, li = _tastes(i0, m, beta0, deal0, deal, habit, last, drift, habit_bonus)
        qty = np.empty(m, np.float32)
        total = np.zeros(m, np.float32)
        scale = np.empty(m, np.float32)
        attraction = np.empty((J, m), np.float32)
        stand_in = np.empty((J, m), np.float32)
        for k in range(m):
            qty[k] = np.float32(2.0) * rate[i0 + k]
        for j in range(J):
            lp = log_price[j]
            bj = base[j]
            not_shown = one - shown[j]
            gj = generic_attraction[j]
            for k in range(m):
                i = i0 + k
                price_term = exp32(-beta[k] * lp)
                v = bj + (hb[k] if li[k] == j else zero)
                if use_ref:
                    g = log_ref[i, j] - lp
                    v += ref_gain * (g if g > zero else loss_aversion * g)
                c = one - (one - awareness[i, j]) * not_shown
                a = c * exp32(v) * price_term
                attraction[j, k] = a
                stand_in[j, k] = gj * price_term
                total[k] += a
        for k in range(m):
            tot = total[k]
            scale[k] = _logistic(z0 + inc_value * log32(max(tot, np.float32(1e-30)))) * qty[k] / (one + tot)
        for j in range(J):
            s_actual = np.float32(0.0)
            s_generic = np.float32(0.0)
            for k in range(m):
                a = attraction[j, k]
                ag = stand_in[j, k]
                s_actual += scale[k] * a
                tot_gen = total[k] - a + ag
                trip_gen = _logistic(z0 + inc_value * log32(max(tot_gen, np.float32(1e-30))))
                s_generic += trip_gen * qty[k] * ag / (one + tot_gen)
            actual[b, j] = s_actual
            generic[b, j] = s_generic


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
