"""Contracts between a brand and its agency (M8): payments, evaluation and renewal."""

from __future__ import annotations

from dataclasses import dataclass

from .params import Params

WEEKS_PER_MONTH = 52 / 12


@dataclass
class Contract:
    """One contract term. Money in RMB; ``base_fee`` per month, paid weekly."""

    agency: int
    start_week: int
    weeks: int
    base_fee: float
    commission_rate: float
    brand_bonus_rate: float
    brand_weight: float
    renewal_threshold: float
    gmv_baseline: float  # mean weekly GMV before the term (what growth is measured against)
    measure_start: float  # brand measure (index) at the start of the term
    reliability: float = 1.0  # how much of a measured brand-value change the brand believes
    gmv_total: float = 0.0
    paid: float = 0.0  # fees, commission and bonus paid to the agency this term
    weeks_run: int = 0

    @classmethod
    def from_params(cls, p: Params, agency: int, start_week: int, gmv_baseline: float,
                    measure_start: float) -> "Contract":
        return cls(agency=agency, start_week=start_week, weeks=p.contract_weeks,
                   base_fee=p.base_fee, commission_rate=p.commission_rate,
                   brand_bonus_rate=p.brand_bonus_rate, brand_weight=p.evaluation_brand_weight,
                   renewal_threshold=p.renewal_threshold, gmv_baseline=gmv_baseline,
                   measure_start=measure_start, reliability=measure_reliability(p))

    @classmethod
    def in_house(cls, p: Params, start_week: int, gmv_baseline: float, measure_start: float) -> "Contract":
        """A brand running its own store: no payments, reviewed by the same rule."""
        return cls.from_params(p.replace(base_fee=0.0, commission_rate=0.0, brand_bonus_rate=0.0),
                               agency=-1, start_week=start_week, gmv_baseline=gmv_baseline,
                               measure_start=measure_start)

    def weekly_payments(self, gmv: float, measure_now: float, value_base: float) -> dict[str, float]:
        """Fee, commission and brand bonus owed for one week.

        The bonus is a share of the measured rise of the weekly revenue premium since the term
        began (``measure`` is an index of the brand's week-0 value ``value_base``).
        """
        rise = max(measure_now - self.measure_start, 0.0) * max(value_base, 0.0)
        return {"fee": self.base_fee / WEEKS_PER_MONTH,
                "commission": self.commission_rate * gmv,
                "bonus": self.brand_bonus_rate * rise}

    def book_week(self, gmv: float) -> None:
        self.gmv_total += gmv
        self.weeks_run += 1

    @property
    def ended(self) -> bool:
        return self.weeks_run >= self.weeks

    def score(self, measure_now: float) -> dict[str, float]:
        """The brand's evaluation at the end of the term.

        GMV growth is read off the books. Brand-value growth is the brand's best estimate from
        its tracking survey: the measured change shrunk by the survey's ``reliability``.
        """
        mean_gmv = self.gmv_total / max(self.weeks_run, 1)
        gmv_growth = mean_gmv / self.gmv_baseline - 1 if self.gmv_baseline > 0 else 0.0
        measured = measure_now - self.measure_start
        brand_growth = self.reliability * measured
        w = self.brand_weight
        score = (1 - w) * gmv_growth + w * brand_growth
        return {"gmv_growth": gmv_growth, "measured_brand_growth": measured,
                "brand_growth": brand_growth, "score": score, "renew": score >= self.renewal_threshold}


def measure_reliability(p: Params) -> float:
    """Share of a measured brand-value change the brand takes as real (signal extraction).

    The change over a term is the difference of two survey readings, each with noise sd
    ``brand_measure_noise``; the brand's prior on the true change has sd ``brand_change_prior_sd``.
    Its posterior mean of the true change is the measured change times
    prior variance / (prior variance + 2 noise variance), so a noisy survey counts for little.
    With ``use_measure_shrinkage`` off the brand takes the reading at face value.
    """
    if not p.use_measure_shrinkage:
        return 1.0
    prior, noise = p.brand_change_prior_sd ** 2, p.brand_measure_noise ** 2
    return prior / (prior + 2 * noise)  # prior > 0: the parameter is bounded away from 0
