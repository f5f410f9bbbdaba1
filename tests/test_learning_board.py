"""The learning agencies' numbers kept in arrays and updated in compiled calls
(model.policies.LearningBoard, model.week_kernel's learning functions) against LearningPolicy's
own Python, the reference: the same tables, softmaxes, draws and streams, bit for bit."""

import pickle

import numpy as np
import pytest

from model import AgencyMarket, Params, simulate
from model.agents import Agency, choose_strategies
from model.contracts import Contract
from model.policies import STRATEGY_NAMES, LearningBoard, LearningPolicy, share_experience

week_kernel = pytest.importorskip("model.week_kernel", reason="numba is not installed: the compiled week does not run")

N_BRANDS, PERIOD = 8, 4


def _pair(p: Params, n: int, seed: int) -> tuple[list[LearningPolicy], list[LearningPolicy], LearningBoard]:
    """``n`` policies learning in their own Python and ``n`` on a board, on the same streams."""
    reference = [LearningPolicy(p, np.random.default_rng([seed, a]), "sales") for a in range(n)]
    ours = [LearningPolicy(p, np.random.default_rng([seed, a]), "sales") for a in range(n)]
    return reference, ours, LearningBoard(ours, N_BRANDS, week_kernel.Bound())


def _same(reference: list[LearningPolicy], ours: list[LearningPolicy], kinds: list[tuple]) -> None:
    for r, o in zip(reference, ours):
        assert list(o.tables.items()) == list(r.tables.items())  # (the same kinds in the same order)
        assert o._pending == r._pending
        for kind in kinds:
            if kind in r.tables:
                assert o.probabilities(kind) == r.probabilities(kind)
        assert o.probability("promotion") == r.probability("promotion")


@pytest.mark.parametrize("reward_scale", ["income", "client_gmv"])
def test_a_board_learns_records_ends_terms_and_draws_as_the_policies_do(reward_scale):
    """Periods told in one call (some clients with part-periods, some with none), clients on
    several kinds (one appearing mid-run, first met in a period's end), first rewards of pending
    kinds, renewals and departures, single records and draws (signing), every client's draw in
    brand order, experience carried over with a kind met later: the same as each policy alone."""
    p = Params(
        agency_policy="learning",
        reward_scale=reward_scale,
        choice_temperature=0.05 if reward_scale == "income" else 0.01,
    )
    market = Contract.from_params(p, 0, 0, 1.0, 1.0).kind
    kinds = [market, (1.0, 0.1, 0.0, 26, 0.0, 1.0), (2e4, 0.02, 0.0, 52, 0.0, 1.0)]
    gen = np.random.default_rng(11)
    for experienced in (False, True):
        reference, ours, board = _pair(p, 3, seed=5)
        if experienced:  # (a pre-run's tables, with a pending kind kept)
            exp = [{"tables": {market: {s: float(v) for s, v in zip(STRATEGY_NAMES, gen.normal(3, 1, 3))}},
                    "pending": set()} for _ in range(3)]  # fmt: skip
            exp[2]["tables"][kinds[1]] = {s: 2.0 for s in STRATEGY_NAMES}
            exp[2]["pending"].add(kinds[1])
            for r, o, e in zip(reference, ours, share_experience(exp, ["sales"] * 3)):
                r.adopt(e)
                o.adopt(e)  # (tables replaced: the board lets the policies go; a model makes its board after this)
            assert all(o._board is None for o in ours)
            board = LearningBoard(ours, N_BRANDS, week_kernel.Bound())
        operator = np.array([a % 3 if a < 7 else -1 for a in range(N_BRANDS)])
        kind_of = [kinds[0]] * N_BRANDS
        strategy = np.zeros(N_BRANDS, np.intp)
        for period in range(40):
            if period == 12:
                kind_of[4] = kinds[1]
            if period == 25:
                kind_of[1] = kinds[2]  # (first met at a period's end: told before it is ever chosen)
            clients_of = [[j for j in range(N_BRANDS) if operator[j] == a][::-1] for a in range(3)]
            if period % 3 != 1:
                # every client's draw, in brand order (choose_strategies)
                brands = [type("B", (), {"contract": type("C", (), {"kind": k})})() for k in kind_of]
                expected = strategy.copy()
                for j in range(N_BRANDS):
                    if operator[j] >= 0:
                        expected[j] = reference[operator[j]].choose_index(j, kind_of[j])
                board.choose_all(operator, brands, strategy)
                np.testing.assert_array_equal(strategy, expected)
            # a period's end (some stores without money: weeks 0; some part-periods)
            books = np.zeros((6, N_BRANDS))
            books[0] = gen.normal(50, 40, N_BRANDS)
            books[1] = gen.uniform(50, 150, N_BRANDS)
            books[2] = np.where(gen.random(N_BRANDS) < 0.2, 0.0, gen.uniform(500, 1500, N_BRANDS))
            books[3] = gen.choice([0.0, 1.0, 3.0, 4.0], N_BRANDS, p=[0.1, 0.1, 0.1, 0.7])
            brands = [type("B", (), {"contract": type("C", (), {"kind": k})})() for k in kind_of]
            for a, clients in enumerate(clients_of):
                for c in clients:
                    weeks = books[3, c]
                    if weeks:
                        # (scaled to a whole period as Agency.full_period does)
                        money = [x if weeks == PERIOD else x * PERIOD / weeks for x in books[:3, c].tolist()]
                        reference[a].record(c, STRATEGY_NAMES[strategy[c]], *money, kind=kind_of[c])
            board.tell_period(clients_of, books, books[3].tolist(), strategy, brands, PERIOD)
            _same(reference, ours, kinds)
            # a term ends: the client booked, renewed or not; a departed client's store signs again
            j = int(gen.integers(7))
            a = operator[j]
            money = gen.normal(50, 40), gen.uniform(50, 150), gen.uniform(0, 1500)
            for policy in (reference[a], ours[a]):
                policy.record(j, STRATEGY_NAMES[strategy[j]], *money, kind=kind_of[j])
                policy.term_end(j, renewed=bool(period % 3))
            if not period % 3:
                assert ours[a].choose_index(j, kind_of[j]) == reference[a].choose_index(j, kind_of[j])
            _same(reference, ours, kinds)
        for r, o in zip(reference, ours):
            assert o.experience() == r.experience()
            assert o.rng.random() == r.rng.random()


def test_a_compiled_learning_market_keeps_its_agencies_on_a_board_and_others_do_not(monkeypatch):
    """The board serves only a compiled market of plain learning agencies; a mixed market, the
    NumPy path, a policy subclass and a changed method keep each policy's own Python."""
    p = Params(n_consumers=200, n_brands=6, n_agencies=3, burn_in_weeks=2, agency_policy="learning")
    assert AgencyMarket(p, rng=1).learning_board is not None
    assert AgencyMarket(p.replace(agency_policy="learning,fixed,learning"), rng=1).learning_board is None
    assert AgencyMarket(p.replace(market_kernel="numpy"), rng=1).learning_board is None

    class Bolder(LearningPolicy):
        pass

    monkeypatch.setattr("model.agents.make_policy", lambda name, params, rng, arch: Bolder(params, rng, arch))
    assert AgencyMarket(p, rng=1).learning_board is None
    monkeypatch.undo()
    monkeypatch.setattr(Agency, "full_period", lambda self, amounts, weeks: amounts)
    assert AgencyMarket(p, rng=1).learning_board is None


def test_a_market_on_a_board_runs_as_one_whose_policies_learn_alone(monkeypatch):
    """Whole compiled runs with and without the board (its agencies then learning in their own
    Python), experienced agencies and a contract schedule's new kind included: the same tables."""
    terms = {1: [(0, {"commission_rate": 0.25}), (10, {"base_fee": 2e4, "commission_rate": 0.02})]}
    cases = [
        (dict(agency_policy="learning", experience_weeks=20, contract_weeks=8), {}),
        (dict(agency_policy="learning", reward_scale="client_gmv", choice_temperature=0.01, contract_weeks=6), {}),
        (dict(agency_policy="learning"), dict(brand_terms=terms)),
    ]
    for params, kw in cases:
        kw = dict(kw, seed=3, steps=40, n_consumers=300, n_brands=6, n_agencies=3, burn_in_weeks=4)
        board = simulate(**params, **kw)
        with monkeypatch.context() as m:
            m.setattr("model.model.learning_board", lambda *args: None)
            alone = simulate(**params, **kw)
        for table in ("timeseries", "brands", "agencies"):
            assert getattr(board, table).equals(getattr(alone, table))


def test_a_board_scales_a_period_by_the_decision_weeks_of_the_moment(monkeypatch):
    """Parameters replaced mid-run (another decision period): the board scales part-periods as
    Agency.full_period does then, as the policies learning alone do."""
    p = Params(n_consumers=200, n_brands=6, n_agencies=3, burn_in_weeks=2, agency_policy="learning", contract_weeks=7)
    tables = []
    for board in (True, False):
        with monkeypatch.context() as m:
            if not board:
                m.setattr("model.model.learning_board", lambda *args: None)
            model = AgencyMarket(p, rng=5)
        assert (model.learning_board is not None) == board
        for week in range(40):
            if week == 9:
                model.p = model.p.replace(decision_weeks=6)
            model.step()
        tables.append([a.policy.tables for a in model.agencies])
    assert tables[0] == tables[1]


def test_a_policy_on_a_board_pickles_and_carries_on_as_before():
    """A model's learning policy pickled alone loads as a plain one (without the board, so where
    numba is missing too) with the same tables, chances, scales, last periods and traces: it
    draws and learns on as the one still on the board."""
    p = Params(n_consumers=200, n_brands=6, n_agencies=3, burn_in_weeks=2, agency_policy="learning")
    m = AgencyMarket(p, rng=4).run(30)
    policy = m.agencies[1].policy
    loaded = pickle.loads(pickle.dumps(policy))
    assert loaded._board is None and policy._board is not None and loaded.tables == policy.tables
    assert loaded._last and loaded._traces and loaded._scale  # (a client's period awaits its update)
    kind = m.market_kind
    assert loaded.probabilities(kind) == policy.probabilities(kind)
    for client in range(6):
        assert loaded.choose_index(client, kind) == policy.choose_index(client, kind)
        for one in (loaded, policy):
            one.record(client, "brand", 40.0 + client, 100.0, 1000.0, kind=kind)
    for client in range(6):
        for one in (loaded, policy):
            one.term_end(client, renewed=client % 2 == 0)
    assert loaded.tables == policy.tables and loaded.probabilities(kind) == policy.probabilities(kind)
    assert b"week_kernel" not in pickle.dumps(policy)  # (nothing of the compiled path in it)


def test_choose_strategies_on_a_board_draws_each_clients_strategy_in_brand_order():
    """choose_strategies of a market on a board sets every store an agency runs to what its
    policy draws through choose_index in the same market, and leaves in-house stores be."""
    p = Params(n_consumers=200, n_brands=8, n_agencies=3, burn_in_weeks=2, agency_policy="learning")
    ours, reference = (AgencyMarket(p, rng=7).run(10) for _ in range(2))
    assert ours.learning_board is not None
    for m in (ours, reference):
        m.contracts.go_in_house(m.brands[2], m.agencies[m.brands[2].agency], m.week, 0.0)
    kept = ours.brand_state.strategy[2]
    for _ in range(3):
        choose_strategies(ours)
        for b in reference.brands:
            if b.agency is not None:
                policy = reference.agencies[b.agency].policy
                reference.brand_state.strategy[b.index] = policy.choose_index(b.index, b.contract.kind)
        np.testing.assert_array_equal(ours.brand_state.strategy, reference.brand_state.strategy)
        assert ours.brand_state.strategy[2] == kept
    assert [a.policy.rng.random() for a in ours.agencies] == [a.policy.rng.random() for a in reference.agencies]


def test_tables_assigned_mid_run_are_learned_from_on_a_board_as_alone():
    """A policy's tables replaced while clients have periods awaiting their update (a notebook
    setting values): the board copies the new tables in, as the policy alone would use them."""
    p = Params(agency_policy="learning")
    kind = Contract.from_params(p, 0, 0, 1.0, 1.0).kind
    reference, ours, _ = _pair(p, 2, seed=3)
    gen = np.random.default_rng(5)
    for week in range(12):
        if week == 6:
            new = {kind: {s: float(v) for s, v in zip(STRATEGY_NAMES, gen.normal(2, 1, 3))}}
            for r, o in zip(reference, ours):
                r.tables, o.tables = {k: dict(t) for k, t in new.items()}, {k: dict(t) for k, t in new.items()}
        for r, o in zip(reference, ours):
            for client in range(3):
                strategy = STRATEGY_NAMES[r.choose_index(client, kind)]
                assert STRATEGY_NAMES[o.choose_index(client, kind)] == strategy
                money = gen.normal(1e3, 300, 3).tolist()
                r.record(client, strategy, *money, kind=kind)
                o.record(client, strategy, *money, kind=kind)
            if week % 4 == 3:
                r.term_end(0, renewed=True)
                o.term_end(0, renewed=True)
    _same(reference, ours, [kind])


@pytest.mark.parametrize("change", ["tables", "adopt", "tables, then another kind"])
def test_tables_replaced_before_a_term_end_or_a_new_kind_are_learned_from_as_alone(change):
    """Tables replaced (assigned, or adopted) while a client's period awaits its update, and the
    next step is its term's end or a period on another kind: the board lets its policies go, and
    they learn as they would have alone."""
    p = Params(agency_policy="learning")
    kind, other = Contract.from_params(p, 0, 0, 1.0, 1.0).kind, (1.0, 0.1, 0.0, 26, 0.0, 1.0)
    new = {kind: {s: 1.0 + i for i, s in enumerate(STRATEGY_NAMES)}}
    reference, ours, board = _pair(p, 2, seed=3)
    for policy in (reference[0], ours[0]):
        policy.record(0, "promotion", 50.0, 100.0, 1000.0, kind=kind)
        policy.record(0, "brand", 60.0, 100.0, 1000.0, kind=kind)
        if change == "adopt":
            policy.adopt({"tables": {k: dict(t) for k, t in new.items()}, "pending": set()})
            policy.term_end(0, renewed=False)
        else:
            policy.tables = {k: dict(t) for k, t in new.items()}
            if change == "tables":
                policy.term_end(0, renewed=True)
            else:
                policy.record(0, "balanced", 70.0, 100.0, 1000.0, kind=other)
    assert not board.live and ours[0]._board is None and ours[1]._board is None
    _same(reference, ours, [kind, other])


def test_a_policy_swapped_mid_run_lets_the_board_go(monkeypatch):
    """An agency's policy replaced mid-run (here by a fixed one): the others learn on, in their own
    Python, as in a market that never had a board."""
    import model.model as model_module
    from model.policies import FixedPolicy

    p = Params(n_consumers=200, n_brands=6, n_agencies=3, burn_in_weeks=2, agency_policy="learning", contract_weeks=7)
    runs = []
    for board in (True, False):
        if not board:
            monkeypatch.setattr(model_module, "learning_board", lambda *a: None)
        m = AgencyMarket(p, rng=5).run(10)
        assert (m.learning_board is not None) == board
        first = m.agencies[0]
        first.policy = FixedPolicy(m.p, np.random.default_rng(1), first.archetype)
        m.run(30)
        assert m.learning_board is None
        runs.append(([a.policy.tables for a in m.agencies[1:]], m.brand_state.strategy.tolist()))
    assert runs[0] == runs[1]
