"""Sweep specs and designs: run counts, bounds, seeds, and errors that name the bad key."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main as cli_main
from experiments.sweeps import SweepSpec, load_spec
from experiments.sweeps.spec import run_seed

SPECS_DIR = Path(__file__).resolve().parents[2] / "experiments" / "specs"

BOUNDS = {"commission_rate": [0.02, 0.3], "contract_weeks": [26, 104], "brand_bonus_rate": [0.0, 0.5]}


def spec_with(design, **top):
    return load_spec({"steps": 10, "base": {"n_consumers": 300}, "design": design, **top})


def assert_within_bounds(spec, bounds):
    for point in spec.points:
        assert set(point) == set(bounds)
        for name, (lo, hi) in bounds.items():
            assert lo <= point[name] <= hi, (name, point[name])
    for point in spec.points:  # integer parameters stay integers
        assert isinstance(point["contract_weeks"], int)


def test_grid_is_the_full_product_in_factor_order():
    spec = spec_with(
        {"kind": "grid", "factors": {"commission_rate": [0.05, 0.1, 0.2], "agency_policy": ["fixed", "learning"]}},
        replications=3,
    )
    assert spec.n_points == 6 and len(spec.points) == 6 and spec.n_runs == 18
    assert spec.points[0] == {"commission_rate": 0.05, "agency_policy": "fixed"}
    assert spec.points[1] == {"commission_rate": 0.05, "agency_policy": "learning"}
    assert len({tuple(p.values()) for p in spec.points}) == 6
    runs = list(spec.runs())
    assert [r.run_id for r in runs] == list(range(18))
    assert [(r.point, r.replication) for r in runs[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]


def test_grid_may_vary_the_preset():
    spec = spec_with({"kind": "grid", "factors": {"preset": ["sales_is_king", "brand_partnership"]}})
    assert spec.params(spec.points[0]).commission_rate == 0.30
    assert spec.params(spec.points[1]).brand_bonus_rate == 0.3
    assert spec.params(spec.points[1]).n_consumers == 300  # base overrides still apply


def test_lhs_has_samples_points_within_bounds_one_per_stratum():
    spec = spec_with({"kind": "lhs", "factors": BOUNDS, "samples": 20})
    assert spec.n_points == 20 and len(spec.points) == 20
    assert_within_bounds(spec, BOUNDS)
    # Latin hypercube: each of the 20 equal strata of a continuous factor holds one point
    x = np.array([p["commission_rate"] for p in spec.points])
    strata = np.floor((x - 0.02) / (0.28 / 20)).astype(int)
    assert sorted(np.minimum(strata, 19)) == list(range(20))


@pytest.mark.parametrize("second_order, per_n", [(True, 2 * 3 + 2), (False, 3 + 2)])
def test_sobol_has_saltelli_size_within_bounds(second_order, per_n):
    spec = spec_with({"kind": "sobol", "factors": BOUNDS, "samples": 8, "second_order": second_order}, replications=2)
    assert spec.n_points == 8 * per_n == len(spec.points)
    assert spec.n_runs == 2 * 8 * per_n
    assert_within_bounds(spec, BOUNDS)
    assert spec.design.problem() == {"num_vars": 3, "names": list(BOUNDS), "bounds": list(BOUNDS.values())}


def test_morris_has_trajectories_on_the_level_grid():
    spec = spec_with({"kind": "morris", "factors": BOUNDS, "samples": 5, "levels": 4})
    assert spec.n_points == 5 * (3 + 1) == len(spec.points)
    assert_within_bounds(spec, BOUNDS)
    levels = {0.02 + k * 0.28 / 3 for k in range(4)}
    assert all(min(abs(p["commission_rate"] - v) for v in levels) < 1e-9 for p in spec.points)
    # within a trajectory consecutive points differ in exactly one factor
    for t in range(5):
        traj = spec.points[t * 4 : (t + 1) * 4]
        for a, b in zip(traj, traj[1:]):
            assert sum(a[k] != b[k] for k in BOUNDS) == 1


def test_points_design_keeps_the_given_points():
    pts = [
        {"commission_rate": 0.1, "agency_policy": "learning"},
        {"commission_rate": 0.2, "agency_policy": "imitation"},
    ]
    spec = spec_with({"kind": "points", "points": pts}, replications=2)
    assert spec.points == pts and spec.n_runs == 4


def test_sampled_designs_are_reproducible_from_the_root_seed():
    d = {"kind": "lhs", "factors": BOUNDS, "samples": 10}
    assert spec_with(d, seed=3).points == spec_with(d, seed=3).points
    assert spec_with(d, seed=3).points != spec_with(d, seed=4).points


def test_run_seeds_come_from_seedsequence_and_differ():
    spec = spec_with({"kind": "grid", "factors": {"commission_rate": [0.1, 0.2, 0.3]}}, replications=4, seed=5)
    runs = list(spec.runs())
    children = np.random.SeedSequence(5).spawn(len(runs))
    for r, child in zip(runs, children):
        words = child.generate_state(2, dtype=np.uint32)
        assert r.seed == ((int(words[0]) << 31) ^ int(words[1])) & (2**63 - 1) == run_seed(5, r.run_id)
        assert 0 <= r.seed < 2**63
    assert len({r.seed for r in runs}) == len(runs)


def test_common_random_numbers_share_seeds_across_points():
    spec = spec_with(
        {"kind": "grid", "factors": {"commission_rate": [0.1, 0.2]}}, replications=3, common_random_numbers=True
    )
    by_point = {}
    for r in spec.runs():
        by_point.setdefault(r.point, []).append(r.seed)
    assert by_point[0] == by_point[1] and len(set(by_point[0])) == 3


def test_toml_json_and_dict_give_the_same_spec(tmp_path, grid_spec):
    toml = tmp_path / "s.toml"
    toml.write_text("""
name = "tiny_grid"
steps = 12
replications = 2
seed = 11
[base]
preset = "typical_tp"
n_consumers = 300
n_brands = 4
n_agencies = 2
burn_in_weeks = 4
[design]
kind = "grid"
factors = { commission_rate = [0.05, 0.25], contract_weeks = [26, 52] }
[outputs]
timeseries = true
brands = true
agencies = true
""")
    js = tmp_path / "s.json"
    js.write_text(json.dumps(grid_spec))
    a, b, c = load_spec(toml), load_spec(js), load_spec(grid_spec)
    assert isinstance(a, SweepSpec)
    assert a.spec_hash == b.spec_hash == c.spec_hash
    assert load_spec(c.to_dict()).spec_hash == c.spec_hash  # round trip
    assert c.replace(steps=20).steps == 20 and c.replace(steps=20).spec_hash != c.spec_hash


def test_factor_order_is_part_of_the_spec(grid_spec):
    swapped = copy.deepcopy(grid_spec)
    swapped["design"]["factors"] = dict(reversed(list(grid_spec["design"]["factors"].items())))
    assert load_spec(swapped).points != load_spec(grid_spec).points
    assert load_spec(swapped).spec_hash != load_spec(grid_spec).spec_hash


def _set(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


class _Delete:
    def __repr__(self):
        return "<deleted>"  # a stable test id under pytest-xdist


_DELETE = _Delete()

BAD = [
    ("stepz", 10, "stepz"),  # unknown top-level key (with a suggestion)
    ("steps", 0, "steps"),
    ("steps", 2.5, "steps"),
    ("replications", 0, "replications"),
    ("seed", -1, "seed"),
    ("name", "", "name"),
    ("common_random_numbers", "yes", "common_random_numbers"),
    ("base.commission_rate", 1.5, "base.commission_rate"),
    ("base.comission_rate", 0.1, "base.comission_rate"),
    ("base.preset", "typical", "base.preset"),
    ("design", _DELETE, "design"),
    ("design.kind", "factorial", "design.kind"),
    ("design.factors", {}, "design.factors"),
    ("design.factors.commission_rate", [], "design.factors.commission_rate"),
    ("design.factors.commission_rate", [0.1, 2.0], "design.factors.commission_rate"),
    ("design.factors.commission_rate", 0.1, "design.factors.commission_rate"),
    ("design.factors.agency_policy", ["fixed", "smart"], "design.factors.agency_policy"),
    ("design.factors.no_such_param", [1, 2], "design.factors.no_such_param"),
    ("design.samples", 10, "design.samples"),  # a grid takes no samples
    ("outputs.weekly", True, "outputs.weekly"),
    ("outputs.brands", "no", "outputs.brands"),
    ("outputs.summary", False, "outputs.summary"),
]


@pytest.mark.parametrize(
    "path, value, key", BAD, ids=[f"{p}=<deleted>" if v is _DELETE else f"{p}={v!r}" for p, v, _ in BAD]
)
def test_bad_grid_specs_name_the_key(grid_spec, path, value, key):
    _set(grid_spec, path, value)
    with pytest.raises(ValueError) as err:
        load_spec(grid_spec)
    assert repr(key) in str(err.value), str(err.value)


BAD_SAMPLED = [
    ({"kind": "lhs", "factors": BOUNDS}, "design.samples"),
    ({"kind": "lhs", "factors": BOUNDS, "samples": 0}, "design.samples"),
    ({"kind": "lhs", "factors": {"commission_rate": [0.3, 0.1]}, "samples": 4}, "design.factors.commission_rate"),
    ({"kind": "lhs", "factors": {"commission_rate": [0.1, 1.0]}, "samples": 4}, "design.factors.commission_rate"),
    ({"kind": "lhs", "factors": {"commission_rate": [0.1]}, "samples": 4}, "design.factors.commission_rate"),
    ({"kind": "lhs", "factors": {"contract_weeks": [26.5, 52]}, "samples": 4}, "design.factors.contract_weeks"),
    ({"kind": "lhs", "factors": {"agency_policy": [0, 1]}, "samples": 4}, "design.factors.agency_policy"),
    ({"kind": "lhs", "factors": {"use_festivals": [0, 1]}, "samples": 4}, "design.factors.use_festivals"),
    ({"kind": "sobol", "factors": BOUNDS, "samples": 10}, "design.samples"),
    ({"kind": "sobol", "factors": BOUNDS, "samples": 8, "second_order": 1}, "design.second_order"),
    ({"kind": "morris", "factors": BOUNDS, "samples": 4, "levels": 1}, "design.levels"),
    ({"kind": "morris", "factors": BOUNDS, "samples": 4, "level": 4}, "design.level"),
    ({"kind": "points", "points": []}, "design.points"),
    ({"kind": "points", "points": [{"commission_rate": 0.1}, {"contract_weeks": 26}]}, "design.points[1]"),
    ({"kind": "points", "points": [{"commission_rate": 7}]}, "design.points[0].commission_rate"),
]


@pytest.mark.parametrize("design, key", BAD_SAMPLED, ids=[k + "-" + d["kind"] for d, k in BAD_SAMPLED])
def test_bad_designs_name_the_key(design, key):
    with pytest.raises(ValueError) as err:
        spec_with(design)
    assert repr(key) in str(err.value), str(err.value)


def test_typo_gets_a_suggestion(grid_spec):
    grid_spec["replicatons"] = 2
    with pytest.raises(ValueError, match="did you mean 'replications'"):
        load_spec(grid_spec)


def test_spec_files_are_checked(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = [\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_spec(bad)
    other = tmp_path / "spec.yaml"
    other.write_text("steps: 3\n")
    with pytest.raises(ValueError, match=r"\.toml or \.json"):
        load_spec(other)


def test_cli_reports_a_bad_spec_in_one_line_with_exit_2(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('steps = 10\n[design]\nkind = "grid"\nfactors = { commission_rate = [0.1, 3] }\n')
    code = cli_main(["sweep", str(spec), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "design.factors.commission_rate" in err
    assert not (tmp_path / "out").exists()


def test_cli_dry_run_prints_the_plan(tmp_path, capsys):
    code = cli_main(["sweep", str(SPECS_DIR / "example_grid.toml"), "--out", str(tmp_path / "o"), "--dry-run"])
    assert code == 0
    assert "36 runs" in capsys.readouterr().out
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("path", sorted(SPECS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_specs_are_valid(path):
    spec = load_spec(path)
    assert spec.n_runs == len(list(spec.runs())) >= 1
    assert all(isinstance(p, dict) and set(p) == set(spec.varied) for p in spec.points)


def test_every_point_of_a_finite_design_is_checked_when_the_spec_loads():
    spec = {
        "name": "x",
        "base": {"agency_policy": "learning,fixed,fixed,fixed,fixed,fixed"},
        "design": {"kind": "grid", "factors": {"n_agencies": [6, 4]}},
    }
    with pytest.raises(ValueError, match=r"design point \{'n_agencies': 4\}.*names 6 policies"):
        load_spec(spec)


def test_a_spec_with_a_byte_order_mark_loads(tmp_path):
    from experiments import load_spec

    path = tmp_path / "bom.toml"
    path.write_bytes(
        "\ufeff".encode() + b'name = "bom"\nsteps = 5\n[design]\nkind = "grid"\n'
        b"[design.factors]\ncommission_rate = [0.05, 0.1]\n"
    )
    assert load_spec(path).name == "bom"


@pytest.mark.parametrize(
    "suffix, text", [(".json", "[" * 5000 + "]" * 5000), (".toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")]
)
def test_a_deeply_nested_spec_is_refused_in_one_line(tmp_path, suffix, text):
    from experiments import load_spec
    from experiments.sweeps.errors import SpecError

    path = tmp_path / f"deep{suffix}"
    path.write_text(text)
    with pytest.raises(SpecError, match="nests tables or lists 5000 deep"):
        load_spec(path)


def test_a_plan_beyond_max_runs_is_refused_before_it_is_built(tmp_path):
    """A billion replications, or a 1e8-point grid, is refused in one line naming the size and
    the override, before any point is built; with the override the dry run streams (issue 28,
    row 6)."""
    import subprocess
    import sys
    from pathlib import Path

    from experiments import load_spec
    from experiments.sweeps.errors import SpecError

    huge = {
        "name": "huge",
        "steps": 5,
        "replications": 10**9,
        "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.1]}},
    }
    with pytest.raises(SpecError, match=r"plans 2,000,000,000 runs .* set max_runs = 2000000000"):
        load_spec(huge)
    values = [round(0.001 * i, 4) for i in range(100)]
    grid = {
        "name": "grid",
        "steps": 5,
        "max_runs": 10**8,
        "design": {
            "kind": "grid",
            "factors": {
                "commission_rate": values,
                "brand_bonus_rate": values,
                "evaluation_brand_weight": values,
                "contract_weeks": list(range(10, 110)),
            },
        },
    }
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(grid))
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "sweep", str(path), "--out", str(tmp_path / "o"), "--dry-run"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "100000000 points x 1 replications = 100000000 runs" in proc.stdout
    assert load_spec(grid).to_dict()["max_runs"] == 10**8
    assert (
        "max_runs" not in load_spec({**grid, "max_runs": 10**6, "design": huge["design"], "replications": 2}).to_dict()
    )  # the default keeps the old hash
