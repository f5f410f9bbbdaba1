"""The platform (Tmall): sales-rank feedback, paid traffic, the take rate and the festival calendar.

M6 of docs/ODD.md (section 7): a brand's organic traffic grows with its trailing sales velocity to a power
("sales is king"), and paid traffic (the "through train" cost-per-click ads, bought with the
brand's money) adds visibility on top. The platform takes a share of every RMB of GMV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .ledger import compiled_from_state, compiled_state

if TYPE_CHECKING:
    from .params import Params

FESTIVAL_WEEKS = (24, 45)  # 618 and Double 11, weeks of the year counted from 1
MAX_VISIBILITY = 0.95  # no brand is shown to every shopper every week
RANK_FLOOR = (
    0.05  # every brand's rank weight counts this share of the mean velocity: a brand with no sales is still found
)
PAID_SKILL_BASE = 0.5  # a click's effect is (this + the operator's ops skill): a poor operator still buys some reach


def is_festival(week: int) -> bool:
    """Whether model week ``week`` (counted from 0) is a festival week of the calendar."""
    return (week % 52) + 1 in FESTIVAL_WEEKS


class Platform:
    """Ranks the brands, sells paid traffic and keeps the calendar."""

    account = "platform"

    def __init__(self, params: Params, compiled=None):
        self.p = params
        # model.week_kernel where the market's kernel is compiled: the ranking's arithmetic then
        # runs in two compiled calls around NumPy's power (the same bits as the NumPy lines)
        self.compiled = compiled

    def __getstate__(self) -> dict:
        return compiled_state(self)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(compiled_from_state(state))

    @property
    def take_rate(self) -> float:
        return self.p.platform_take_rate

    def festival(self, week: int) -> bool:
        """A festival week that counts (the calendar can be switched off for ablation)."""
        return self.p.use_festivals and is_festival(week)

    def rank(self, velocity: np.ndarray) -> np.ndarray:
        """Organic visibility of each brand from its trailing sales velocity (units per week).

        ``velocity`` is the model's own array (no copy is made each week): a platform reads it,
        and neither keeps nor writes it."""
        p = self.p
        J = len(velocity)
        if not p.use_rank_feedback:
            return np.full(J, p.organic_visibility)
        if self.compiled is not None:
            organic = np.empty(J)
            self.compiled.rank_base(velocity, RANK_FLOOR, organic)
            organic **= p.rank_feedback  # (the weights; ** as the NumPy lines, with its fast exponents)
            self.compiled.rank_shares(organic, p.organic_visibility * J, MAX_VISIBILITY)
            return organic
        w = (
            velocity + RANK_FLOOR * (velocity.sum() / J) + 1e-9
        ) ** p.rank_feedback  # (the mean: np.mean's sum and division)
        return np.minimum(p.organic_visibility * J * w / w.sum(), MAX_VISIBILITY)

    def paid_visibility(
        self, paid_traffic: np.ndarray, ops_skill: np.ndarray, price: np.ndarray | None = None
    ) -> np.ndarray:
        """Share of the category's shoppers shown each brand by the clicks its budget buys.

        Each effective click shows the brand to one shopper; repeats hit the same shoppers, so
        visibility saturates. Better front-end operators get more out of a click. ``price`` is
        each brand's price of a click as a multiple of ``cost_per_click`` (None: 1 for all).
        """
        p = self.p
        clicks = paid_traffic / (p.cost_per_click if price is None else p.cost_per_click * price)
        skill = PAID_SKILL_BASE + ops_skill
        return self.reach_of_clicks(-clicks * skill / p.market_shoppers)

    @staticmethod
    def reach_of_clicks(exponent: np.ndarray) -> np.ndarray:
        """Visibility bought, from ``exponent`` = - effective clicks / shoppers (repeats saturate)."""
        return np.minimum(1 - np.exp(exponent), MAX_VISIBILITY)

    @staticmethod
    def visibility(organic: np.ndarray, paid: np.ndarray) -> np.ndarray:
        """Chance a shopper sees the brand this week, organically or through an ad."""
        return 1 - (1 - organic) * (1 - paid)
