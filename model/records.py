"""What the model records: the weekly reporters, the per-brand and per-agency rows, the run summary.

The names of :data:`MODEL_REPORTERS` and :data:`SUMMARY_KEYS` are API (their definitions:
docs/ODD.md section 7, "Reading brand value"): tests, notebooks, experiments and outside users
read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from . import outcomes
from .agents import ALPHABETICAL
from .outcomes import (  # noqa: F401  (re-exported: their names are API)
    BRAND_OUTCOMES,
    BRAND_VALUE_WINDOW,
    FOCAL_SUMMARY_KEYS,
    SHORT_TERM_WEEKS,
    SUMMARY_KEYS,
    YEAR,
    BrandWeeks,
    window_change,
)
from .policies import STRATEGY_INDEX, STRATEGY_NAMES, numpy_sum

if TYPE_CHECKING:
    import pandas as pd

    from .market import Offer, WeekSales
    from .model import Settlement

MODEL_REPORTERS = (
    "week",
    "gmv",
    "units",
    "avg_discount",
    "promo_share",
    "promo_strategy_share",
    "brand_value",
    "brand_value_index",
    "mean_image",
    "mean_awareness",
    "mean_deal_proneness",
    "mean_reference_price_ratio",
    "brand_profit",
    "agency_profit",
    "platform_revenue",
    "consumer_surplus",
    "contract_switches",
    "in_house_share",
)
PROMOTION = STRATEGY_INDEX["promotion"]
STRATEGY_ARRAY = np.array(STRATEGY_NAMES, dtype=object)  # the brand table's strategy column from indices
BRAND_COLUMNS = (
    "week",
    "brand",
    "agency",
    "units",
    "gmv",
    "price",
    "discount",
    "brand_value",
    "image",
    "awareness",
)  # at least these (API); more follow in Records.collect
AGENCY_COLUMNS = (
    "week",
    "agency",
    "archetype",
    "policy",
    "clients",
    "strategy",
    "promotion_clients",
    "profit",
    "reputation",
    "p_promotion",
)


class WeeklyReporters(mesa.DataCollector):
    """Mesa's DataCollector of the weekly reporters (:data:`MODEL_REPORTERS`), read from
    :attr:`Records.last`.

    The reporters are numbers the records have already computed for the week, so
    :meth:`collect` keeps the week's values as the records hold them: Mesa's own collect calls a
    function per reporter and deep-copies each value (a guard for reporters that return mutable
    objects), which cost about as much as a 2,000-consumer market's whole week of shopping.
    The weeks kept are appended to ``model_vars``'s lists when it is next read (a reader sees
    every week collected so far), all reporters of all those weeks at once instead of eighteen
    appends a week. Its table is made from :meth:`columns`, arrays, which pandas takes in half
    the time of lists. Everything else (the other tables) is Mesa's.
    """

    def __init__(self) -> None:
        self._unread: list[tuple] = []  # the weeks' reporters not yet in model_vars (in MODEL_REPORTERS's order)
        super().__init__(model_reporters={name: (lambda m, k=name: m.records.last[k]) for name in MODEL_REPORTERS})

    @property
    def model_vars(self) -> dict[str, list]:
        """Mesa's lists of each reporter's value week by week (a Python int or float each week)."""
        unread = self._unread
        if unread:
            for name, values in zip(MODEL_REPORTERS, zip(*unread)):
                self._model_vars[name].extend(values)
            unread.clear()  # (in place: a shallow copy of the reporters shares these lists, as Mesa's)
        return self._model_vars

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        self._model_vars = value

    def _own(self) -> bool:
        """Whether the reporters are :data:`MODEL_REPORTERS` alone (no one added reporters of their own)."""
        return len(self.model_reporters) == len(MODEL_REPORTERS) and not self.agent_reporters

    def collect(self, model) -> None:
        if not self._own():
            return super().collect(model)
        times = getattr(self, "_collection_steps", None)  # the model times collected (Mesa 3.4.1+)
        if times is not None:  # (as Mesa's collect keeps them: mesa.batch_run takes its rows' weeks from them)
            times.append(model.time)
        self._unread.append(model.records._reported)

    def columns(self) -> dict[str, np.ndarray]:
        """Each reporter's values over the recorded weeks, an array (a Python int or float each
        week: int64 or float64, what pandas infers from the list)."""
        return {name: np.array(self.model_vars[name]) for name in MODEL_REPORTERS}

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        if not self._own() or not self.model_vars[MODEL_REPORTERS[0]]:  # (no week: Mesa's columns of no type)
            return super().get_model_vars_dataframe()
        import pandas as pd

        return pd.DataFrame(self.columns())


# the brand table's columns after week, brand, agency and strategy: where each week's values come from
_BRAND_ARRAYS = (
    "units",
    "gmv",
    "price",
    "regular_price",
    "discount",
    "paid_traffic",
    "brand_effort",
    "visibility",
    "brand_value",
    "brand_value_index",
    "brand_measure",
    "image",
    "goodwill",
    "awareness",
    "profit",
    "paid_to_agency",  # fees, commission and bonus
    "agency_labour",  # what running the store cost the agency
)
_CHUNK = 64  # weeks of brand rows per block of storage
# the order Records.collect stores the float columns in: the five it sums for the reporters first,
# brand_value_index (divided into place) last, the others in the table's order between (the
# compiled records, model.week_kernel.record_week, find each column's row here)
_SUMS = ("units", "gmv", "brand_value", "image", "profit")
STORED_COLUMNS = (
    *_SUMS,
    *(c for c in _BRAND_ARRAYS if c not in _SUMS and c != "brand_value_index"),
    "brand_value_index",
)
_SUMMED, _INDEX_ROW = len(_SUMS), len(STORED_COLUMNS) - 1  # the summed rows; brand_value_index's row


_AWARENESS_ROW = STORED_COLUMNS.index("awareness")  # (the one stored column the market makes for the records)


def _brand_rows(state, plans, offer: Offer, sales: WeekSales, money: Settlement) -> tuple:
    """The week's arrays over brands that the records store as they are: every column of
    :data:`STORED_COLUMNS` but ``awareness`` (the market's) and ``brand_value_index`` (divided
    into place), in that order."""
    return (
        sales.units,
        sales.revenue,
        state.brand_value,
        state.image,
        money.brand_profit,
        offer.price,
        offer.regular_price,
        offer.discount,
        plans.paid_traffic,
        plans.brand_effort,
        offer.visibility,
        state.measure,
        state.goodwill,
        money.paid_to_agency,
        money.agency_labour,
    )


def _new_block(J: int, agency: np.ndarray, strategy: np.ndarray) -> dict[str, np.ndarray]:
    """Storage for _CHUNK weeks of brand rows: an array (weeks x brands) per column. The float
    columns are views into one float64 array (weeks x columns x brands), each week's rows next
    to each other (``"_float"``), so a week is copied in with one call."""
    every = np.empty((_CHUNK, len(STORED_COLUMNS), J))
    block = {"agency": np.empty((_CHUNK, J), agency.dtype), "strategy": np.empty((_CHUNK, J), strategy.dtype)}
    block.update(_float_columns(every), _float=every)
    return block


def _float_columns(every: np.ndarray) -> dict[str, np.ndarray]:
    """A block's float columns by name, views of its one float array (weeks x columns x brands)."""
    return {c: every[:, k] for k, c in enumerate(STORED_COLUMNS)}


def _views_of_float(block: dict) -> bool:
    """Whether a block's float columns are views of its ``_float`` array (as :func:`_new_block` makes them)."""
    return "_float" in block and all(block[c].base is block["_float"] for c in STORED_COLUMNS)


class Records:
    """The week's reporters (``last``) and the long per-brand and per-agency tables.

    The brand rows are kept as blocks of ``_CHUNK`` weeks, an array (weeks x brands) per
    column, and the agency rows as lists over weeks x agencies of what only the agencies
    know; the tables are made from them at the end (their strategy names, the agencies'
    clients and strategy counts, from the brand rows, and the week and brand columns only then).
    """

    def __init__(self) -> None:
        self._reported: tuple = ()  # the last recorded week's reporters, in MODEL_REPORTERS's order
        self._last: dict[str, Any] | None = None  # ... as the dict `last` (made when first read)
        self._weeks: list[int] = []  # the recorded weeks
        self._blocks: list[dict[str, np.ndarray]] = []  # brand rows: per column, _CHUNK weeks x brands
        self._filled = _CHUNK  # rows filled in the last block
        # agency rows: the reputations, the policies' p_promotion, their strategy_for_all (None:
        # the policy runs no one strategy for every client) and the profits, each one list over
        # weeks x agencies (a week's after the last's: no container kept a week, which the garbage
        # collector would walk); the clients and strategy counts come from the brand rows at the end
        self._agency_rows: tuple[list, list, list, list] = ([], [], [], [])
        self._agencies: dict[str, list] = {}  # the columns that do not change: index, archetype, policy
        self._defaults: list[str] = []  # each agency's policy's default strategy

    def __getstate__(self) -> dict:
        """What pickles or copies: each block's float columns are views of its ``_float`` array,
        which a copy would split (the copy would then record new weeks where its columns do not
        look); they are left out and made again as views when loaded."""
        blocks = [
            {k: b[k] for k in ("agency", "strategy", "_float")} if _views_of_float(b) else b for b in self._blocks
        ]  # (a block loaded from an older pickle keeps the columns it has)
        return {**self.__dict__, "_blocks": blocks}

    def __setstate__(self, state: dict) -> None:
        """Records pickled with older agency rows load as today's, so a result pickled with its
        tables unread can still build them (``_agency_weeks``): a tuple per agency a week (clients,
        reputation, p_promotion, strategy_for_all, profit), and before that a dict of per-column
        lists (with each week's strategy counts). Their clients and counts now come from the
        brand rows. (And their reporters' dict ``last`` is read as it was.)"""
        state = dict(state)
        rows = state.pop("_agency_weeks", None)
        if rows is not None:
            if isinstance(rows, dict):
                columns = ("clients", "reputation", "p_promotion", "one", "profit")  # (the tuples' order)
                rows = [list(zip(*week)) for week in zip(*(rows[c] for c in columns))]
            # a tuple per agency a week: (clients, reputation, p_promotion, strategy_for_all, profit)
            state["_agency_rows"] = tuple([row[k] for week in rows for row in week] for k in range(1, 5))
        for block in state.get("_blocks", ()):  # the float columns, views of _float again (a
            if block.keys() == {"agency", "strategy", "_float"}:  # block pickled before kept its own copies)
                block.update(_float_columns(block["_float"]))
        self.__dict__.update(state)
        if "last" in state:  # (the reporters' dict itself, before it was made when read)
            self._last, self._reported = self.__dict__.pop("last"), ()

    @property
    def last(self) -> dict[str, Any]:
        """The last recorded week's reporters by name (:data:`MODEL_REPORTERS`; empty before the
        first week). A new dict each week, made when first read: most weeks of a run nobody reads it."""
        last = self._last
        if last is None:
            last = self._last = dict(zip(MODEL_REPORTERS, self._reported))
        return last

    @property
    def n_weeks(self) -> int:
        """The number of recorded weeks."""
        return len(self._weeks)

    def collect(self, model, plans, offer: Offer, sales: WeekSales, money: Settlement, switches: int) -> None:
        """Step 7 of the week: the reporters and one row per brand and per agency."""
        agencies, units, J = model.agencies, sales.units, len(sales.units)
        i = self._filled
        if i == _CHUNK:
            self._blocks.append(_new_block(J, model.agency_of(), model.brand_state.strategy))
            i = 0
        block = self._blocks[-1]
        tables = model.market.reporter_tables() if model.compiled is not None else None
        if tables is None:
            sums = self._week_numpy(model, plans, offer, sales, money, block, i)
        else:
            sums = self._week_compiled(model, plans, offer, sales, money, block, i, tables)
        (total_units, gmv, value_total, image_total, profit_total, promo_units, awareness, deal, reference_ratio,
         agency_total, promotion, in_house) = sums  # fmt: skip
        self._filled = i + 1
        self._weeks.append(model.week)
        self._reported = (  # the reporters, in MODEL_REPORTERS's order (last: as a dict, made when read)
            model.week,
            gmv,
            total_units,
            float(units.dot(offer.discount) / total_units) if total_units else 0.0,  # avg_discount
            promo_units / total_units if total_units else 0.0,  # promo_share
            promotion / J,  # promo_strategy_share
            value_total,
            value_total / model.initial_value_total,  # brand_value_index
            float(image_total / J),  # mean_image (np.mean's sum and division)
            awareness,
            deal,
            reference_ratio,
            profit_total,
            agency_total,
            model.ledger.week_change("platform"),
            sales.consumer_surplus,
            switches,
            in_house / J,  # in_house_share
        )
        self._last = None

        if not self._agencies:  # what does not change: each agency's index, archetype and policy
            self._agencies = {
                "agency": [a.index for a in agencies],
                "archetype": [a.archetype for a in agencies],
                "policy": [a.policy.name for a in agencies],
            }
            self._defaults = [a.policy.default for a in agencies]
        kind = model.market_kind
        reputation, p_promotion, one, profit = self._agency_rows
        reputation.extend([a.reputation for a in agencies])
        p_promotion.extend([a.policy.probability("promotion", kind) for a in agencies])
        one.extend([a.policy.strategy_for_all() for a in agencies])
        profit.extend(money.agency_profit.tolist())

    def _week_numpy(self, model, plans, offer: Offer, sales: WeekSales, money: Settlement, block: dict, i: int):
        """The week's brand rows into row ``i`` of ``block`` and the reporters' sums and counts:
        of units, GMV, brand value, image and brand profit, the units sold at a discount, the
        market's three means, the agencies' profit, the stores on the promotion strategy and
        in-house. The reference lines (:meth:`_week_compiled` does the same in one call)."""
        market, state = model.market, model.brand_state
        units, values, agency, strategy = sales.units, state.brand_value, model.agency_of(), state.strategy
        # the week's brand rows, the summed columns first (STORED_COLUMNS's order)
        given = _brand_rows(state, plans, offer, sales, money)
        row = (*given[:_AWARENESS_ROW], market.awareness_by_brand(), *given[_AWARENESS_ROW:])
        block["agency"][i] = agency
        block["strategy"][i] = strategy
        week = block["_float"][i]  # the week's float rows in one go, and the reporters' sums of five
        np.concatenate(row, out=week[:_INDEX_ROW].reshape(-1))
        np.divide(values, state.value_base, out=week[_INDEX_ROW])
        # small sums and counts on Python lists: a NumPy call costs more than the arithmetic here
        promo_units = numpy_sum([u for u, d in zip(units.tolist(), offer.discount.tolist()) if d > 0])
        return (
            *week[:_SUMMED].sum(axis=1).tolist(),
            promo_units,
            market.mean_awareness(),
            market.mean_deal_proneness(),
            market.mean_reference_price_ratio(offer.regular_price),
            numpy_sum(money.agency_profit.tolist()),
            strategy.tolist().count(PROMOTION),
            agency.tolist().count(-1),
        )

    def _week_compiled(self, model, plans, offer, sales, money, block: dict, i: int, tables: tuple):
        """:meth:`_week_numpy` in one compiled call (:func:`model.week_kernel.record_week`; the
        same bits), the market's means from its shopping pass's per-block ``tables``."""
        market, state = model.market, model.brand_state
        return model.compiled.record_week(
            *_brand_rows(state, plans, offer, sales, money),
            state.value_base,
            *tables,
            money.agency_profit,
            model.agency_of(),
            state.strategy,
            market.n,
            market.price_unit,
            PROMOTION,
            block["_float"],
            block["agency"],
            block["strategy"],
            i,
        )

    def _column(self, name: str) -> np.ndarray:
        """A brand column over the recorded weeks (weeks x brands, a new C-contiguous array)."""
        parts = [b[name] for b in self._blocks]
        if parts:
            parts[-1] = parts[-1][: self._filled]
        return np.concatenate(parts)

    @property
    def brand_rows(self) -> list[dict[str, np.ndarray]]:
        """The brand table's rows of each recorded week: a dict of the columns' arrays over
        brands per week (made on demand)."""
        if not self._weeks:
            return []
        columns = {c: self._column(c) for c in ("agency", "strategy", *_BRAND_ARRAYS)}
        J = columns["agency"].shape[1]
        return [
            {
                "week": np.full(J, week),
                "brand": np.arange(J),
                **{c: v[t] for c, v in columns.items()},
                "strategy": STRATEGY_ARRAY[columns["strategy"][t]],
            }
            for t, week in enumerate(self._weeks)
        ]

    def brand_table(self) -> pd.DataFrame:
        import pandas as pd

        if not self._weeks:
            return pd.DataFrame(columns=list(BRAND_COLUMNS))
        agency = self._column("agency")
        W, J = agency.shape
        columns = {
            "week": np.repeat(np.array(self._weeks), J),
            "brand": np.tile(np.arange(J), W),
            "agency": agency.ravel(),
            "strategy": STRATEGY_ARRAY[self._column("strategy").ravel()],
        }
        columns.update({c: self._column(c).ravel() for c in _BRAND_ARRAYS})
        return pd.DataFrame(columns)

    def _agency_counts(self) -> np.ndarray:
        """Each recorded week's strategy counts of each agency's clients (weeks x agencies x
        strategies): the rows of :func:`model.agents.strategy_counts`, from the brand rows."""
        n, A = len(STRATEGY_NAMES), len(self._defaults)
        agency, strategy = self._column("agency").astype(np.intp), self._column("strategy").astype(np.intp)
        W = len(agency)
        # a cell per week, operator (in-house first, then each agency) and strategy
        cells = (np.arange(W)[:, None] * (A + 1) + agency + 1) * n + strategy
        return np.bincount(cells.ravel(), minlength=W * (A + 1) * n).reshape(W, A + 1, n)[:, 1:, :]

    def agency_strategies(self, counts: np.ndarray | None = None) -> list[str]:
        """The agency table's strategy column: what each agency ran each recorded week
        (:meth:`model.agents.Agency.current_strategy`, from the counts of that week)."""
        if not self._weeks:
            return []
        if counts is None:
            counts = self._agency_counts()
        # the most common strategy, ties to the first in alphabetical order; none: the policy's default
        alphabetical = np.array(ALPHABETICAL)
        common = alphabetical[counts[:, :, alphabetical].argmax(axis=2)]
        names = np.where(counts.any(axis=2), STRATEGY_ARRAY[common], np.array(self._defaults, dtype=object))
        out = names.ravel().tolist()
        for i, name in enumerate(self._agency_rows[2]):
            if name is not None:  # a policy that runs one strategy for every client
                out[i] = name
        return out

    def agency_table(self) -> pd.DataFrame:
        import pandas as pd

        if not self._weeks:
            return pd.DataFrame(columns=list(AGENCY_COLUMNS))
        weeks, A = len(self._weeks), len(self._defaults)
        counts = self._agency_counts()
        # (the numbers as the arrays pandas would infer from their lists: int64 and float64)
        reputation, p_promotion, _, profit = self._agency_rows
        columns = {
            "clients": counts.sum(axis=2).ravel(),  # (each store counted once, under its operator)
            "reputation": np.array(reputation),
            "p_promotion": np.array(p_promotion),
            "profit": np.array(profit),
        }
        columns["week"] = np.repeat(np.array(self._weeks), A)
        columns["agency"] = np.tile(np.array(self._agencies["agency"]), weeks)
        columns["strategy"] = self.agency_strategies(counts)
        columns["promotion_clients"] = counts[:, :, PROMOTION].ravel()
        columns.update({c: self._agencies[c] * weeks for c in ("archetype", "policy")})
        return pd.DataFrame({c: columns[c] for c in AGENCY_COLUMNS})


def brand_outcomes(model) -> pd.DataFrame:
    """One row per brand: its outcomes over the run (:data:`BRAND_OUTCOMES`, declared in
    :mod:`model.outcomes`), with ``brand``, ``focal`` (whether it signed the focal terms) and
    ``initial_brand_value``."""
    return table_of(brand_outcome_columns(model))


def brand_outcome_columns(model) -> dict[str, np.ndarray]:
    """:func:`brand_outcomes`'s columns, an array over brands each (what the run summary reads)."""
    records = model.records
    J = model.p.n_brands
    initial = np.asarray(model.initial_values, dtype=np.float64)

    def weekly(column: str) -> np.ndarray:
        if not records.n_weeks:
            return np.zeros((0, J))
        return np.asarray(records._column(column), dtype=np.float64).reshape(records.n_weeks, J)

    columns = {
        "gmv": "gmv",
        "value": "brand_value",
        "profit": "profit",
        "paid": "paid_to_agency",
        "labour": "agency_labour",
    }
    promo = records._column("strategy") == PROMOTION if records.n_weeks else np.zeros((0, J), dtype=bool)
    weeks = BrandWeeks(
        **{field: weekly(column) for field, column in columns.items()},
        promo=promo.reshape(records.n_weeks, J),
        initial=initial,
        value_base=model.brand_state.value_base,
    )
    front = {"brand": np.arange(J), "focal": np.asarray(model.focal, dtype=bool), "initial_brand_value": initial}
    return {**front, **outcomes.brand_table(weeks)}


def table_of(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The table of ``columns`` (1-D arrays of one length): ``pd.DataFrame(columns)``'s columns,
    dtypes, values and index, made by pandas' constructor from column arrays
    (``DataFrame._from_arrays``) without inferring every array's type again; where a pandas
    lacks it or takes it otherwise, by the public constructor. A run makes two such tables right
    after the market's passes, with pandas' code out of the CPU's caches: the public constructor
    cost a millisecond of a run there. (Both copy the arrays into the table.)"""
    import pandas as pd

    arrays = list(columns.values())
    from_arrays = getattr(pd.DataFrame, "_from_arrays", None)
    if from_arrays is not None and arrays:
        try:
            return from_arrays(arrays, columns=_column_index(tuple(columns)), index=pd.RangeIndex(len(arrays[0])))
        except TypeError:  # (a pandas whose private constructor takes other arguments)
            pass
    return pd.DataFrame(dict(columns))


_COLUMN_INDEXES: dict[tuple[str, ...], Any] = {}


def _column_index(names: tuple[str, ...]):
    """The index of these column names: a copy of one made once (making it, pandas works out the
    names' type again, ten times the copy; a table's index is its own to rename)."""
    index = _COLUMN_INDEXES.get(names)
    if index is None:
        import pandas as pd

        index = _COLUMN_INDEXES[names] = pd.Index(list(names))
    return index.copy()
