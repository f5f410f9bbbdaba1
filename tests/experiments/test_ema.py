"""EMA Workbench interop: a finished sweep in EMA's format, and the model as an EMA model
(the `discovery` extra; the dev extra installs it, so CI runs these)."""

import numpy as np
import pytest

from experiments import ema
from experiments.sweeps import load_results, run_sweep
from experiments.sweeps.spec import run_seed

TINY = {"n_consumers": 200, "n_brands": 4, "n_agencies": 2, "burn_in_weeks": 2}


def ema_major() -> int:
    """EMA Workbench's major version: 2 (2.5.x, what installs on Python 3.11) or 3 (Python >= 3.12)."""
    import ema_workbench

    return int(ema_workbench.__version__.split(".")[0])


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("ema") / "lhs"
    spec = {
        "steps": 10,
        "seed": 3,
        "base": TINY,
        "design": {
            "kind": "lhs",
            "samples": 40,
            "factors": {"commission_rate": [0.02, 0.4], "contract_weeks": [4, 30]},
        },
        "outputs": {"timeseries": False},
    }
    run_sweep(spec, out, executor="serial", progress=False)
    return load_results(out)


def test_to_ema_gives_the_sweep_in_emas_format_and_emas_prim_runs_on_it(sweep):
    from ema_workbench.analysis import prim

    experiments, outcomes = ema.to_ema(sweep, ["agency_profit_total", "total_gmv"])
    assert list(experiments.columns) == ["commission_rate", "contract_weeks", "scenario", "policy", "model"]
    assert experiments["contract_weeks"].dtype == float  # integers as float: EMA 2.5.3's PRIM under pandas 3
    assert np.array_equal(outcomes["total_gmv"], sweep.runs["total_gmv"].to_numpy())
    # agencies earn most where the commission is high: EMA's PRIM finds that box
    y = outcomes["agency_profit_total"] > np.quantile(outcomes["agency_profit_total"], 0.7)
    x = experiments.drop(columns=["scenario", "policy", "model"])
    # (EMA 3 dropped PRIM's threshold, below which 2.5 returned the whole space instead of the box)
    box = (prim.Prim(x, y, threshold=0.6) if ema_major() < 3 else prim.Prim(x, y)).find_box()
    assert "commission_rate" in box.box_lims[-1].columns
    assert box.box_lims[-1]["commission_rate"].iloc[0] > 0.1  # its lower limit moved up
    with pytest.raises(ValueError, match="unknown"):
        ema.to_ema(sweep, ["no_such_outcome"])


def test_ema_model_runs_the_simulation_with_declared_types_and_seeded_replications():
    from ema_workbench import IntegerParameter, RealParameter, SequentialEvaluator, perform_experiments

    from model import Params, simulate

    model = ema.ema_model(
        ["rank_feedback", "contract_weeks"],
        ["commission_rate"],
        outcomes=["total_gmv"],
        bounds={"rank_feedback": (0.3, 1.5), "contract_weeks": (8, 52)},
        base=TINY,
        steps=6,
        replications=2,
        seed=9,
    )
    kinds = {p.name: type(p) for p in [*model.uncertainties, *model.levers]}
    assert kinds == {
        "rank_feedback": RealParameter,
        "contract_weeks": IntegerParameter,
        "commission_rate": RealParameter,
    }
    lever = model.levers["commission_rate"]
    assert (lever.lower_bound, lever.upper_bound) == (0.0, 1.0)  # the declared range, not retyped
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=2, policies=1, evaluator=evaluator)
    row = experiments.iloc[0]
    values = {"rank_feedback": row["rank_feedback"], "contract_weeks": int(row["contract_weeks"]),
              "commission_rate": row["commission_rate"]}  # fmt: skip
    by_hand = np.mean(
        [simulate(Params(**TINY, **values), steps=6, seed=run_seed(9, r)).summary["total_gmv"] for r in range(2)]
    )
    assert outcomes["total_gmv"][0] == pytest.approx(by_hand, rel=1e-12)
    with pytest.raises(ValueError, match="inside|allowed"):
        ema.ema_model(["rank_feedback"], bounds={"rank_feedback": (-1.0, 2.0)})


def test_emas_optimize_runs_on_the_model(tmp_path):
    from ema_workbench import SequentialEvaluator

    from model import Params

    three = ema_major() >= 3
    # EMA 3.0.0's optimize over levers fails on a model without uncertainties (EMAError
    # "Parameters exist in both"; docs/experiments.md): there the model gets one, which the
    # reference scenario holds at its default. EMA 3 also keeps the archives in a file it must
    # be given, and returns them with the convergence
    model = ema.ema_model(
        ["rank_feedback"] if three else [],
        ["commission_rate"],
        outcomes=["brand_profit_total", "agency_profit_total"],
        maximize=["brand_profit_total"],
        base=TINY,
        steps=4,
        replications=1,
    )
    options = {}
    if three:
        from ema_workbench import Sample

        reference = Sample("reference", rank_feedback=Params().rank_feedback)
        options = {"filename": "archives.tar.gz", "directory": str(tmp_path), "reference": reference}
    with SequentialEvaluator(model) as evaluator:
        found = evaluator.optimize(nfe=20, searchover="levers", epsilons=[1e5], **options)
    if three:
        found, _convergence = found
    assert len(found) >= 1 and {"commission_rate", "brand_profit_total"} <= set(found.columns)
    # a brand keeps more of its money at a low commission: the best found is not a high one
    assert found["commission_rate"].min() < 0.5
    with pytest.raises(ValueError, match="not among the outcomes"):
        ema.ema_model([], ["commission_rate"], outcomes=["total_gmv"], maximize=["brand_profit_total"])
