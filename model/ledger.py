"""One double-entry ledger for every transfer of money (M7), held as arrays.

Every transfer moves an amount from one account to another, so the balances always sum to
zero. Accounts are named ``consumers``, ``platform``, ``suppliers`` (cost of goods),
``labour`` (agencies' and in-house staff's own costs), ``brand:J`` and ``agency:K``; each has
an index, and a week's transfers of one kind are booked for all brands at once
(:meth:`Ledger.transfer_many`). The ledger keeps running balances, this week's change of every
account, and this week's flows by (source, target, kind).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np


class BookingPlan(NamedTuple):
    """The accounts of a batch of transfers (:meth:`Ledger.plan`): every row's source and target
    account, in the batch's order, and each transfer's kind and rows (``bounds[i]`` to
    ``bounds[i + 1]``)."""

    sources: np.ndarray
    targets: np.ndarray
    kinds: tuple[str, ...]
    bounds: tuple[int, ...]
    rows: int


def frozen(a: np.ndarray) -> np.ndarray:
    """``a``, made read-only (for arrays handed out to be read, never changed in place)."""
    a.flags.writeable = False
    return a


def compiled_state(obj) -> dict:
    """``obj``'s attributes to pickle or copy, its ``compiled`` module (which does not pickle) as a
    flag that :func:`compiled_from_state` turns back into the module."""
    return {**obj.__dict__, "compiled": obj.compiled is not None}


def compiled_from_state(state: dict) -> dict:
    """The attributes :func:`compiled_state` gave, with ``compiled`` the module again; None if it
    was None or missing (an object pickled before it kept compiled code), or if numba does not
    import where the pickle is loaded (the NumPy lines then run: the same numbers)."""
    week_kernel = None
    if state.get("compiled") is True:
        try:
            from . import week_kernel
        except ImportError:
            pass
    return {**state, "compiled": week_kernel}


class Ledger:
    def __init__(self, accounts: Iterable[str] = (), compiled=None):
        # model.week_kernel where the compiled path runs: a booking is then one compiled call
        # (the same bits as the NumPy lines of book)
        self.compiled = compiled
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self._balances = np.zeros(0)
        self._week = np.zeros(0)
        self._log: list[tuple[BookingPlan, np.ndarray]] = []  # this week's bookings
        self._single: dict[tuple[int, int], np.ndarray] = {}  # (account, rows) -> that account on every row
        self.accounts(accounts)

    def __getstate__(self) -> dict:
        return compiled_state(self)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(compiled_from_state(state))

    def account(self, name: str) -> int:
        """The index of account ``name`` (opened at zero if new)."""
        i = self.index.get(name)
        return self._open([name])[0] if i is None else i

    def accounts(self, names: Iterable[str]) -> np.ndarray:
        """The indices of accounts ``names`` (the new ones opened at zero, all in one go)."""
        names = list(names)
        indices = [self.index.get(n) for n in names]
        if None in indices:
            indices = self._open(names)
        return np.array(indices, dtype=np.intp)

    def _open(self, names: list[str]) -> list[int]:
        """The indices of accounts ``names``, opening at zero those that are new (the balances
        grow once for them all: a model opens its twenty-odd accounts at set-up)."""
        for name in names:
            if name not in self.index:
                self.index[name] = len(self.names)
                self.names.append(name)
        opened = np.zeros(len(self.names) - len(self._balances))
        self._balances = np.concatenate((self._balances, opened))
        self._week = np.concatenate((self._week, opened))
        return [self.index[n] for n in names]

    # --- booking ---------------------------------------------------------------------------------
    def transfer(self, source: str, target: str, amount: float, kind: str) -> None:
        """Move ``amount`` RMB from ``source`` to ``target``; ``kind`` labels the flow."""
        self.transfer_many(
            np.array([self.account(source)]), np.array([self.account(target)]), np.array([float(amount)]), kind
        )

    def transfer_many(
        self, sources: np.ndarray | int, targets: np.ndarray | int, amounts: np.ndarray, kind: str
    ) -> None:
        """Move ``amounts[i]`` from account ``sources[i]`` to ``targets[i]`` (indices; a single
        index stands for every row). A negative amount is a transfer the other way; zero
        amounts are not booked. An account's net change of the call is booked once."""
        self.transfer_batch([(sources, targets, amounts, kind)])

    def transfer_batch(self, transfers: Iterable[tuple]) -> None:
        """Several :meth:`transfer_many` calls, ``(sources, targets, amounts, kind)`` each, booked
        at once (one net change per account for the lot: a week's transfers cost one call).
        Every amount is checked before anything is booked; the rows are logged as given (zero
        and negative rows are sorted out when :attr:`week_flows` reads them)."""
        transfers = list(transfers)
        if not transfers:
            return
        amounts = [np.array(a, dtype=np.float64, ndmin=1) for _, _, a, _ in transfers]
        plan = self.plan([(src, tgt, len(a), kind) for (src, tgt, _, kind), a in zip(transfers, amounts)])
        self.book(plan, amounts)

    def plan(self, transfers: Iterable[tuple]) -> BookingPlan:
        """The accounts of a batch of transfers, ``(sources, targets, rows, kind)`` each (an index
        array, or one index for every row), as one :class:`BookingPlan`: a caller that books the
        same accounts week after week makes it once and passes it to :meth:`book`."""
        sources, targets, kinds, bounds = [], [], [], [0]
        for src, tgt, n, kind in transfers:
            sources.append(self._rows(src, n))
            targets.append(self._rows(tgt, n))
            kinds.append(kind)
            bounds.append(bounds[-1] + n)
        n = bounds[-1]
        return BookingPlan(
            frozen(np.concatenate(sources) if sources else np.zeros(0, np.intp)),
            frozen(np.concatenate(targets) if targets else np.zeros(0, np.intp)),
            tuple(kinds),
            tuple(bounds),
            n,
        )

    def book(self, plan: BookingPlan, amounts: list[np.ndarray] | np.ndarray) -> None:
        """Book ``amounts`` (an array per transfer of ``plan``, in its order, or all of them in
        one new array the ledger may keep) in one go."""
        if type(amounts) is not np.ndarray:
            amounts = np.concatenate(amounts) if amounts else np.zeros(0)  # (the log keeps this new array)
        if len(amounts) != plan.rows:
            raise ValueError(f"{len(amounts)} amounts for a booking plan of {plan.rows} rows")
        if self.compiled is not None and amounts.dtype == np.float64:
            if self.compiled.book(plan.targets, plan.sources, amounts, self._balances, self._week):
                self._log.append((plan, amounts))
                return
        if not np.isfinite(amounts).all():  # name the first bad kind; nothing is booked
            for kind, a, b in zip(plan.kinds, plan.bounds, plan.bounds[1:]):
                if not np.isfinite(amounts[a:b]).all():
                    raise RuntimeError(
                        f"non-finite transfer {kind!r}: {amounts[a:b]} (an internal failure of the model, "
                        "not a bad input: please report it with the parameters and seed)"
                    )
        n = len(self._balances)
        change = np.bincount(plan.targets, weights=amounts, minlength=n)
        change -= np.bincount(plan.sources, weights=amounts, minlength=n)
        self._balances += change
        self._week += change
        self._log.append((plan, amounts))

    def booking_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The balances and the week's changes, for a compiled call that books a plan on them
        itself, as :meth:`book` would (checked, then booked), in the call that works out the
        amounts (:func:`model.week_kernel.settle_week`); its caller then hands the outcome to
        :meth:`booked_by_call`."""
        return self._balances, self._week

    def booked_by_call(self, plan: BookingPlan, amounts: np.ndarray, booked: bool) -> None:
        """A compiled call booked ``plan``'s ``amounts`` on :meth:`booking_arrays` (``booked``) or
        refused them, having booked nothing: log the booking, or raise, naming the kind of a
        non-finite amount as :meth:`book` does (and if :meth:`book` would have booked what the
        call refused, say so: a week is never booked twice, nor taken as booked)."""
        if booked:
            self._log.append((plan, amounts))
            return
        self.book(plan, amounts)  # (refuses them, naming the kind: nothing is booked)
        raise RuntimeError(
            "a compiled booking refused amounts the ledger's NumPy lines booked (an internal failure of the "
            "model: please report it with the parameters and seed)"
        )

    def _rows(self, accounts, n: int) -> np.ndarray:
        """Account indices for ``n`` rows: an index array as given, or one index for every row
        (a read-only array kept for the next call: a week books the same few again and again)."""
        if type(accounts) is np.ndarray and accounts.dtype == np.intp and accounts.shape == (n,):
            return accounts
        if not isinstance(accounts, (int, np.integer)):
            index = np.array(accounts, dtype=np.intp, ndmin=1)
            if len(index) == n:
                return index
            accounts = index[0]
        rows = self._single.get((int(accounts), n))
        if rows is None:
            rows = self._single[(int(accounts), n)] = frozen(np.full(n, accounts, dtype=np.intp))
        return rows

    def start_week(self) -> None:
        self._week.fill(0.0)  # (half the time of [:] = 0.0, every week)
        self._log = []

    # --- reading ---------------------------------------------------------------------------------
    def week_change(self, account: str) -> float:
        """Net change of an account during the current week."""
        i = self.index.get(account)
        return 0.0 if i is None else float(self._week[i])

    def week_changes(self, indices: np.ndarray) -> np.ndarray:
        """Net change this week of the accounts at ``indices``."""
        return self._week[indices].copy()

    @property
    def balances(self) -> dict[str, float]:
        return {n: float(b) for n, b in zip(self.names, self._balances)}

    @property
    def week_flows(self) -> dict[tuple[str, str, str], float]:
        """This week's flows, summed by (source, target, kind)."""
        flows: dict[tuple[str, str, str], float] = defaultdict(float)
        for plan, amounts in self._log:
            for kind, lo, hi in zip(plan.kinds, plan.bounds, plan.bounds[1:]):
                rows = zip(plan.sources[lo:hi].tolist(), plan.targets[lo:hi].tolist(), amounts[lo:hi].tolist())
                for s, t, a in rows:
                    if a > 0:
                        flows[(self.names[s], self.names[t], kind)] += a
                    elif a < 0:  # a transfer the other way
                        flows[(self.names[t], self.names[s], kind)] -= a
        return flows

    def imbalance(self) -> float:
        """Sum of all balances (zero up to rounding when money is conserved)."""
        return float(self._balances.sum())

    def week_imbalance(self) -> float:
        return float(self._week.sum())
