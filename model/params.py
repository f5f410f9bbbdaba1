"""Every parameter of the model, declared once.

Each parameter has a name, a default, a unit, an allowed range (or set of choices) and a
one-line description. The CLI, the Solara controls, sweep specs and the README table are all
generated from :data:`PARAM_SPECS`; nothing else retypes them.

``Params`` is a frozen dataclass built from those declarations and validated at construction:
a bad value or an unknown name raises ``ValueError`` that names the parameter, the value and
what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .policies import POLICY_NAMES as AGENCY_POLICIES  # the one registry of policies

REWARD_SCALES = ("income", "client_gmv")


@dataclass(frozen=True)
class ParamSpec:
    """Declaration of one parameter."""

    name: str
    default: Any
    unit: str
    description: str
    low: float | None = None  # inclusive lower bound
    high: float | None = None  # upper bound
    high_open: bool = False  # True: value must be < high
    low_open: bool = False  # True: value must be > low
    choices: tuple | None = None
    group: str = "market"
    per_agency: bool = False  # True: one choice for all agencies, or one per agency (comma-separated)
    optional_of: type | None = None  # the type of an optional parameter (default None: "not set")
    none_means: str = "the market's term"  # what None stands for, for an optional parameter

    @property
    def kind(self) -> type:
        return self.optional_of or type(self.default)

    @property
    def optional(self) -> bool:
        return self.optional_of is not None

    def allowed(self) -> str:
        if self.optional:
            return (
                dataclasses.replace(self, optional_of=None, default=self.optional_of()).allowed()
                + f", or none ({self.none_means})"
            )
        if self.choices is not None:
            one = "one of " + ", ".join(repr(c) for c in self.choices)
            return one + (", or one per agency separated by commas" if self.per_agency else "")
        if self.kind is bool:
            return "true or false"
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        low = "-inf" if self.low is None else _fmt(self.low)
        high = "inf" if self.high is None else _fmt(self.high)
        what = "an integer" if self.kind is int else "a number"
        return f"{what} in {lo}{low}, {high}{hi}"

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to the parameter's type, or raise ``ValueError``."""
        given = value  # (the error names the value as given)
        if self.optional:
            if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
                return None
            try:
                return dataclasses.replace(self, optional_of=None, default=self.optional_of()).validate(value)
            except ValueError:
                raise self._invalid(given) from None
        if self.choices is not None:
            if self.per_agency and isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            names = [v.strip() for v in value.split(",")] if self.per_agency and isinstance(value, str) else [value]
            for v in names:
                if v not in self.choices:
                    hint = _suggest(v, self.choices)
                    if len(names) > 1:  # say which entry: "(x is not a choice; did you mean y?)"
                        hint = f" ({v!r} is not a choice" + (f"; {hint[2:]}" if hint else ")")
                    raise self._invalid(given, hint)
            return ",".join(names) if self.per_agency else value
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise self._invalid(given)
        if isinstance(value, bool):
            raise self._invalid(given)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self._invalid(given) from None
        if not isinstance(value, (int, float)) or isinstance(value, complex):
            try:
                value = float(value)  # NumPy scalars
            except (TypeError, ValueError):
                raise self._invalid(given) from None
        if not math.isfinite(value):
            raise self._invalid(given)
        if self.kind is int:
            if float(value) != int(value):
                raise self._invalid(given)
            value = int(value)
        else:
            value = float(value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise self._invalid(given)
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            raise self._invalid(given)
        return value

    def _invalid(self, value: Any, hint: str = "") -> ValueError:
        """The error naming ``value`` and what is allowed (made only for a bad value: saying what
        is allowed takes longer than checking a good value, and every Params checks every parameter)."""
        return ValueError(f"parameter {self.name!r} = {value!r} is invalid: allowed is {self.allowed()}{hint}")


def _fmt(x: float) -> str:
    return f"{x:g}"


def _suggest(name: Any, options) -> str:
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


FOCAL_TERMS = {  # the focal brands' term -> the market's term it replaces
    "focal_base_fee": "base_fee",
    "focal_commission_rate": "commission_rate",
    "focal_brand_bonus_rate": "brand_bonus_rate",
    "focal_contract_weeks": "contract_weeks",
    "focal_evaluation_brand_weight": "evaluation_brand_weight",
    "focal_brand_measure_noise": "brand_measure_noise",
}


def _p(name, default, unit, description, low=None, high=None, *, group, **kw) -> ParamSpec:
    return ParamSpec(name, default, unit, description, low, high, group=group, **kw)


# fmt: off
PARAM_SPECS: tuple[ParamSpec, ...] = (
    # --- sizes and scales ------------------------------------------------------------------
    _p("n_consumers", 10_000, "consumers",
       "simulated consumers (NumPy arrays, not agents)",
       1, 20_000_000, group="sizes"),
    _p("n_brands", 12, "brands", "brands selling in the category (Mesa agents)", 1, 200, group="sizes"),
    _p("n_agencies", 6, "agencies",
       "operations agencies (TP) competing for brands (Mesa agents)",
       1, 200, group="sizes"),
    _p("market_shoppers", 200_000.0, "shoppers",
       "real shoppers in the category; each simulated consumer stands for market_shoppers / n_consumers of them, so "
       "n_consumers sets resolution, not market size",
       1, 1e10, group="sizes"),
    _p("market_kernel", "numba", "",
       "implementation of the consumer market: 'numba' (the default: a fused, compiled kernel, several times faster; "
       "first use compiles, then loads from a cache; where numba cannot be imported the numpy path runs, with a "
       "one-line notice) or 'numpy' (whole-array expressions, the docked reference; same rules and draws, float "
       "rounding differs, so numbers differ slightly from the numba path's)",
       choices=("numpy", "numba"), group="sizes"),
    _p("burn_in_weeks", 26, "weeks",
       "weeks simulated before week 0 at regular prices, so pantries, habits and sales ranks start settled",
       0, 520, group="sizes"),
    # --- contract ---------------------------------------------------------------------------
    _p("base_fee", 50_000.0, "RMB/month", "base service fee the brand pays its agency", 0, 1e8, group="contract"),
    _p("commission_rate", 0.08, "share of GMV",
       "sales commission paid to the agency on the brand's GMV",
       0, 1, high_open=True, group="contract"),
    _p("brand_bonus_rate", 0.0, "share",
       "bonus: share of the measured rise in weekly brand value (revenue premium) since the contract began, paid "
       "weekly",
       0, 1, group="contract"),
    _p("contract_weeks", 52, "weeks", "length of one contract term", 4, 1040, group="contract"),
    _p("evaluation_brand_weight", 0.0, "weight",
       "weight of measured brand-value growth in the renewal score (0 = GMV growth alone, 1 = brand measure alone)",
       0, 1, group="contract"),
    _p("brand_measure_noise", 0.1, "sd of index",
       "noise (standard deviation) of the brand tracking survey's brand-value index",
       0, 10, group="contract"),
    _p("brand_change_prior_sd", 0.3, "sd of index",
       "the brand's prior sd of the true brand-value change over one term; the noisier the survey against it, the less"
       " of a measured change the brand believes",
       0, 10, low_open=True, group="contract"),
    _p("brand_survey_weeks", 13, "weeks",
       "weeks between brand tracking surveys (the brand measure the contract sees)",
       1, 260, group="contract"),
    _p("renewal_threshold", -0.05, "score",
       "renewal score (weighted growth over the term) a brand requires to renew",
       -1, 10, group="contract"),
    _p("in_house_enabled", True, "", "brands may take the store in-house at renewal", group="contract"),
    _p("in_house_skill", 0.6, "fraction",
       "a brand's own capabilities relative to the agency it learned from",
       0, 1, group="contract"),
    _p("in_house_learning_weeks", 104, "weeks",
       "weeks of watching an agency before the brand has learned its playbook",
       1, 1040, group="contract"),
    # --- per-brand contracts: the focal brands sign their own terms ---------------------------
    _p("focal_brands", 0, "brands",
       "how many brands sign the focal_* terms instead of the market's contract (which ones: focal_assignment); 0: "
       "every brand signs the market's contract",
       0, 200, group="focal contract"),
    _p("focal_assignment", "random", "",
       "which brands are the focal ones: 'random' (drawn in each market from a stream of its own, so a finding is "
       "about a brand, not brand 0; with more focal brands the sets are nested: k focal brands are the first k of one "
       "random order) or 'first' (brands 0 to focal_brands - 1)",
       choices=("random", "first"), group="focal contract"),
    _p("focal_terms_until", None, "weeks",
       "the focal brands sign the focal terms only in contract terms that begin before this week; a term that begins "
       "later (the first renewal or change of agency after it) is on the market's terms: a brand that leaves its "
       "contract in year 3, say (none: the focal terms throughout)",
       1, 1040, optional_of=int, none_means="the focal terms throughout", group="focal contract"),
    _p("focal_base_fee", None, "RMB/month",
       "the focal brands' base fee (none: the market's base_fee)",
       0, 1e8, optional_of=float, group="focal contract"),
    _p("focal_commission_rate", None, "share of GMV",
       "the focal brands' commission rate (none: the market's commission_rate)",
       0, 1, high_open=True, optional_of=float, group="focal contract"),
    _p("focal_brand_bonus_rate", None, "share",
       "the focal brands' brand bonus rate (none: the market's brand_bonus_rate)",
       0, 1, optional_of=float, group="focal contract"),
    _p("focal_contract_weeks", None, "weeks",
       "the focal brands' term length (none: the market's contract_weeks)",
       4, 1040, optional_of=int, group="focal contract"),
    _p("focal_evaluation_brand_weight", None, "weight",
       "the focal brands' weight on the brand measure at renewal (none: the market's evaluation_brand_weight)",
       0, 1, optional_of=float, group="focal contract"),
    _p("focal_brand_measure_noise", None, "sd of index",
       "noise of the focal brands' tracking survey (none: the market's brand_measure_noise)",
       0, 10, optional_of=float, group="focal contract"),
    # --- agencies ---------------------------------------------------------------------------
    _p("agency_policy", "fixed", "",
       "how agencies choose strategies: one policy for every agency, or one per agency in order (e.g. "
       "'learning,fixed,fixed,fixed,fixed,fixed'; agencies 0 to round(sales_driven_share * n_agencies) - 1 are the "
       "sales-driven ones)",
       choices=AGENCY_POLICIES, per_agency=True, group="agencies"),
    _p("sales_driven_share", 0.5, "share",
       "share of agencies that are sales-driven (strong operations, weak brand skill, promotion archetype)",
       0, 1, group="agencies"),
    _p("decision_weeks", 4, "weeks",
       "weeks between an agency's strategy choices for a client",
       1, 52, group="agencies"),
    _p("learning_rate", 0.5, "",
       "learning: step size of the strategy values (SARSA(lambda) temporal-difference learning)",
       0, 1, low_open=True, group="agencies"),
    _p("choice_temperature", 0.05, "",
       "learning: softmax temperature on the per-period strategy values, in the units of reward_scale (about 0.01 "
       "suits client_gmv)",
       0, 10, low_open=True, group="agencies"),
    _p("reward_scale", "income", "",
       "learning: what a period's profit from a client is divided by before it is learned from: 'income', what the "
       "client typically pays the agency (the reward is a margin, nearly blind to how large the commission is), or "
       "'client_gmv', the client's typical GMV (the reward is profit per RMB of the client's sales, so it grows with "
       "the commission); a structural-sensitivity switch",
       choices=REWARD_SCALES, group="agencies"),
    _p("imitation_rate", 0.25, "per decision",
       "imitation: probability of comparing with a random peer at each decision",
       0, 1, group="agencies"),
    _p("exploration", 0.05, "probability",
       "adaptive policies: probability of trying a random strategy",
       0, 1, group="agencies"),
    _p("experience_weeks", 0, "weeks",
       "adaptive agencies arrive experienced: they start with what they learned in a pre-run of this many weeks of the"
       " same market under the same contracts (another random market); 0: a neutral start",
       0, 1040, group="agencies"),
    _p("effort_cost", 15_000.0, "RMB/week",
       "operator's own labour cost of one unit of effort (full brand building, or full campaign operations) for one "
       "client for one week",
       0, 1e8, group="agencies"),
    _p("service_cost", 3.0, "RMB/unit",
       "operator's cost of customer service and order handling per unit sold, for an average service skill",
       0, 1e4, group="agencies"),
    # --- platform ---------------------------------------------------------------------------
    _p("platform_take_rate", 0.05, "share of GMV",
       "platform commission on GMV (Tmall 2-5%)",
       0, 1, high_open=True, group="platform"),
    _p("cost_per_click", 2.0, "RMB/click",
       "price of one paid-traffic click (through train CPC; at least one fen)",
       0.01, 1e4, group="platform"),
    _p("organic_visibility", 0.10, "probability",
       "weekly chance a shopper is shown a brand by organic search, for a brand with an average sales rank",
       0, 1, group="platform"),
    _p("rank_feedback", 0.7, "exponent",
       "power of sales velocity in organic visibility ('sales is king')",
       0, 5, group="platform"),
    _p("festival_demand", 0.6, "log-odds",
       "extra category purchase propensity in festival weeks (618, Double 11)",
       0, 5, group="platform"),
    # --- consumers --------------------------------------------------------------------------
    _p("price_sensitivity", 2.2, "", "mean price sensitivity (coefficient on log price)", 0, 20, group="consumers"),
    _p("price_sensitivity_spread", 0.3, "log sd",
       "dispersion of price sensitivity across consumers (log-normal)",
       0, 2, group="consumers"),
    _p("deal_proneness", 0.3, "0-1", "mean initial deal-proneness", 0, 1, group="consumers"),
    _p("promo_salience", 0.5, "utils",
       "utility of a visible deal for a fully deal-prone consumer",
       0, 10, group="consumers"),
    _p("loss_aversion", 2.0, "ratio",
       "weight of losses relative to gains around the reference price (Brown et al. 2021: 1.955)",
       1, 10, group="consumers"),
    _p("reference_gain", 0.7, "", "utility per unit log gain below the reference price", 0, 20, group="consumers"),
    _p("reference_smoothing", 0.6, "weekly retention",
       "exponential smoothing weight on the old reference price",
       0, 1, high_open=True, group="consumers"),
    _p("deal_learning", 0.02, "per week",
       "rise of deal-proneness per week of full promotion exposure",
       0, 1, group="consumers"),
    _p("deal_decay", 0.005, "per week",
       "weekly decay of deal-proneness toward its initial level without promotions",
       0, 1, group="consumers"),
    _p("price_sensitivity_drift", 0.5, "",
       "price sensitivity multiplier per unit deal-proneness above its initial level",
       0, 10, group="consumers"),
    _p("habit_bonus", 0.8, "utils", "utility bonus for the brand bought last", 0, 10, group="consumers"),
    _p("deal_habit_share", 0.3, "share",
       "share of the habit bonus that a purchase on a deep deal builds (negative purchase-event feedback of "
       "promotions; Gedenk & Neslin 1999)",
       0, 1, group="consumers"),
    _p("consumption_rate", 1.0, "units/week",
       "mean weekly consumption of a consumer (at least 0.001: consumers hold their stocks in float32, where a rate "
       "much smaller rounds to 0)",
       0.001, 100, group="consumers"),
    _p("consumption_flexibility", 0.25, "",
       "extra consumption per unit of pantry stock above one week's need (category expansion)",
       0, 5, group="consumers"),
    _p("incidence_base", -0.8, "log-odds",
       "category purchase propensity at an empty pantry and no inclusive value",
       -20, 20, group="consumers"),
    _p("incidence_value", 0.35, "",
       "weight of the inclusive value (attractiveness of the offer) on purchase propensity",
       0, 10, group="consumers"),
    _p("incidence_inventory", 1.2, "per week of stock",
       "fall in purchase propensity per week of pantry stock",
       0, 20, group="consumers"),
    _p("stockpile_gain", 6.0, "units per unit discount",
       "extra units a fully deal-prone consumer buys per unit of discount depth",
       0, 50, group="consumers"),
    _p("initial_awareness", 0.3, "probability", "mean initial awareness of a brand", 0, 1, group="consumers"),
    _p("awareness_decay", 0.01, "per week", "weekly forgetting of a brand", 0, 1, group="consumers"),
    _p("visibility_utility", 1.0, "utils",
       "utility boost from being prominently shown by the platform",
       0, 10, group="consumers"),
    # --- brands -----------------------------------------------------------------------------
    _p("mean_price", 100.0, "RMB", "mean regular price of a unit (at least one fen)", 0.01, 1e6, group="brands"),
    _p("price_spread", 0.25, "log sd", "dispersion of regular prices across brands", 0, 2, group="brands"),
    _p("unit_cost_share", 0.35, "share of price",
       "unit cost as a share of regular price",
       0, 1, high_open=True, group="brands"),
    _p("goodwill_retention", 0.90, "weekly",
       "Nerlove-Arrow weekly retention of goodwill (0.90: stock half-life about 6.6 weeks; sales-effect half-life "
       "about 9 weeks, P5)",
       0, 1, high_open=True, group="brands"),
    _p("goodwill_utility", 0.45, "utils per unit", "utility per unit of goodwill stock", 0, 20, group="brands"),
    _p("brand_reach", 0.04, "per week",
       "weekly awareness gain among unaware consumers at full brand effort and skill",
       0, 1, group="brands"),
    _p("image_erosion", 0.01, "per week",
       "share of the distance to the image floor lost per week of deep discounting (x depth / 30%)",
       0, 1, group="brands"),
    _p("image_recovery", 0.003, "per week",
       "share of the distance to the image ceiling regained per week of full brand effort (x skill)",
       0, 1, group="brands"),
    _p("image_reversion", 0.04, "per week",
       "share of the distance to the brand's base image (its image at the start) that fades per week, whether the "
       "image was raised by brand effort or lowered by discounting",
       0, 1, group="brands"),
    # --- mechanism switches (ablation) ------------------------------------------------------
    _p("use_reference_prices", True, "", "M3: reference prices and loss aversion", group="mechanisms"),
    _p("use_stockpiling", True, "", "M2: pantry stock, extra units on deep deals", group="mechanisms"),
    _p("use_deal_learning", True, "", "M4: deal-proneness learns from promotion exposure", group="mechanisms"),
    _p("use_awareness", True, "",
       "M5: awareness grows and fades (off: everyone aware of every brand)",
       group="mechanisms"),
    _p("use_rank_feedback", True, "", "M6: organic visibility follows sales velocity (off: equal)", group="mechanisms"),
    _p("use_paid_traffic", True, "", "M6: paid traffic raises visibility", group="mechanisms"),
    _p("use_goodwill", True, "", "M5: goodwill stock and image dynamics", group="mechanisms"),
    _p("use_measure_shrinkage", True, "",
       "M8: the brand judges brand growth by its best estimate, shrinking a noisy survey reading toward no change "
       "(off: takes the reading at face value)",
       group="mechanisms"),
    _p("use_festivals", True, "", "618 and Double 11 festival weeks", group="mechanisms"),
)
# fmt: on

SPECS: dict[str, ParamSpec] = {s.name: s for s in PARAM_SPECS}
_DEFAULTS = {s.name: s.validate(s.default) for s in PARAM_SPECS}  # (what Params() makes of each default)


def _check_name(name: str) -> None:
    if name not in SPECS:
        raise ValueError(f"unknown parameter {name!r}{_suggest(name, SPECS)}; see `agency-sim params` for the list")


def _make_params_class():
    fields = [(s.name, s.kind, dataclasses.field(default=s.default)) for s in PARAM_SPECS]
    return dataclasses.make_dataclass("_ParamsBase", fields, frozen=True)


class Params(_make_params_class()):
    """All model parameters (frozen). Build with keywords, :meth:`preset` or :meth:`from_dict`.

    >>> p = Params(commission_rate=0.2)
    >>> p.replace(contract_weeks=104).contract_weeks
    104
    """

    def __init__(self, **kwargs):
        for name in kwargs:
            _check_name(name)
        # (a default is valid: validated once, when the module loads)
        self._settle(
            {s.name: s.validate(kwargs[s.name]) if s.name in kwargs else _DEFAULTS[s.name] for s in PARAM_SPECS}
        )

    def _settle(self, clean: dict[str, Any]) -> None:
        """Check how the valid values ``clean`` go together, and set them."""
        n = clean["agency_policy"].count(",") + 1
        if n not in (1, clean["n_agencies"]):
            raise ValueError(
                f"parameter 'agency_policy' = {clean['agency_policy']!r} names {n} policies "
                f"but n_agencies is {clean['n_agencies']}: give one policy for every "
                f"agency, or exactly one per agency"
            )
        if clean["focal_brands"] > clean["n_brands"]:
            raise ValueError(
                f"parameter 'focal_brands' = {clean['focal_brands']} is invalid: allowed is at "
                f"most n_brands ({clean['n_brands']})"
            )
        set_terms = [k for k in FOCAL_TERMS if clean[k] is not None]
        if set_terms and clean["focal_brands"] == 0:
            raise ValueError(
                f"parameter {set_terms[0]!r} is set but focal_brands is 0, so no brand would "
                "sign it: set focal_brands to the number of brands that sign the focal terms"
            )
        # the fields, as the dataclass's own __init__ sets them (in field order) but in one call,
        # not one frozen setattr each: a run makes two Params
        vars(self).update(clean)
        if self.reward_scale == "client_gmv" and self.choice_temperature == SPECS["choice_temperature"].default:
            import warnings

            warnings.warn(
                "choice_temperature 0.05 is sized for reward_scale='income'; on the client-GMV "
                "scale rewards are about five times smaller, and about 0.01 suits them",
                stacklevel=3,  # (the caller of Params() or replace())
            )

    def contract_terms(self, focal: bool = False) -> dict[str, Any]:
        """The contract terms a brand signs: the market's, or, for a focal brand, the focal terms
        where set (which brands are focal is the model's draw: ``AgencyMarket.focal``)."""
        if not isinstance(focal, (bool, np.bool_)):
            raise TypeError(f"contract_terms takes whether the brand is focal (a bool), got {focal!r}")
        terms = {market: getattr(self, market) for market in FOCAL_TERMS.values()}
        if focal and self.focal_brands:
            terms.update(
                {
                    market: getattr(self, focal)
                    for focal, market in FOCAL_TERMS.items()
                    if getattr(self, focal) is not None
                }
            )
        return terms

    def agency_policies(self) -> tuple[str, ...]:
        """The policy of each agency, in agency order."""
        names = tuple(self.agency_policy.split(","))
        return names * self.n_agencies if len(names) == 1 else names

    # --- constructors ---------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **changes) -> Params:
        """The named scenario of :data:`PRESETS`, with optional changes."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}{_suggest(name, PRESETS)}; allowed: {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name]["params"], **changes})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Params:
        """Parameters from a plain mapping (e.g. TOML or JSON); a ``preset`` key is applied first."""
        if not isinstance(d, Mapping):
            raise ValueError(
                f"parameters must be a mapping of name = value (a dict, a TOML or JSON table), got {type(d).__name__}"
            )
        bad = [k for k in d if not isinstance(k, str)]
        if bad:
            raise ValueError(f"parameter names must be strings, got {bad[0]!r}")
        d = dict(d)
        preset = d.pop("preset", None)
        return cls.preset(preset, **d) if preset is not None else cls(**d)

    def replace(self, **changes) -> Params:
        for name in changes:
            _check_name(name)
        # (this object's values are valid: only the changed ones are validated; each model of a run
        # with experience makes its pre-run's parameters so)
        new = object.__new__(Params)
        new._settle(
            {s.name: s.validate(changes[s.name]) if s.name in changes else getattr(self, s.name) for s in PARAM_SPECS}
        )
        return new

    def to_dict(self) -> dict[str, Any]:
        return {s.name: getattr(self, s.name) for s in PARAM_SPECS}

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.to_dict().items() if v != SPECS[k].default}
        inner = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"Params({inner})"


# Named scenarios. Each changes only what differs from the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "typical_tp": {
        "description": "Typical Tmall TP contract: moderate base fee, 8% commission, one-year terms, "
        "judged mostly on GMV growth.",
        "params": {"base_fee": 50_000.0, "commission_rate": 0.08, "contract_weeks": 52, "evaluation_brand_weight": 0.2},
    },
    "sales_is_king": {
        "description": "'Low fee, high commission': small base fee, 30% commission, renewal on GMV "
        "growth alone, short terms.",
        "params": {
            "base_fee": 5_000.0,
            "commission_rate": 0.30,
            "contract_weeks": 26,
            "evaluation_brand_weight": 0.0,
            "brand_bonus_rate": 0.0,
        },
    },
    "focal_sales_is_king": {
        "description": "One brand (drawn at random) signs 'low fee, high commission' (RMB 5,000 a month, 30%, "
        "26-week terms) while its rivals keep the typical TP contract; agencies learn, and "
        "arrive with two years of experience.",
        "params": {
            "base_fee": 50_000.0,
            "commission_rate": 0.08,
            "contract_weeks": 52,
            "evaluation_brand_weight": 0.2,
            "agency_policy": "learning",
            "experience_weeks": 104,
            "focal_brands": 1,
            "focal_base_fee": 5_000.0,
            "focal_commission_rate": 0.30,
            "focal_contract_weeks": 26,
            "focal_evaluation_brand_weight": 0.0,
        },
    },
    "brand_partnership": {
        "description": "Brand partnership: higher fee, 5% commission, a bonus on measured brand "
        "value, two-year terms, renewal weighted on the brand measure.",
        "params": {
            "base_fee": 80_000.0,
            "commission_rate": 0.05,
            "brand_bonus_rate": 0.3,
            "contract_weeks": 104,
            "evaluation_brand_weight": 0.6,
            "brand_measure_noise": 0.05,
        },
    },
    "region_sales_driven": {
        "description": "A region of sales-driven agencies (strong operations, weak brand skills) on "
        "low fee, high commission, short GMV-judged contracts; agencies imitate.",
        "params": {
            "agency_policy": "imitation",
            "sales_driven_share": 0.85,
            "base_fee": 10_000.0,
            "commission_rate": 0.25,
            "contract_weeks": 26,
            "evaluation_brand_weight": 0.0,
        },
    },
    "region_brand_driven": {
        "description": "A region of brand-driven agencies (strong brand and planning skills) on "
        "higher fees, lower commission and longer contracts; agencies imitate.",
        "params": {
            "agency_policy": "imitation",
            "sales_driven_share": 0.15,
            "base_fee": 60_000.0,
            "commission_rate": 0.05,
            "contract_weeks": 104,
            "evaluation_brand_weight": 0.5,
            "brand_bonus_rate": 0.2,
        },
    },
}


def param_table_markdown() -> str:
    """The parameter table (Markdown), generated from the declarations."""
    rows = ["| name | default | unit | allowed | description |", "|---|---|---|---|---|"]
    for s in PARAM_SPECS:
        rows.append(f"| `{s.name}` | {s.default!r} | {s.unit} | {s.allowed()} | {s.description} |")
    return "\n".join(rows)


README_BEGIN = "<!-- parameter table: generated by `agency-sim params --readme`; do not edit by hand -->"
README_END = "<!-- end of parameter table -->"


def update_readme(path: str = "README.md") -> bool:
    """Rewrite the parameter table between the README's markers; return True if it changed."""
    return rewrite_between(path, README_BEGIN, README_END, param_table_markdown())


def rewrite_between(path, begin: str, end: str, content: str) -> bool:
    """Replace the text between the marker lines ``begin`` and ``end`` of a file with
    ``content`` (generated docs tables); return True if the file changed."""
    from pathlib import Path

    doc = Path(path)
    text = doc.read_text(encoding="utf-8")
    start, stop = text.index(begin) + len(begin), text.index(end)
    new = text[:start] + "\n" + content + "\n" + text[stop:]
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text
