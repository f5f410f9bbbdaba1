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
        """The brand's evaluation at the end of the term."""
        mean_gmv = self.gmv_total / max(self.weeks_run, 1)
        gmv_growth = mean_gmv / self.gmv_baseline - 1 if self.gmv_baseline > 0 else 0.0
        brand_growth = measure_now - self.measure_start
        w = self.brand_weight
        score = (1 - w) * gmv_growth + w * brand_growth
        return {"gmv_growth": gmv_growth, "brand_growth": brand_growth, "score": score,
                "renew": score >= self.renewal_threshold}
