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
thread (it already runs one process per core). Numba is imported by this module;
:mod:`model.market` imports it only when ``kernel="numba"`` is asked for, so the NumPy path
runs where Numba is not installed.
"""

from __future__ import annotations

import math
import os
import sys
from types import SimpleNamespace

import numba
import numpy as np
from numba import njit, prange

from . import vectors
from .market import FESTIVAL_NO_DEAL_SALIENCE, PACK_WEEKS, UTILITY_CAP  # (market imports this module lazily)

# A fork-safe threading layer: the sweep engine forks worker processes, and a process that has
# run a parallel kernel on GNU OpenMP (numba's default on Linux wheels) cannot fork safely
# ("fork() called from a process already using GNU OpenMP" kills the workers). numba's own
# workqueue layer forks safely; it must not be entered from two threads of one process at once,
# which the sweep engine never does (one run per process; Dask workers have one thread each).
# NUMBA_THREADING_LAYER overrides the choice. It must be set before numba starts its threads.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

# 512-bit vectors where AGENCY_SIM_VECTOR_BITS=512 asks for them (model.vectors): before the
# first function below is decorated, which makes numba's code generator.
VECTOR_BITS_NOTICE = vectors.apply()
if VECTOR_BITS_NOTICE:
    print(f"agency-sim: {VECTOR_BITS_NOTICE}", file=sys.stderr, flush=True)

# Fast-math without reassociation: with it, LLVM may regroup sums in an order that depends on
# the order of Numba's intermediate code, which depends on what the process compiled before,
# so two compilations of the same source could differ in the last bit. Without reciprocal
# approximations and approximate functions ("arcp", "afn") too: with them a build for one CPU
# (AVX-512, or one without AVX2) divided by another reciprocal estimate than a build for another,
# so the numbers depended on the machine (tests/golden/test_cpu_targets.py). Their price was
# about 3% of a 2,000-consumer week.
FAST = {"nnan", "ninf", "nsz", "contract"}
BLOCK = 2048  # consumers per block: the unit of parallel work and of partial sums
# the largest utility a brand may have before exp (declared in model.market, whose NumPy path
# caps the same way), and the same bound on an attraction the kernel computes in two factors
ATTRACTION_CAP = np.float32(np.exp(np.float64(UTILITY_CAP)))

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
@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
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


@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
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


@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
def _logistic(z):
    return np.float32(1.0) / (np.float32(1.0) + exp32(-z))


@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
def _total(x):
    """Sum of a float32 array in float64, in an order fixed by the source: eight running sums
    over the positions mod 8, combined pairwise (the compiler may use vector registers for the
    eight, but, without reassociation, may not regroup them)."""
    m = x.shape[0]
    m8 = m - m % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for c in range(0, m8, 8):
        s0 += np.float64(x[c])
        s1 += np.float64(x[c + 1])
        s2 += np.float64(x[c + 2])
        s3 += np.float64(x[c + 3])
        s4 += np.float64(x[c + 4])
        s5 += np.float64(x[c + 5])
        s6 += np.float64(x[c + 6])
        s7 += np.float64(x[c + 7])
    for k in range(m8, m):
        s0 += np.float64(x[k])
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
def _tastes(i0, m, beta0, deal0, deal, habit, last, drift, habit_bonus):
    """This week's price sensitivity, habit bonus and last brand of a block's consumers."""
    beta = np.empty(m, np.float32)
    hb = np.empty(m, np.float32)
    li = np.empty(m, np.int32)
    b0 = beta0[i0 : i0 + m]
    e0 = deal0[i0 : i0 + m]
    dl = deal[i0 : i0 + m]
    hab = habit[i0 : i0 + m]
    la = last[i0 : i0 + m]
    for k in range(m):
        beta[k] = b0[k] * (np.float32(1.0) + drift * max(dl[k] - e0[k], np.float32(0.0)))
        hb[k] = habit_bonus * hab[k]
        li[k] = la[k]
    return beta, hb, li


@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
def _attractions(
    J, m, i0, awareness, log_ref, beta, hb, li, d_old, base, log_price, salience, shown, ref_gain, loss_aversion
):
    """Consideration and attraction of every brand for a block's consumers ((J, m) each), and
    each consumer's total attraction (length m).

    One simple loop per brand and quantity, each writing one array: the compiler vectorises
    loops like these (a loop writing several arrays it cannot prove distinct it leaves scalar).
    """
    one = np.float32(1.0)
    zero = np.float32(0.0)
    attraction = np.empty((J, m), np.float32)
    consider = np.empty((J, m), np.float32)
    for j in range(J):
        aw = awareness[j, i0 : i0 + m]
        lr = log_ref[j, i0 : i0 + m]
        con = consider[j]
        att = attraction[j]
        not_shown = one - shown[j]
        for k in range(m):
            con[k] = one - (one - aw[k]) * not_shown
        bj = base[j]
        lp = log_price[j]
        sal = salience[j]
        for k in range(m):
            g = lr[k] - lp
            v = (
                bj
                - beta[k] * lp
                + d_old[k] * sal
                + (hb[k] if li[k] == j else zero)
                + ref_gain * (g if g > zero else loss_aversion * g)
            )
            att[k] = con[k] * exp32(min(v, UTILITY_CAP))
    total = np.zeros(m, np.float32)
    for j in range(J):
        att = attraction[j]
        for k in range(m):
            total[k] += att[k]
    return attraction, consider, total


@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
def _shop_kernel_block(
    b,
    beta0,
    deal0,
    deal,
    rate,
    inventory,
    last,
    habit,
    awareness,
    log_ref,
    u_trip,
    u_brand,
    base,
    log_price,
    salience,
    shown,
    discount,
    depth,
    aware_gain,
    flags,
    coef,
    units,
    buyers,
    scalars,
    aware_sum,
    ref_sum,
):
    """Block ``b`` of :func:`shop_kernel`."""
    J, n = awareness.shape
    use_stock, use_ref, use_deal, use_aware = flags[0] != 0, flags[1] != 0, flags[2] != 0, flags[3] != 0
    drift, habit_bonus, ref_gain, loss_aversion = coef[0], coef[1], coef[2], coef[3]
    inc_base, inc_value, inc_inventory, festival = coef[4], coef[5], coef[6], coef[7]
    flexibility, stockpile_gain, habit_keep, ref_weight = coef[8], coef[9], coef[10], coef[11]
    deal_learning, deal_decay, aware_decay, surplus_price = coef[12], coef[13], coef[14], coef[15]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    gain_coef = ref_gain if use_ref else zero
    stock_gain = stockpile_gain if use_stock else zero
    inc_inv = inc_inventory if use_stock else zero
    i0 = b * BLOCK
    m = min(n, i0 + BLOCK) - i0
    beta, hb, li = _tastes(i0, m, beta0, deal0, deal, habit, last, drift, habit_bonus)
    for j in range(J):
        units[b, j] = 0.0
        buyers[b, j] = 0.0
    rt = rate[i0 : i0 + m]
    inv = inventory[i0 : i0 + m]
    dl = deal[i0 : i0 + m]
    d_old = dl.copy()
    # 1. consumption (a full pantry is used faster: category expansion)
    used = rt.copy()
    if use_stock:
        for k in range(m):
            r = rt[k]
            x = inv[k]
            used[k] = min(r * (one + flexibility * max(x / r - one, zero)), x)
        for k in range(m):
            inv[k] = inv[k] - used[k]
    consumption = _total(used)
    # 2. consideration and attraction of every brand
    attraction, consider, total = _attractions(
        J, m, i0, awareness, log_ref, beta, hb, li, d_old, base, log_price, salience, shown, gain_coef, loss_aversion
    )
    # 3. incidence and the brand drawn (the first whose cumulative attraction reaches the draw)
    ut = u_trip[i0 : i0 + m]
    ub = u_brand[i0 : i0 + m]
    trip = np.empty(m, np.float32)
    for k in range(m):
        z = inc_base + inc_value * log32(max(total[k], np.float32(1e-30))) + festival - inc_inv * (inv[k] / rt[k])
        trip[k] = _logistic(z)
    welfare = np.empty(m, np.float32)
    for k in range(m):
        welfare[k] = log32(one + total[k]) * surplus_price / max(beta[k], np.float32(1e-3)) * trip[k]
    surplus = _total(welfare)
    target = np.empty(m, np.float32)
    for k in range(m):
        target[k] = ub[k] * (one + total[k])
    shopping = ut < trip
    chosen = np.full(m, J, np.int32)
    cum = np.zeros(m, np.float32)
    for j in range(J):
        att = attraction[j]
        for k in range(m):
            cum[k] += att[k]
            chosen[k] = j if (shopping[k] and chosen[k] == J and cum[k] >= target[k]) else chosen[k]
    # 4. the purchases: quantity, pantry, habit, last brand
    trips = 0.0
    hab = habit[i0 : i0 + m]
    la = last[i0 : i0 + m]
    for k in range(m):
        pick = chosen[k]
        if pick < J:
            r = rt[k]
            qty = np.float32(PACK_WEEKS) * r * (one + stock_gain * d_old[k] * discount[pick])
            if use_stock:
                inv[k] += qty
            units[b, pick] += qty
            buyers[b, pick] += 1.0
            trips += 1.0
            la[k] = pick
            hab[k] = one - habit_keep * depth[pick]
    # 5. deal-proneness, reference prices and awareness
    if use_deal:
        e0 = deal0[i0 : i0 + m]
        seen = np.zeros(m, np.float32)
        considered = np.zeros(m, np.float32)
        for j in range(J):
            con = consider[j]
            dj = depth[j]
            for k in range(m):
                seen[k] += con[k] * dj
            for k in range(m):
                considered[k] += con[k]
        for k in range(m):
            d = d_old[k]
            exposure = seen[k] / max(considered[k], np.float32(1e-6))
            d = d + deal_learning * exposure * (one - d) - deal_decay * (d - e0[k])
            dl[k] = min(max(d, zero), one)
    deal_total = _total(dl)
    ex = np.empty(m, np.float32)
    for j in range(J):
        lr = log_ref[j, i0 : i0 + m]
        if use_ref:
            con = consider[j]
            lp = log_price[j]
            for k in range(m):
                lr[k] = lr[k] + ref_weight * con[k] * (lp - lr[k])
        for k in range(m):
            ex[k] = exp32(lr[k])
        ref_sum[b, j] = _total(ex)
        aw = awareness[j, i0 : i0 + m]
        if use_aware:
            gain = aware_gain[j]
            for k in range(m):
                a = aw[k]
                a = a + (one - a) * gain - aware_decay * a
                aw[k] = one if chosen[k] == j else min(max(a, zero), one)
        aware_sum[b, j] = _total(aw)
    scalars[b, S_CONSUMPTION] = consumption
    scalars[b, S_TRIPS] = trips
    scalars[b, S_SURPLUS] = surplus
    scalars[b, S_DEAL] = deal_total


@njit(parallel=True, cache=True, fastmath=FAST, error_model="numpy")
def shop_kernel(
    beta0,
    deal0,
    deal,
    rate,
    inventory,
    last,
    habit,
    awareness,
    log_ref,
    u_trip,
    u_brand,
    base,
    log_price,
    salience,
    shown,
    discount,
    depth,
    aware_gain,
    flags,
    coef,
    units,
    buyers,
    scalars,
    aware_sum,
    ref_sum,
):
    """One week of shopping for every consumer, in place on the state arrays.

    ``awareness`` and ``log_ref`` are brand-major, ``(n_brands, n_consumers)``: a brand's row
    of a block of consumers is contiguous.
    Per-brand inputs (float32, length J): ``base`` = quality + visibility utility,
    ``log_price`` paid, ``salience`` = promo_salience x deal salience (0 where none),
    ``shown`` = visibility this week, ``discount``, ``depth`` = min(discount / deep, 1),
    ``aware_gain`` = reach + exposure share x visibility.
    ``flags`` (int64): use_stockpiling, use_reference_prices, use_deal_learning, use_awareness.
    ``coef`` (float32): see :func:`model.market.Market._build_coefficients`.
    Outputs, one row per block (float64): ``units`` and ``buyers`` (blocks x J), ``scalars``
    (blocks x N_SCALARS), ``aware_sum`` and ``ref_sum`` (blocks x J: sums of the new awareness
    and of exp(new log reference price), for the reporters).

    Within a block the work goes brand by brand over the block's consumers, in loops the
    compiler vectorises; only the purchase itself (a scatter into the brand's sales) goes
    consumer by consumer.
    """
    for b in prange(units.shape[0]):
        _shop_kernel_block(
            b,
            beta0,
            deal0,
            deal,
            rate,
            inventory,
            last,
            habit,
            awareness,
            log_ref,
            u_trip,
            u_brand,
            base,
            log_price,
            salience,
            shown,
            discount,
            depth,
            aware_gain,
            flags,
            coef,
            units,
            buyers,
            scalars,
            aware_sum,
            ref_sum,
        )


@njit(cache=True, fastmath=FAST, error_model="numpy")
def shop_kernel_serial(
    beta0,
    deal0,
    deal,
    rate,
    inventory,
    last,
    habit,
    awareness,
    log_ref,
    u_trip,
    u_brand,
    base,
    log_price,
    salience,
    shown,
    discount,
    depth,
    aware_gain,
    flags,
    coef,
    units,
    buyers,
    scalars,
    aware_sum,
    ref_sum,
):
    """:func:`shop_kernel` on the calling thread alone: the same bits, without the cost of a
    parallel launch (about 0.2 ms a call here, more than a small market's whole pass)."""
    for b in range(units.shape[0]):
        _shop_kernel_block(
            b,
            beta0,
            deal0,
            deal,
            rate,
            inventory,
            last,
            habit,
            awareness,
            log_ref,
            u_trip,
            u_brand,
            base,
            log_price,
            salience,
            shown,
            discount,
            depth,
            aware_gain,
            flags,
            coef,
            units,
            buyers,
            scalars,
            aware_sum,
            ref_sum,
        )


@njit(cache=True, inline="always", fastmath=FAST, error_model="numpy")
def _brand_value_kernel_block(
    b,
    beta0,
    deal0,
    deal,
    rate,
    last,
    habit,
    awareness,
    log_ref,
    base,
    log_price,
    shown,
    generic_attraction,
    flags,
    coef,
    actual,
    generic,
):
    """Block ``b`` of :func:`brand_value_kernel`."""
    J, n = awareness.shape
    use_stock, use_ref = flags[0] != 0, flags[1] != 0
    drift, habit_bonus, ref_gain, loss_aversion = coef[0], coef[1], coef[2], coef[3]
    inc_base, inc_value, inc_inventory = coef[4], coef[5], coef[6]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    gain_coef = ref_gain if use_ref else zero
    z0 = inc_base - (inc_inventory if use_stock else zero)  # pantry at one week's stock
    no_deal = np.zeros(J, np.float32)
    i0 = b * BLOCK
    m = min(n, i0 + BLOCK) - i0
    beta, hb, li = _tastes(i0, m, beta0, deal0, deal, habit, last, drift, habit_bonus)
    attraction, _, total = _attractions(
        J,
        m,
        i0,
        awareness,
        log_ref,
        beta,
        hb,
        li,
        np.zeros(m, np.float32),
        base,
        log_price,
        no_deal,
        shown,
        gain_coef,
        loss_aversion,
    )
    # expected units bought of each brand: trip chance x quantity x attraction / (1 + total),
    # with the logistic's division and this one taken as one (a division is the dearest step)
    qty = np.empty(m, np.float32)
    scale = np.empty(m, np.float32)
    rt = rate[i0 : i0 + m]
    for k in range(m):
        qty[k] = np.float32(PACK_WEEKS) * rt[k]
    for k in range(m):
        t = total[k]
        scale[k] = qty[k] / ((one + exp32(-(z0 + inc_value * log32(max(t, np.float32(1e-30)))))) * (one + t))
    sold = np.empty(m, np.float32)
    ag = np.empty(m, np.float32)
    tg = np.empty(m, np.float32)
    for j in range(J):
        att = attraction[j]
        lp = log_price[j]
        gj = generic_attraction[j]
        for k in range(m):
            sold[k] = scale[k] * att[k]
        actual[b, j] = _total(sold)
        # the generic stand-in in the brand's place: its attraction and the total it makes
        for k in range(m):
            ag[k] = min(gj * exp32(min(-beta[k] * lp, UTILITY_CAP)), ATTRACTION_CAP)
        for k in range(m):
            tg[k] = total[k] - att[k] + ag[k]
        for k in range(m):
            t = tg[k]
            sold[k] = qty[k] * ag[k] / ((one + exp32(-(z0 + inc_value * log32(max(t, np.float32(1e-30)))))) * (one + t))
        generic[b, j] = _total(sold)


@njit(parallel=True, cache=True, fastmath=FAST, error_model="numpy")
def brand_value_kernel(
    beta0,
    deal0,
    deal,
    rate,
    last,
    habit,
    awareness,
    log_ref,
    base,
    log_price,
    shown,
    generic_attraction,
    flags,
    coef,
    actual,
    generic,
):
    """Expected weekly units per brand at the regular offer, and for the generic stand-in.

    ``base`` = quality + visibility utility at organic visibility ``shown``;
    ``generic_attraction`` = baseline visibility x exp(generic quality + visibility utility),
    per brand, before the price term. Outputs ``actual`` and ``generic`` (blocks x J, float64)
    in simulated units (times the regular price and the scale in the caller). Brand-major
    state and brand-by-brand loops, as :func:`shop_kernel`.
    """
    for b in prange(actual.shape[0]):
        _brand_value_kernel_block(
            b,
            beta0,
            deal0,
            deal,
            rate,
            last,
            habit,
            awareness,
            log_ref,
            base,
            log_price,
            shown,
            generic_attraction,
            flags,
            coef,
            actual,
            generic,
        )


@njit(cache=True, fastmath=FAST, error_model="numpy")
def brand_value_kernel_serial(
    beta0,
    deal0,
    deal,
    rate,
    last,
    habit,
    awareness,
    log_ref,
    base,
    log_price,
    shown,
    generic_attraction,
    flags,
    coef,
    actual,
    generic,
):
    """:func:`brand_value_kernel` on the calling thread alone: the same bits, without the cost of a
    parallel launch (about 0.2 ms a call here, more than a small market's whole pass)."""
    for b in range(actual.shape[0]):
        _brand_value_kernel_block(
            b,
            beta0,
            deal0,
            deal,
            rate,
            last,
            habit,
            awareness,
            log_ref,
            base,
            log_price,
            shown,
            generic_attraction,
            flags,
            coef,
            actual,
            generic,
        )


@njit(cache=True, error_model="numpy")
def shop_inputs(
    quality,
    visibility,
    price,
    discount,
    reach,
    visibility_utility,
    price_unit,
    deep_discount,
    promo_salience,
    festival,
    exposure_share,
    use_awareness,
    out,
):
    """The per-brand inputs of :func:`shop_kernel`, as float32 rows of ``out`` (7 x J): base,
    log price, salience, shown, discount, depth, awareness gain, from the offer's float64
    arrays (in float64 and IEEE arithmetic, then rounded once, as the NumPy path does; one call
    instead of a dozen small array operations)."""
    for j in range(quality.shape[0]):
        d = discount[j]
        depth = min(d / deep_discount, 1.0)
        out[0, j] = quality[j] + visibility_utility * visibility[j]
        out[1, j] = math.log(price[j] / price_unit)
        # on deal: the deal's salience; in a festival week no deal is a letdown
        out[2, j] = promo_salience * (depth if d > 0 else (FESTIVAL_NO_DEAL_SALIENCE if festival else 0.0))
        out[3, j] = visibility[j]
        out[4, j] = d
        out[5, j] = depth
        out[6, j] = reach[j] + exposure_share * visibility[j] if use_awareness else 0.0


@njit(cache=True, error_model="numpy")
def brand_value_inputs(
    quality,
    organic_visibility,
    regular_price,
    generic_quality,
    visibility_utility,
    price_unit,
    baseline_visibility,
    out,
):
    """The per-brand inputs of :func:`brand_value_kernel`, as float32 rows of ``out`` (4 x J):
    base, log regular price, shown, and the generic stand-in's attraction before its price
    term (as :func:`shop_inputs`, in float64, rounded once)."""
    for j in range(quality.shape[0]):
        out[0, j] = quality[j] + visibility_utility * organic_visibility[j]
        out[1, j] = math.log(regular_price[j] / price_unit)
        out[2, j] = organic_visibility[j]
        out[3, j] = baseline_visibility * math.exp(generic_quality[j] + visibility_utility * baseline_visibility)


@njit(cache=True, error_model="numpy")
def week_sales(units, buyers, price, scale, out):
    """A week's sales from the simulated totals of :func:`shop_kernel` (length J each), as rows of
    ``out`` (3 x J, float64): units x scale, those units x price, buyers x scale (IEEE products,
    the same as NumPy's; one call instead of three array operations)."""
    for j in range(units.shape[0]):
        u = units[j] * scale
        out[0, j] = u
        out[1, j] = u * price[j]
        out[2, j] = buyers[j] * scale


@njit(cache=True, error_model="numpy")
def value_premium(actual, generic, regular_price, scale, out):
    """Brand value from the totals of :func:`brand_value_kernel` (length J each) into ``out``:
    (actual - generic) x regular price x scale, in this order (IEEE, as NumPy's expression)."""
    for j in range(actual.shape[0]):
        out[j] = (actual[j] - generic[j]) * regular_price[j] * scale


@njit(cache=True, fastmath=FAST, error_model="numpy")
def row_sums(x, out, take_exp):
    """Per-block sums of each row of a brand-major (J x n) float32 array, or of exp() of it
    (blocks x J, float64). Only for state set outside :func:`shop_kernel` (construction,
    reference prices), so one thread is enough."""
    J, n = x.shape
    for b in range(out.shape[0]):
        i0 = b * BLOCK
        m = min(n, i0 + BLOCK) - i0
        ex = np.empty(m, np.float32)
        for j in range(J):
            row = x[j, i0 : i0 + m]
            if take_exp:
                for k in range(m):
                    ex[k] = exp32(row[k])
                out[b, j] = _total(ex)
            else:
                out[b, j] = _total(row)


PARALLEL = SimpleNamespace(shop=shop_kernel, brand_value=brand_value_kernel)
SERIAL = SimpleNamespace(shop=shop_kernel_serial, brand_value=brand_value_kernel_serial)
PARALLEL_FROM = 16 * BLOCK  # consumers: below this a parallel launch costs more than it saves


def entry_point(kernel, args: tuple):
    """The compiled code that ``kernel`` runs for ``args`` (which it has run for already), to be
    called with arguments of exactly these types, or ``kernel`` itself where there is none to find.

    A call through the dispatcher first works out the Numba type of every argument to pick the
    compiled version; the market calls each kernel with the same arrays every week, so it finds
    that version once here and calls it directly. Only for arguments whose types cannot change:
    the compiled code does not check them."""
    try:
        from numba.core.typing.typeof import Purpose, typeof

        found = kernel.overloads.get(tuple(typeof(a, Purpose.argument) for a in args))
        return kernel if found is None else found.entry_point
    except Exception:  # a Numba without these internals, or with the JIT disabled
        return kernel


def kernels(n: int) -> SimpleNamespace:
    """The kernels for a market of ``n`` consumers: the parallel ones where there are many
    blocks and several threads to share them, else their serial twins (a parallel launch costs
    more than a 2,000-consumer market's whole pass, and at 10,000 consumers two threads ran
    slower than one). Both give the same bits."""
    return PARALLEL if n >= PARALLEL_FROM and numba.get_num_threads() > 1 else SERIAL
