"""The week's bookkeeping compiled: the model's per-week arithmetic on arrays over brands
(everything but the consumers' market, which is :mod:`model.kernel`), a few calls a week.

A week's bookkeeping is a few dozen NumPy operations on arrays of a dozen brands; each costs
about a microsecond of call overhead for nanoseconds of arithmetic, so at the sizes researchers
sweep they cost as much as the consumers' shopping. Here the same operations run element by
element, about seven compiled calls a week: the ranking (:func:`rank_base` and
:func:`rank_shares`, around NumPy's power), the tactics (:func:`plan_tactics`), the offer
(:func:`offer_inputs` and :func:`offer_visibility`, around NumPy's exponential), settling
(:func:`settle_week`: the money, the ledger's booking, the agencies' books, velocity and
image, the running terms' books) and the records' week (:func:`record_week`); and, when
stores change hands, the booking plan's accounts (:func:`booking_accounts`), and the brands'
:func:`quality` where brand value is measured. They are written in the order of the NumPy
lines they replace (``AgencyMarket._settle_numpy``, ``Ledger.book`` and the others each
names, which stay the reference) and compiled without fast-math, so every operation rounds as
NumPy's does and the numbers are the same bits (tests/test_week_kernel.py runs whole models
both ways and compares every table). Sums are NumPy's pairwise sum (:func:`array_sum`).
Exponentials and powers stay in NumPy: its vectorised ``exp`` and ``power`` may round
differently from the C library's that compiled code calls. This module is imported where the
market's kernel is compiled (numba importable); elsewhere the NumPy lines run.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .agents import AgencyBooks
from .kernel import entry_point
from .policies import PLAYBOOK
from .records import STORED_COLUMNS

# rows of the array settle_money fills (each a length-n_brands array), and the row settle_week
# adds: each brand's net money of the week (its account's change)
FEE, COMMISSION, BONUS, LABOUR, INCOME, PROFIT, PAID_TO_AGENCY, AGENCY_LABOUR, BRAND_PROFIT = range(9)
N_ROWS = 9
# slots of its coefficients
C_EFFORT_COST, C_SERVICE_COST, C_SERVICE_OFFSET, C_WEEKS_PER_MONTH = range(4)


@njit(inline="always")
def _maximum(a, b):
    """``np.maximum`` of two floats: the first if it is larger or NaN, else the second (so on a
    tie, as between -0.0 and 0.0, the second, as NumPy's)."""
    return a if (a > b or a != a) else b


@njit(inline="always")
def _minimum(a, b):
    """``np.minimum`` of two floats: the first if it is smaller or NaN, else the second."""
    return a if (a < b or a != a) else b


@njit(cache=True, error_model="numpy", boundscheck=True)  # (a dozen brands: checks cost nothing)
def settle_money(
    gmv,
    units,
    brand_effort,
    ops_effort,
    strategy,
    service_skill,
    unit_cost,
    paid_traffic,
    base_fee,
    commission_rate,
    brand_bonus_rate,
    measure_start,
    measure,
    value_base,
    run,
    layout,
    take_rate,
    coef,
    money,
    amounts,
):
    """The week's payments and labour of every store into ``money`` (rows above) and the
    ledger's amounts into ``amounts`` in the order of the week's booking plan; nothing else is
    written (the ledger checks the amounts before anything is booked). ``layout``: 0 an agency
    runs every store, 1 some, 2 none (the plans of ``AgencyMarket._booking_plan``)."""
    J = len(gmv)
    effort_cost, service_cost, offset = coef[C_EFFORT_COST], coef[C_SERVICE_COST], coef[C_SERVICE_OFFSET]
    for j in range(J):
        labour_units = brand_effort[j] + ops_effort[strategy[j]]
        labour = effort_cost * labour_units + service_cost * units[j] * (offset - service_skill[j])
        fee = base_fee[j] / coef[C_WEEKS_PER_MONTH]
        commission = commission_rate[j] * gmv[j]
        rise = _maximum(measure[j] - measure_start[j], 0.0) * _maximum(value_base[j], 0.0)
        bonus = brand_bonus_rate[j] * rise
        income = fee + commission + bonus
        on = 1.0 if run[j] else 0.0
        money[FEE, j] = fee
        money[COMMISSION, j] = commission
        money[BONUS, j] = bonus
        money[LABOUR, j] = labour
        money[INCOME, j] = income
        money[PROFIT, j] = income - labour
        money[PAID_TO_AGENCY, j] = income * on
        money[AGENCY_LABOUR, j] = labour * on
        amounts[j] = gmv[j]
        amounts[J + j] = units[j] * unit_cost[j]
        amounts[2 * J + j] = take_rate * gmv[j]
        amounts[3 * J + j] = paid_traffic[j]
    at = 4 * J
    if layout != 2:  # fee, commission, bonus and labour of the stores an agency runs
        for row in (FEE, COMMISSION, BONUS, LABOUR):
            for j in range(J):
                if run[j]:
                    amounts[at] = money[row, j]
                    at += 1
    if layout != 0:  # the labour of in-house stores
        for j in range(J):
            if not run[j]:
                amounts[at] = money[LABOUR, j]
                at += 1


# rows of the agencies' books (model.agents.AgencyBooks.table) and slots of the image's coefficients
B_PROFIT, B_INCOME, B_GMV, B_WEEKS, B_PERIOD_PROFIT, B_PERIOD_WEEKS = (
    AgencyBooks.ROWS.index(name) for name in ("profit", "income", "gmv", "weeks", "period_profit", "period_weeks")
)
I_MEMORY, I_NEW, I_RECOVERY, I_EROSION, I_REVERSION = range(5)  # (the velocity's memory and the week's weight first)
I_EROSION_FROM, I_EROSION_FULL, I_EROSION_MAX, I_FLOOR, I_CEILING = range(5, 10)


@njit(cache=True, error_model="numpy", boundscheck=True)
def book_and_image(
    run, money, gmv, units, velocity, books, use_goodwill, image, base_image, discount, effort, brand_skill, coef
):
    """After the ledger booked the week: each brand's sales velocity, the week into the
    agencies' books of the stores they run (``AgencyBooks.book_week``, the reference: profit,
    income and GMV, and a week), then each brand's image after the week
    (:func:`model.agents.image_after`, the reference) if goodwill is on."""
    for j in range(len(gmv)):
        velocity[j] = coef[I_MEMORY] * velocity[j] + coef[I_NEW] * units[j]
        on = 1.0 if run[j] else 0.0
        booked = money[PROFIT, j] * on
        books[B_PROFIT, j] += booked
        books[B_PERIOD_PROFIT, j] += booked
        books[B_INCOME, j] += money[INCOME, j] * on
        books[B_GMV, j] += gmv[j] * on
        books[B_WEEKS, j] += on
        books[B_PERIOD_WEEKS, j] += on
        if use_goodwill:
            d = discount[j]
            depth = _minimum(d / coef[I_EROSION_FULL], coef[I_EROSION_MAX]) if d >= coef[I_EROSION_FROM] else 0.0
            old = image[j]
            new = old + (
                coef[I_RECOVERY] * effort[j] * brand_skill[j] * (coef[I_CEILING] - old)
                - coef[I_EROSION] * depth * (old - coef[I_FLOOR])
                - coef[I_REVERSION] * (old - base_image[j])
            )
            image[j] = _minimum(_maximum(new, coef[I_FLOOR]), coef[I_CEILING])


@njit(cache=True, error_model="numpy", boundscheck=True)  # (a dozen brands: checks cost nothing)
def book(targets, sources, amounts, balances, week):
    """The ledger's booking of one plan (``Ledger.book``): each account's net change, as two
    ``np.bincount``s (each adds its rows in order, from zero) and their difference, added to the
    balances and to the week's changes. Books nothing and returns False if an amount is not
    finite or an account index out of range (the caller's NumPy lines then raise)."""
    for a in amounts:
        if not np.isfinite(a):
            return False
    n = len(balances)
    for i in range(len(amounts)):  # (an account out of range: the NumPy lines refuse it, and say so)
        if not (0 <= targets[i] < n and 0 <= sources[i] < n):
            return False
    into = np.zeros(n)
    out = np.zeros(n)
    for i in range(len(amounts)):
        into[targets[i]] += amounts[i]
    for i in range(len(amounts)):
        out[sources[i]] += amounts[i]
    for k in range(n):
        change = into[k] - out[k]
        balances[k] += change
        week[k] += change
    return True


@njit(cache=True, error_model="numpy", boundscheck=True)
def booking_accounts(
    agency, brand_accounts, agency_accounts, consumers, suppliers, platform, labour, sources, targets
):  # fmt: skip
    """The source and target accounts of every row of a week's booking plan while ``agency``
    runs the stores (-1: in-house), in the plan's order (``AgencyMarket._booking_plan``'s
    transfers, the reference): every brand's sales, cost of goods, take rate and paid traffic;
    the fee, commission, bonus and labour of the stores an agency runs; the in-house labour."""
    J = len(agency)
    at = 0
    for j in range(J):
        sources[at], targets[at] = consumers, brand_accounts[j]
        at += 1
    for target in (suppliers, platform, platform):
        for j in range(J):
            sources[at], targets[at] = brand_accounts[j], target
            at += 1
    for _ in range(3):  # fee, commission, bonus
        for j in range(J):
            if agency[j] >= 0:
                sources[at], targets[at] = brand_accounts[j], agency_accounts[agency[j]]
                at += 1
    for j in range(J):
        if agency[j] >= 0:
            sources[at], targets[at] = agency_accounts[agency[j]], labour
            at += 1
    for j in range(J):
        if agency[j] < 0:
            sources[at], targets[at] = brand_accounts[j], labour
            at += 1


@njit(cache=True, error_model="numpy", boundscheck=True)
def settle_week(
    gmv,
    units,
    brand_effort,
    ops_effort,
    strategy,
    service_skill,
    unit_cost,
    paid_traffic,
    base_fee,
    commission_rate,
    brand_bonus_rate,
    measure_start,
    measure,
    value_base,
    run,
    layout,
    take_rate,
    money_coef,
    targets,
    sources,
    balances,
    week,
    velocity,
    books,
    use_goodwill,
    image,
    base_image,
    discount,
    brand_skill,
    after_coef,
    term_gmv,
    term_paid,
    term_weeks,
    brand_accounts,
    agency_accounts,
    money,
    amounts,
    agency_profit,
):
    """The whole of settling a week in one call (``AgencyMarket._settle_numpy``, the reference):
    :func:`settle_money`, the ledger's :func:`book` of the amounts on the plan's ``targets`` and
    ``sources``, :func:`book_and_image`, the running terms' books (``ContractMarket.book_week``'s
    arrays: GMV, what the brand paid and a week) and the week's change of the brands' accounts
    (row ``BRAND_PROFIT`` of ``money``) and the agencies' (``agency_profit``). The caller books on
    ``Ledger.booking_arrays`` (``balances``, ``week``), hands the outcome to
    ``Ledger.booked_by_call`` and calls ``ContractMarket.week_booked``. Returns False, having
    changed nothing but ``money`` and ``amounts``, where the ledger would refuse the amounts
    (``booked_by_call`` then raises, naming the kind)."""
    settle_money(
        gmv, units, brand_effort, ops_effort, strategy, service_skill, unit_cost, paid_traffic, base_fee,
        commission_rate, brand_bonus_rate, measure_start, measure, value_base, run, layout, take_rate, money_coef,
        money, amounts,
    )  # fmt: skip
    if not book(targets, sources, amounts, balances, week):
        return False
    book_and_image(
        run, money, gmv, units, velocity, books, use_goodwill, image, base_image, discount, brand_effort, brand_skill,
        after_coef,
    )  # fmt: skip
    for j in range(len(gmv)):
        term_gmv[j] += gmv[j]
        term_paid[j] += money[INCOME, j]
        term_weeks[j] += 1
        money[BRAND_PROFIT, j] = week[brand_accounts[j]]
    for k in range(len(agency_accounts)):
        agency_profit[k] = week[agency_accounts[k]]
    return True


# the playbook's numbers plan_tactics reads, a row per tactic and a column per strategy (as
# model.policies.PLAYBOOK), and each promotion's period
P_FESTIVAL_DISCOUNT, P_DISCOUNT, P_BRAND_EFFORT, P_PAID_SHARE = range(4)
PLAYBOOK_TABLE = np.array(
    [PLAYBOOK[k] for k in ("festival_discount", "discount", "brand_effort", "paid_traffic_share")]
)
PROMO_EVERY = PLAYBOOK["promo_every"]


@njit(cache=True, error_model="numpy", boundscheck=True)
def plan_tactics(strategy, week, festival, phase, promo_every, playbook, velocity, regular_price, run, watched, out):
    """Each store's discount, brand effort and paid-traffic budget this week into ``out`` (rows
    0, 1, 2; :func:`model.policies.week_tactics`, the reference) and, for the stores an agency
    runs, a week more of watching its strategy (``watched``, brands x strategies)."""
    for j in range(len(strategy)):
        k = strategy[j]
        if run[j]:
            watched[j, k] += 1
        if festival:
            discount = playbook[P_FESTIVAL_DISCOUNT, k]
        else:
            every = promo_every[k]
            on = every > 0 and (week + phase[j]) % max(every, 1) == 0
            discount = playbook[P_DISCOUNT, k] if on else 0.0
        out[0, j] = discount
        out[1, j] = playbook[P_BRAND_EFFORT, k]
        out[2, j] = playbook[P_PAID_SHARE, k] * velocity[j] * regular_price[j]


# slots of offer_inputs' coefficients
O_RETENTION, O_GAIN, O_GOODWILL_UTILITY, O_SERVICE_UTILITY, O_REACH, O_CLICK_PRICE, O_SKILL_BASE, O_SHOPPERS = range(8)
# rows of its output (VISIBILITY: the paid clicks' exponent until offer_visibility)
REGULAR, PRICE, QUALITY, REACH, VISIBILITY = range(5)


@njit(cache=True, error_model="numpy", boundscheck=True)
def offer_inputs(
    regular_price,
    price_multiplier,
    discount,
    brand_effort,
    paid_traffic,
    traffic_price,
    brand_skill,
    ops_skill,
    service_skill,
    constant,
    image,
    goodwill,
    use_goodwill,
    has_multiplier,
    has_click_price,
    coef,
    out,
):
    """Goodwill taking in this week's brand effort (in place; :func:`model.agents.goodwill_after`)
    and the offer's arrays before the platform's exponential (``AgencyMarket.make_offer``, the
    reference): regular price, price, quality, reach and the exponent of the paid clicks'
    reach (in row ``VISIBILITY``, for :func:`offer_visibility`), rows of ``out``. The flags:
    goodwill on, a price multiplier given (else the dummy ``price_multiplier`` is not read), a
    click price given (likewise ``traffic_price``)."""
    for j in range(len(regular_price)):
        if use_goodwill:
            goodwill[j] = coef[O_RETENTION] * goodwill[j] + coef[O_GAIN] * brand_effort[j] * brand_skill[j]
            quality = constant[j] + image[j] + coef[O_GOODWILL_UTILITY] * goodwill[j]
        else:
            quality = constant[j] + image[j] + 0.0
        regular = regular_price[j] * price_multiplier[j] if has_multiplier else regular_price[j]
        out[REGULAR, j] = regular
        out[PRICE, j] = regular * (1 - discount[j])
        out[QUALITY, j] = quality + coef[O_SERVICE_UTILITY] * service_skill[j]
        out[REACH, j] = coef[O_REACH] * brand_effort[j] * brand_skill[j]
        click_price = coef[O_CLICK_PRICE] * traffic_price[j] if has_click_price else coef[O_CLICK_PRICE]
        clicks = paid_traffic[j] / click_price
        out[VISIBILITY, j] = -clicks * (coef[O_SKILL_BASE] + ops_skill[j]) / coef[O_SHOPPERS]


@njit(cache=True, error_model="numpy", boundscheck=True)
def offer_visibility(organic, paid_traffic_on, max_visibility, out):
    """Each brand's visibility this week into row ``VISIBILITY`` of ``out``, which holds the
    exponential of its paid clicks' exponent (NumPy took it): the reach its clicks buy
    (``Platform.reach_of_clicks``, none without paid traffic) and ``Platform.visibility``, the
    reference lines (the model calls it only for a platform that keeps them)."""
    for j in range(len(organic)):
        paid = _minimum(1 - out[VISIBILITY, j], max_visibility) if paid_traffic_on else 0.0
        out[VISIBILITY, j] = 1 - (1 - organic[j]) * (1 - paid)


@njit(cache=True, error_model="numpy", boundscheck=True)
def quality(constant, image, goodwill, use_goodwill, goodwill_utility, service_utility, service_skill, out):
    """Each brand's utility before price into ``out`` (``AgencyMarket.quality``, the reference)."""
    for j in range(len(constant)):
        from_goodwill = goodwill_utility * goodwill[j] if use_goodwill else 0.0
        out[j] = constant[j] + image[j] + from_goodwill + service_utility * service_skill[j]


@njit(inline="always")
def _pairwise_leaf(a, lo, n):
    """NumPy's pairwise sum of ``a[lo:lo + n]`` for ``n`` up to 128: below eight values one after
    another, else eight interleaved sums combined in pairs, then the rest one by one."""
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        k = lo + i
        r0 += a[k]
        r1 += a[k + 1]
        r2 += a[k + 2]
        r3 += a[k + 3]
        r4 += a[k + 4]
        r5 += a[k + 5]
        r6 += a[k + 6]
        r7 += a[k + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for k in range(lo + i, lo + n):
        total += a[k]
    return total


@njit(cache=True, error_model="numpy")
def _pairwise(a, lo, n):
    """NumPy's pairwise sum of ``a[lo:lo + n]`` (float64): above 128 values the sum of its two
    halves' (cut at a multiple of eight), each summed so in turn. NumPy recurses; here the same
    tree is walked with a stack (a cached recursive function crashed Numba when loaded)."""
    if n <= 128:
        return _pairwise_leaf(a, lo, n)
    start, size, stage = np.empty(64, np.int64), np.empty(64, np.int64), np.zeros(64, np.int64)
    left = np.empty(64)  # each open node's left half's sum
    d, start[0], size[0] = 0, lo, n
    value = 0.0  # the sum of the node closed last
    while d >= 0:
        m = size[d]
        if m <= 128:  # a leaf: its sum goes to its parent
            value = _pairwise_leaf(a, start[d], m)
            d -= 1
        elif stage[d] == 2:  # both halves summed
            value = left[d] + value
            d -= 1
        else:  # open the left half (stage 0), then the right (stage 1, the left's sum in value)
            half = m // 2
            half -= half % 8
            if stage[d] == 1:
                left[d] = value
            stage[d] += 1
            start[d + 1] = start[d] + (half if stage[d] == 2 else 0)
            size[d + 1] = m - half if stage[d] == 2 else half
            stage[d + 1] = 0
            d += 1
    return value


@njit(cache=True, error_model="numpy")
def array_sum(a):
    """``float(np.sum(a))`` of a contiguous float64 array, the same bits (NumPy's reduction starts
    from 0)."""
    return 0.0 + _pairwise(a, 0, len(a))


@njit(cache=True, error_model="numpy", boundscheck=True)
def rank_base(velocity, floor, out):
    """What ``Platform.rank`` (the reference) raises to the power of the rank feedback, into
    ``out``: each brand's velocity, plus ``floor`` times the mean velocity, plus 1e-9."""
    lift = floor * (array_sum(velocity) / len(velocity))
    for j in range(len(velocity)):
        out[j] = velocity[j] + lift + 1e-9


@njit(cache=True, error_model="numpy", boundscheck=True)
def rank_shares(weights, scale, max_visibility):
    """``Platform.rank``'s organic visibility from the rank weights, in place: ``scale`` (the
    mean organic visibility times the brands) times each weight's share, at most ``max_visibility``."""
    total = array_sum(weights)
    for j in range(len(weights)):
        weights[j] = _minimum(scale * weights[j] / total, max_visibility)


# --- records


@njit(inline="always")
def _blocks_total(table, k):
    """Column ``k`` of ``Market._blocks_total(table)``: one block's own value, else the blocks'
    sum in block order (NumPy's reduction over the first axis, from 0)."""
    if table.shape[0] == 1:
        return table[0, k]
    total = 0.0
    for b in range(table.shape[0]):
        total += table[b, k]
    return total


# the columns record_week writes, and the row of each in a week's float block of the records'
# storage (its order is the records': the five summed for the reporters first)
_RECORDED = (
    "units", "gmv", "brand_value", "image", "profit", "price", "regular_price", "discount", "paid_traffic",
    "brand_effort", "visibility", "brand_measure", "goodwill", "awareness", "paid_to_agency", "agency_labour",
    "brand_value_index",
)  # fmt: skip
(
    R_UNITS, R_GMV, R_VALUE, R_IMAGE, R_PROFIT, R_PRICE, R_REGULAR, R_DISCOUNT, R_PAID, R_EFFORT, R_VISIBILITY,
    R_MEASURE, R_GOODWILL, R_AWARENESS, R_TO_AGENCY, R_LABOUR, R_INDEX,
) = (STORED_COLUMNS.index(name) for name in _RECORDED)  # fmt: skip
if sorted(_RECORDED) != sorted(STORED_COLUMNS):  # (a column the records store that record_week would leave unset)
    raise ImportError(f"record_week writes {_RECORDED}, the records store {STORED_COLUMNS}")


@njit(cache=True, error_model="numpy", boundscheck=True)  # (a dozen brands: checks cost nothing)
def record_week(
    units,
    gmv,
    value,
    image,
    brand_profit,
    price,
    regular_price,
    discount,
    paid_traffic,
    brand_effort,
    visibility,
    measure,
    goodwill,
    paid_to_agency,
    agency_labour,
    value_base,
    aware_blocks,
    ref_blocks,
    scalar_blocks,
    deal_slot,
    agency_profit,
    operator,
    strategy,
    n,
    price_unit,
    promotion_index,
    floats,
    operators,
    strategies,
    t,
):
    """A recorded week's brand rows into row ``t`` of a block of the records' storage (``floats``:
    weeks x ``records.STORED_COLUMNS`` x brands; ``operators``, ``strategies``: weeks x brands)
    and the reporters' sums and counts (``Records._week_numpy``, the reference):
    returns the sums of units, GMV, brand value, image and brand profit, the units sold at a
    discount, the market's mean awareness, deal-proneness and reference-price ratio (from the
    shopping pass's per-block sums, ``Market.reporter_tables``, of ``n`` consumers: as
    ``Market.awareness_by_brand`` and the others), the agencies' profit, and the counts of
    stores on the promotion strategy and in-house."""
    J = len(units)
    week = floats[t]
    for j in range(J):
        week[R_UNITS, j] = units[j]
        week[R_GMV, j] = gmv[j]
        week[R_VALUE, j] = value[j]
        week[R_IMAGE, j] = image[j]
        week[R_PROFIT, j] = brand_profit[j]
        week[R_PRICE, j] = price[j]
        week[R_REGULAR, j] = regular_price[j]
        week[R_DISCOUNT, j] = discount[j]
        week[R_PAID, j] = paid_traffic[j]
        week[R_EFFORT, j] = brand_effort[j]
        week[R_VISIBILITY, j] = visibility[j]
        week[R_MEASURE, j] = measure[j]
        week[R_GOODWILL, j] = goodwill[j]
        week[R_AWARENESS, j] = _blocks_total(aware_blocks, j) / n
        week[R_TO_AGENCY, j] = paid_to_agency[j]
        week[R_LABOUR, j] = agency_labour[j]
        week[R_INDEX, j] = value[j] / value_base[j]
        operators[t, j] = operator[j]
        strategies[t, j] = strategy[j]
    scratch = np.empty(J)
    sold_at_discount = 0
    promotion, in_house = 0, 0
    for j in range(J):
        if discount[j] > 0:
            scratch[sold_at_discount] = units[j]
            sold_at_discount += 1
        promotion += strategy[j] == promotion_index
        in_house += operator[j] == -1
    promo_units = 0.0 + _pairwise(scratch, 0, sold_at_discount)
    for j in range(J):
        scratch[j] = _blocks_total(aware_blocks, j)
    awareness = array_sum(scratch) / (n * J)
    for j in range(J):
        scratch[j] = _blocks_total(ref_blocks, j) / (regular_price[j] / price_unit)
    reference_ratio = array_sum(scratch) / (n * J)
    deal = _blocks_total(scalar_blocks, deal_slot) / n
    return (
        array_sum(week[R_UNITS]),
        array_sum(week[R_GMV]),
        array_sum(week[R_VALUE]),
        array_sum(week[R_IMAGE]),
        array_sum(week[R_PROFIT]),
        promo_units,
        awareness,
        deal,
        reference_ratio,
        array_sum(agency_profit),
        promotion,
        in_house,
    )


# --- the model's calls -----------------------------------------------------------------------
# the functions a model calls every week (or, quality, every week it measures brand value)
WEEKLY = (
    "rank_base", "rank_shares", "plan_tactics", "offer_inputs", "offer_visibility", "quality", "settle_week",
    "record_week",
)  # fmt: skip
_BOUND: dict = {}  # each of WEEKLY's compiled code for the argument types of its first call in this process
_SEEN: dict = {}  # (Bound.CHECK) the argument types of each one's first call


class Bound:
    """This module as the model calls it (``AgencyMarket.compiled``): each function of
    :data:`WEEKLY` is bound, at its first call in the process, to the compiled code for that
    call's argument types (:func:`model.kernel.entry_point`), which later calls, of every model,
    reach directly; everything else is the module's.

    A call through Numba's dispatcher first works out the type of every argument to find the
    compiled version: half a microsecond a call, a millisecond and a half of a 364-week run. The
    model calls each of these functions with arguments of the same types every week and in every
    model (arrays it makes with fixed dtypes and layouts, Python numbers), so that version is
    found once. The compiled code does not check what it is handed: an argument of another type
    (a float32 or a strided array) would be misread, not refused. tests/test_week_kernel.py runs
    models of every kind with :attr:`CHECK` on: every call then goes through the dispatcher and
    its types are checked against the first call's."""

    CHECK = False

    def __init__(self):
        vars(self).update(_CONSTANTS)  # (read every week: found in the instance, not through __getattr__)
        for name in WEEKLY:
            if self.CHECK:
                setattr(self, name, _checked(name))
            else:
                setattr(self, name, _BOUND.get(name) or _first_call(name))

    def __getattr__(self, name: str):
        try:
            return globals()[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def _first_call(name: str):
    """``name``'s first call in the process: through the dispatcher, which then binds it."""
    function = globals()[name]

    def first_call(*args):
        result = function(*args)
        _BOUND[name] = entry_point(function, args)
        return result

    return first_call


def _checked(name: str):
    """``name`` through the dispatcher (a read-only array written to is refused there), its
    argument types checked against those of its first call (:attr:`Bound.CHECK`)."""
    function = globals()[name]

    def checked(*args):
        kinds = [_kind(a) for a in args]
        first = _SEEN.setdefault(name, kinds)
        if kinds != first:
            raise TypeError(f"{name} called with argument types {kinds}, bound to {first}")
        return function(*args)

    return checked


def _kind(a):
    """What the bound code assumes of an argument: its Numba type, an array's read-only flag
    aside (the compiled code is the same)."""
    from numba import typeof

    t = typeof(a)
    return (t.dtype, t.ndim, t.layout) if hasattr(t, "layout") and hasattr(t, "ndim") else t


_CONSTANTS = {name: value for name, value in globals().items() if name.isupper() and not name.startswith("_")}
