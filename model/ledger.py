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
from typing import Iterable

import numpy as np


class Ledger:
    def __init__(self, accounts: Iterable[str] = ()):
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self._balances = np.zeros(0)
        self._week = np.zeros(0)
        self._log: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []
        for name in accounts:
            self.account(name)

    def account(self, name: str) -> int:
        """The index of account ``name`` (opened at zero if new)."""
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.names)
            self.names.append(name)
            self._balances = np.append(self._balances, 0.0)
            self._week = np.append(self._week, 0.0)
        return i

    def accounts(self, names: Iterable[str]) -> np.ndarray:
        return np.array([self.account(n) for n in names], dtype=np.intp)

    # --- booking ---------------------------------------------------------------------------------
    def transfer(self, source: str, target: str, amount: float, kind: str) -> None:
        """Move ``amount`` RMB from ``source`` to ``target``; ``kind`` labels the flow."""
        self.transfer_many(np.array([self.account(source)]), np.array([self.account(target)]),
                           np.array([float(amount)]), kind)

    def transfer_many(self, sources: np.ndarray | int, targets: np.ndarray | int, amounts: np.ndarray,
                      kind: str) -> None:
        """Move ``amounts[i]`` from account ``sources[i]`` to ``targets[i]`` (indices; a single
        index stands for every row). A negative amount is a transfer the other way; zero
        amounts are not booked. An account's outflows and inflows of the call are each summed in
        row order and booked once."""
        amounts = np.asarray(amounts, dtype=np.float64)
        if not np.isfinite(amounts).all():
            raise ValueError(f"non-finite transfer {kind!r}: {amounts}")
        src = np.asarray(sources, dtype=np.intp)
        tgt = np.asarray(targets, dtype=np.intp)
        if src.ndim == 0:  # one account for every row (np.full: a tenth of broadcast_to's cost)
            src = np.full(amounts.shape, src)
        if tgt.ndim == 0:
            tgt = np.full(amounts.shape, tgt)
        keep = amounts != 0
        if not keep.all():
            src, tgt, amounts = src[keep], tgt[keep], amounts[keep]
        if not len(amounts):
            return
        back = amounts < 0
        if back.any():
            src, tgt, amounts = np.where(back, tgt, src), np.where(back, src, tgt), np.abs(amounts)
        # per account: what left it and what came in, summed in row order (an account named
        # once gets exactly its amount, as with a single transfer)
        n = len(self._balances)
        out = np.bincount(src, weights=amounts, minlength=n)
        into = np.bincount(tgt, weights=amounts, minlength=n)
        for arr in (self._balances, self._week):
            arr -= out
            arr += into
        self._log.append((np.array(src), np.array(tgt), amounts, kind))

    def start_week(self) -> None:
        self._week[:] = 0.0
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
        for src, tgt, amounts, kind in self._log:
            for s, t, a in zip(src, tgt, amounts):
                flows[(self.names[s], self.names[t], kind)] += float(a)
        return flows

    def flow(self, kind: str, source: str | None = None, target: str | None = None) -> float:
        """Total this week of flows of ``kind`` (optionally from or to one account)."""
        return sum(v for (s, t, k), v in self.week_flows.items()
                   if k == kind and (source is None or s == source) and (target is None or t == target))

    def imbalance(self) -> float:
        """Sum of all balances (zero up to rounding when money is conserved)."""
        return float(self._balances.sum())

    def week_imbalance(self) -> float:
        return float(self._week.sum())
