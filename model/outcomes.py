"""Every outcome of a run, declared once, the way parameters are (:mod:`model.params`).

Each :class:`Outcome` has a name, a label, the unit it is shown in after scaling, the scale
from the model's raw unit (RMB, shares), a number format, its level, a one-line definition and,
for the outcomes a run computes, its definition as a function of the run's tables (``compute``).
The run summary's keys (:data:`SUMMARY_KEYS`), the per-brand outcomes (:data:`BRAND_OUTCOMES`),
the focal and rival figures (:data:`FOCAL_SUMMARY_KEYS`), the experiments' labels and units
(``experiments.report.OUTCOMES`` is :data:`OUTCOMES`), the notebooks' units and docs/ODD.md's
outcome table are all generated from :data:`OUTCOMES`. Definitions: docs/ODD.md section 7,
"Reading brand value".

Levels:

* ``"market"``: the run summary (``SimulationResult.summary``), from the weekly reporters and
  the per-brand outcomes; ``compute(ts, initial_value, brands)``.
* ``"brand"``: one row per brand (``SimulationResult.brand_outcomes``), from the week-by-brand
  arrays; ``compute(weeks)`` with ``weeks`` a :class:`BrandWeeks`, returning an array over brands.
* ``"focal"`` / ``"rivals"``: added to the summary when some brands sign focal terms: the mean
  over the group's brands of the brand outcome ``of`` (or its week-0-value-weighted mean).
* ``"weekly"``: a weekly reporter as figures show it (:data:`model.records.MODEL_REPORTERS`).
* ``"derived"``: computed by experiments from a sweep's tables (``compute`` where it is a
  function of one run's weekly series, ``compute(ts)``; else ``None`` and the definition says
  which experiment computes it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

SHORT_TERM_WEEKS = 26  # the weeks of "short-term" GMV
YEAR = 52
BRAND_VALUE_WINDOW = 52  # weeks: brand value change is the mean of the last 52 weeks (ODD section 7)
LEVELS = ("market", "brand", "focal", "rivals", "weekly", "derived")


@dataclass(frozen=True)
class Outcome:
    """How one outcome is defined and shown."""

    label: str
    unit: str  # after scaling
    scale: float = 1.0
    fmt: str = ".1f"
    level: str = "derived"
    definition: str = ""
    compute: Callable[..., Any] | None = None
    of: str | None = None  # focal / rivals: the brand outcome the group figure is a mean of
    name: str = ""  # filled in by the registry

    @property
    def axis(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass
class BrandWeeks:
    """A run's week-by-brand arrays (weeks x brands, float64) that the brand outcomes read."""

    gmv: np.ndarray
    value: np.ndarray  # brand value
    profit: np.ndarray
    paid: np.ndarray  # fees, commission and bonus the brand paid its agency
    labour: np.ndarray  # what running the store cost the agency
    promo: np.ndarray  # bool: the store ran the promotion-heavy strategy
    initial: np.ndarray  # each brand's week-0 brand value
    value_base: np.ndarray  # each brand's index base (week-0 value, floored)

    @property
    def n_weeks(self) -> int:
        return len(self.gmv)


def window_change(
    values: np.ndarray, initial: np.ndarray, base: np.ndarray, window: int = BRAND_VALUE_WINDOW
) -> np.ndarray:
    """Brand value change read over a window (ODD section 7): the mean of the last ``window``
    weeks of ``values`` (weeks x brands, or weeks) minus the week-0 value, over ``base`` (the
    week-0 value, floored where it is tiny). No single week decides it: a brand's own discount
    week lowers its brand value by about a seventh, and the next week gives most of it back."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return np.zeros(np.shape(initial))
    return (values[-window:].mean(axis=0) - initial) / base


def _mean_skipna(values) -> float:
    """The mean of the values that are not NaN (NaN if none is), as pandas' ``Series.mean`` works
    it out, the same bits: the sum with each NaN read as 0, over the count of the others. (The
    per-brand outcomes reach the summary as arrays, a table's columns or a dict's.)"""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    count = values.size - int(missing.sum())
    if not count:
        return _nan()
    return float(np.where(missing, 0.0, values).sum() / count)


def _nan() -> float:
    return float("nan")


# --- market level: (ts, initial_value, brands) -> float ------------------------------------------
# (``ts``: the weekly reporters, a DataFrame or a dict of each reporter's array over weeks; a sum
# skips NaN, as pandas' does)
def _final_value(ts, initial_value, brands) -> float:
    values = np.asarray(ts["brand_value"], dtype=np.float64)
    return float(values[-1]) if len(values) else initial_value


def _market_change(ts, initial_value, brands) -> float:
    values = np.asarray(ts["brand_value"], dtype=np.float64)
    return float(window_change(values, initial_value, initial_value)) if initial_value else _nan()


def _market_change_final_week(ts, initial_value, brands) -> float:
    return _final_value(ts, initial_value, brands) / initial_value - 1 if initial_value else _nan()


def _total(column: str) -> Callable[..., float]:
    return lambda ts, initial_value, brands: float(np.nansum(np.asarray(ts[column])))


def _last(column: str) -> Callable[..., float]:
    def last(ts, initial_value, brands) -> float:
        values = np.asarray(ts[column])
        return float(values[-1]) if len(values) else _nan()

    return last


# --- brand level: BrandWeeks -> array over brands ----------------------------------------------------
def _brand_change_final_week(w: BrandWeeks) -> np.ndarray:
    final = w.value[-1] if w.n_weeks else w.initial
    return (final - w.initial) / w.value_base


def _promo_share(weeks: int | None) -> Callable[[BrandWeeks], np.ndarray]:
    def share(w: BrandWeeks) -> np.ndarray:
        if not w.n_weeks:
            return np.full(w.promo.shape[1], np.nan)
        return (w.promo[:weeks] if weeks else w.promo).mean(axis=0)

    return share


# --- derived from one run's weekly series: ts -> float ----------------------------------------------
def _over(column: str, weeks: tuple[int, int], how: str) -> Callable[..., float]:
    """``how`` ("sum" or "mean") of ``column`` over ``weeks`` [start, end) of one run's weekly
    series; NaN unless the run covers every one of those weeks."""

    def value(ts) -> float:
        w = ts[(ts["week"] >= weeks[0]) & (ts["week"] < weeks[1])][column]
        return float(getattr(w, how)()) if len(w) == weeks[1] - weeks[0] else _nan()

    return value


MONEY = "million RMB"
_M = 1e-6
_DECLARED: tuple[tuple[str, Outcome], ...] = (
    # --- the run summary (SUMMARY_KEYS), in this order; money is RMB summed over all brands ---------
    ("short_term_gmv", Outcome("short-term GMV, first 26 weeks", MONEY, _M, ".0f", "market",
                               "GMV of all brands over the first 26 weeks",
                               lambda ts, iv, brands: float(np.nansum(np.asarray(ts["gmv"])[:SHORT_TERM_WEEKS])))),
    ("total_gmv", Outcome("total GMV", MONEY, _M, ".0f", "market", "GMV of all brands over the run", _total("gmv"))),
    ("final_brand_value", Outcome("final brand value", "million RMB/week", _M, ".2f", "market",
                                  "the market's brand value (revenue premium) in the last week", _final_value)),
    ("brand_value_change", Outcome("brand value change, last 52 weeks vs week 0", "%", 100.0, ".1f", "market",
                                   "mean of the market's brand value over the last 52 weeks against week 0, "
                                   "over the week-0 total (each brand weighted by its week-0 value)",
                                   _market_change)),
    ("brand_value_change_final_week", Outcome("brand value change, final week vs week 0", "%", 100.0, ".1f",
                                              "market", "the market's brand value in the last week against week 0",
                                              _market_change_final_week)),
    ("mean_brand_value_change", Outcome("a brand's brand value change (mean over brands)", "%", 100.0, ".1f",
                                        "market", "the mean over brands of each brand's brand_value_change",
                                        lambda ts, iv, brands: _mean_skipna(brands["brand_value_change"])
                                        if brands is not None else _nan())),
    ("brand_profit_total", Outcome("brand profit, total", MONEY, _M, ".0f", "market",
                                   "net money of all brands over the run (after agency payments)",
                                   _total("brand_profit"))),
    ("agency_profit_total", Outcome("agency profit, total", MONEY, _M, ".0f", "market",
                                    "net money of all agencies over the run", _total("agency_profit"))),
    ("platform_revenue_total", Outcome("platform revenue, total", MONEY, _M, ".0f", "market",
                                       "take rate and paid traffic over the run", _total("platform_revenue"))),
    ("consumer_surplus_total", Outcome("consumer surplus, total", MONEY, _M, ".0f", "market",
                                       "consumers' logit surplus, money-metric, over the run",
                                       _total("consumer_surplus"))),
    ("final_promo_strategy_share", Outcome("promotion-heavy share at the end", "% of brands", 100.0, ".0f", "market",
                                           "share of stores on the promotion-heavy strategy in the last week",
                                           _last("promo_strategy_share"))),
    ("contract_switches_total", Outcome("contract switches", "count", 1.0, ".1f", "market",
                                       "brands that changed agency or went in-house over the run",
                                       _total("contract_switches"))),
    # --- one row per brand (BRAND_OUTCOMES), in this order ---------------------------------------------
    ("short_term_gmv@brand", Outcome("a brand's GMV, first 26 weeks", MONEY, _M, ".1f", "brand",
                                     "the brand's GMV over the first 26 weeks",
                                     lambda w: w.gmv[:SHORT_TERM_WEEKS].sum(axis=0))),
    ("gmv_year1", Outcome("a brand's GMV, year 1", MONEY, _M, ".1f", "brand", "the brand's GMV over the first 52 weeks",
                          lambda w: w.gmv[:YEAR].sum(axis=0))),
    ("total_gmv@brand", Outcome("a brand's GMV, whole run", MONEY, _M, ".1f", "brand", "the brand's GMV over the run",
                                lambda w: w.gmv.sum(axis=0))),
    ("brand_value_change@brand", Outcome("a brand's brand value change", "%", 100.0, ".1f", "brand",
                                         "(mean of the brand's value over the last 52 weeks - its week-0 value) / "
                                         "its index base", lambda w: window_change(w.value, w.initial, w.value_base))),
    ("brand_value_change_final_week@brand", Outcome("a brand's brand value change, final week", "%", 100.0, ".1f",
                                                    "brand", "the same, from the last week alone",
                                                    _brand_change_final_week)),
    ("brand_profit_total@brand", Outcome("a brand's profit, whole run", MONEY, _M, ".1f", "brand",
                                         "the brand's net money over the run", lambda w: w.profit.sum(axis=0))),
    ("brand_profit_before_agency_total", Outcome("brand profit before agency payments, total", MONEY, _M, ".1f",
                                                 "brand", "the brand's net money plus what it paid its agency",
                                                 lambda w: (w.profit + w.paid).sum(axis=0))),
    ("paid_to_agency_total", Outcome("a brand's payments to its agency", MONEY, _M, ".1f", "brand",
                                     "fees, commission and bonus the brand paid", lambda w: w.paid.sum(axis=0))),
    ("agency_profit_total@brand", Outcome("its agency's profit from the brand", MONEY, _M, ".1f", "brand",
                                          "what the brand paid less what running its store cost the agency",
                                          lambda w: (w.paid - w.labour).sum(axis=0))),
    ("promo_share_first_26@brand", Outcome("promotion-heavy, first 26 weeks", "% of weeks", 100.0, ".0f", "brand",
                                           "share of the first 26 weeks the store ran the promotion-heavy strategy",
                                           _promo_share(SHORT_TERM_WEEKS))),
    ("promo_share", Outcome("promotion-heavy, whole run", "% of weeks", 100.0, ".0f", "brand",
                            "share of the run's weeks the store ran the promotion-heavy strategy", _promo_share(None))),
    # --- weekly reporters as figures show them --------------------------------------------------------
    ("gmv", Outcome("GMV", "million RMB/week", _M, ".1f", "weekly", "GMV of all brands in the week")),
    ("brand_value_index", Outcome("brand-value index", "week 0 = 1", 1.0, ".2f", "weekly",
                                  "the market's brand value over its week-0 total")),
    ("promo_strategy_share", Outcome("promotion-heavy share", "% of brands", 100.0, ".0f", "weekly",
                                     "share of stores on the promotion-heavy strategy in the week")),
    # --- derived by experiments from a sweep's tables ---------------------------------------------------
    ("gmv_year2", Outcome("GMV in the second year", MONEY, _M, ".0f", "derived",
                          "GMV of all brands in weeks 52-103 (after every brand's first renewal); NaN for a "
                          "shorter run", _over("gmv", (YEAR, 2 * YEAR), "sum"))),
    ("promo_share_first_26", Outcome("promotion-heavy share, first 26 weeks", "% of brands", 100.0, ".0f", "derived",
                                     "mean over the first 26 weeks of the share of stores on the promotion-heavy "
                                     "strategy (the mean over brands of promo_share_first_26 per brand)",
                                     _over("promo_strategy_share", (0, SHORT_TERM_WEEKS), "mean"))),
    ("gmv_per_year", Outcome("GMV per year", MONEY, _M, ".1f", "derived",
                             "a brand's total GMV over the run's years (experiments.focal_contract)")),
    ("focal_gmv_per_year", Outcome("focal brand's GMV per year", MONEY, _M, ".1f", "derived",
                                   "focal_total_gmv over the run's years (experiments.focal_contract)")),
    ("focal_gmv_after", Outcome("focal brand's GMV per year after it left 35%", MONEY, _M, ".1f", "derived",
                                "the focal brand's GMV per year after its focal terms ended "
                                "(experiments.focal_contract)")),
    ("focal_brand_profit_after", Outcome("focal brand's profit per year after it left 35%", MONEY, _M, ".1f",
                                         "derived", "the same for its profit (experiments.focal_contract)")),
)  # fmt: skip


# The focal brands and their rivals (FOCAL_SUMMARY_KEYS, in this order: every focal figure, then
# every rival one): the group's mean of a per-brand outcome, shown as "focal brand's ..." and "a
# rival's ...". (per-brand outcome, its label after the group's, unit, format, rivals too)
_GROUPS = (
    ("short_term_gmv", "GMV, first 26 weeks", MONEY, ".1f", True),
    ("gmv_year1", "GMV, year 1", MONEY, ".1f", True),
    ("total_gmv", "GMV, whole run", MONEY, ".0f", True),
    ("brand_value_change", "brand value change", "%", ".1f", True),
    ("brand_value_change@weighted", "brand value change (weighted by week-0 value)", "%", ".1f", True),
    ("brand_value_change_final_week", "brand value change, final week", "%", ".1f", True),
    ("brand_profit_total", "profit, whole run", MONEY, ".1f", True),
    ("brand_profit_before_agency_total", "profit before agency payments", MONEY, ".1f", True),
    ("paid_to_agency_total", "payments to its agency", MONEY, ".1f", False),
    ("agency_profit_total", "agency's profit from it", MONEY, ".1f", False),
    ("promo_share_first_26", "promotion-heavy weeks, first 26 weeks", "% of weeks", ".0f", False),
    ("promo_share", "promotion-heavy weeks, whole run", "% of weeks", ".0f", False),
)


def _group_outcomes() -> tuple[tuple[str, Outcome], ...]:
    out = []
    for group, whose, plural in (("focal", "focal brand's", "focal brands'"), ("rivals", "a rival's", "rivals'")):
        for of, text, unit, fmt, rivals_too in _GROUPS:
            if group == "rivals" and not rivals_too:
                continue
            label = f"{plural if of.endswith('@weighted') else whose} {text}"
            scale = 100.0 if unit.startswith("%") else _M
            out.append((f"{group}_{of.replace('@', '_')}", Outcome(label, unit, scale, fmt, group, of=of)))
    return tuple(out)


def _registry() -> tuple[dict[str, Outcome], dict[str, Outcome]]:
    """The outcomes by name (a per-brand outcome that shares its name with a market one is
    under ``name@brand`` here and ``name`` in the brand table)."""
    shown: dict[str, Outcome] = {}
    brand: dict[str, Outcome] = {}
    for key, o in _DECLARED + _group_outcomes():
        assert o.level in LEVELS, key
        name = key.split("@")[0]
        o = Outcome(**{**o.__dict__, "name": name})
        if o.level == "brand":
            brand[name] = o
            if key != name:  # shown under the market outcome's label
                continue
        assert key not in shown, key
        shown[key] = o
    return shown, brand


OUTCOMES, BRAND = _registry()
SUMMARY_KEYS = tuple(k for k, o in OUTCOMES.items() if o.level == "market")
BRAND_OUTCOMES = tuple(BRAND)
FOCAL_SUMMARY_KEYS = tuple(k for k, o in OUTCOMES.items() if o.level in ("focal", "rivals"))


def summary(ts, initial_value: float, brands=None) -> dict[str, float]:
    """The run summary (:data:`SUMMARY_KEYS`) from the weekly reporters ``ts`` (a DataFrame, or
    a dict of each reporter's array over weeks: :meth:`model.records.WeeklyReporters.columns`,
    which costs a tenth of the DataFrame's columns) and the per-brand outcomes ``brands`` (a
    table, or a dict of arrays: :func:`model.records.brand_outcome_columns`; for the per-brand
    mean of brand value change); ``initial_value`` is the market's week-0 brand
    value, the base of ``brand_value_index``."""
    return {k: OUTCOMES[k].compute(ts, initial_value, brands) for k in SUMMARY_KEYS}


def brand_table(weeks: BrandWeeks) -> dict[str, np.ndarray]:
    """The per-brand outcomes (:data:`BRAND_OUTCOMES`, arrays over brands)."""
    with np.errstate(invalid="ignore"):
        return {k: o.compute(weeks) for k, o in BRAND.items()}


def group_summary(brands, value_base: np.ndarray) -> dict[str, float]:
    """The focal brands' and their rivals' figures (:data:`FOCAL_SUMMARY_KEYS`) from the
    per-brand outcomes ``brands`` (a table with a bool ``focal`` column): the mean over the
    group's brands of each brand outcome (what one focal brand, and one rival, gets), and the
    brand value change weighted by each brand's week-0 value (the group's total against its
    week-0 total)."""
    focal = brands["focal"].to_numpy()
    masks = {"focal": focal, "rivals": ~focal}
    groups = {level: brands[mask] for level, mask in masks.items()}  # (each group's rows, taken once)
    out: dict[str, float] = {}
    for key in FOCAL_SUMMARY_KEYS:
        o = OUTCOMES[key]
        mask, b = masks[o.level], groups[o.level]
        if not len(b):
            out[key] = _nan()
        elif o.of == "brand_value_change@weighted":
            base = np.asarray(value_base)[mask]
            out[key] = float(np.dot(b["brand_value_change"], base) / base.sum())
        else:
            out[key] = float(b[o.of].mean())
    return out


def per_run(timeseries, names: list[str]):
    """The derived outcomes ``names`` of each run of a sweep's weekly series (a pandas
    DataFrame indexed by ``run_id``, a column per outcome)."""
    import pandas as pd

    runs = {rid: {n: OUTCOMES[n].compute(ts) for n in names} for rid, ts in timeseries.groupby("run_id", sort=True)}
    return pd.DataFrame.from_dict(runs, orient="index").rename_axis("run_id")


def markdown_table() -> str:
    """The outcome table of docs/ODD.md: every outcome, its level, unit and definition."""
    rows = ["| outcome | level | unit | definition |", "|---|---|---|---|"]
    every = [*OUTCOMES.values(), *(b for k, b in BRAND.items() if OUTCOMES.get(k) is not b)]
    for o in sorted(every, key=lambda o: LEVELS.index(o.level)):  # (stable: declaration order within a level)
        group = "the focal brands'" if o.level == "focal" else "the rivals'"
        if o.level in ("focal", "rivals"):
            what = f"{group} mean of the per-brand `{o.of}`"
            if o.of == "brand_value_change@weighted":
                what = f"{group} brand value change, weighted by each brand's week-0 value"
        else:
            what = o.definition
        level = "per brand" if o.level == "brand" else o.level
        rows.append(f"| `{o.name}` | {level} | {o.unit} | {what} |")
    return "\n".join(rows)
