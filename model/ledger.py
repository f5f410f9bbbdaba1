"""One double-entry ledger for every transfer of money (M7).

Every transfer moves an amount from one account to another, so the balances always sum to
zero. Accounts are named ``consumers``, ``platform``, ``suppliers`` (cost of goods),
``labour`` (agencies' and in-house staff's own costs), ``brand:J`` and ``agency:K``.
The ledger keeps running balances and the flows of the current week by kind.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class Ledger:
    def __init__(self):
        self.balances: dict[str, float] = defaultdict(float)
        self.week_flows: dict[tuple[str, str, str], float] = defaultdict(float)
        self._week_changes: dict[str, float] = defaultdict(float)

    def transfer(self, source: str, target: str, amount: float, kind: str) -> None:
        """Move ``amount`` RMB from ``source`` to ``target``; ``kind`` labels the flow."""
        amount = float(amount)
        if not np.isfinite(amount):
            raise ValueError(f"non-finite transfer {kind!r} from {source} to {target}: {amount}")
        if amount == 0:
            return
        if amount < 0:  # a negative amount is a transfer the other way
            source, target, amount = target, source, -amount
        self.balances[source] -= amount
        self.balances[target] += amount
        self._week_changes[source] -= amount
        self._week_changes[target] += amount
        self.week_flows[(source, target, kind)] += amount

    def start_week(self) -> None:
        self.week_flows = defaultdict(float)
        self._week_changes = defaultdict(float)

    def week_change(self, account: str) -> float:
        """Net change of an account during the current week."""
        return self._week_changes.get(account, 0.0)

    def flow(self, kind: str, source: str | None = None, target: str | None = None) -> float:
        """Total this week of flows of ``kind`` (optionally from or to one account)."""
        return sum(v for (s, t, k), v in self.week_flows.items()
                   if k == kind and (source is None or s == source) and (target is None or t == target))

    def imbalance(self) -> float:
        """Sum of all balances (zero up to rounding when money is conserved)."""
        return float(sum(self.balances.values()))

    def week_imbalance(self) -> float:
        return float(sum(self._week_changes.values()))
