"""`agency-sim sweep --status DIR`: a sweep's state without loading its tables (issue 26, item 2),
and the shards' claims (item 1)."""

import os

import pytest

from experiments.cli import main
from experiments.sweeps import run_sweep, store
from experiments.sweeps.runner import _write_failure
from experiments.sweeps.spec import load_spec
from experiments.sweeps.status import status

TINY = {"n_consumers": 200, "n_brands": 4, "n_agencies": 2, "burn_in_weeks": 2}
SPEC = {
    "name": "state",
    "steps": 4,
    "replications": 2,
    "base": TINY,
    "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.1, 0.2]}},
    "outputs": {"timeseries": False},
}


@pytest.fixture
def sweep(tmp_path):
    out = tmp_path / "s"
    run_sweep(SPEC, out, executor="serial", progress=False)
    return out


def test_a_complete_sweep(sweep, capsys):
    s = status(sweep)
    assert (s["runs"], s["done"], s["failed"], s["to_run"], s["running"]) == (6, 6, 0, 0, None)
    assert main(["sweep", "--status", str(sweep)]) == 0
    said = capsys.readouterr().out
    assert "6 of 6 runs done, 0 failed, 0 still to run" in said and "complete" in said


def test_missing_and_failed_runs_with_their_errors_and_how_to_finish(sweep, capsys):
    plans = list(load_spec(SPEC).runs())
    for run_id in (1, 4):  # as if the sweep had been killed before these were written
        for table in ("summary",):
            os.remove(store.run_file(sweep, table, run_id))
    for run_id in (1, 4):
        _write_failure(sweep, plans[run_id], f"ValueError: run {run_id} went wrong\nmore detail", "traceback")
    os.remove(store.run_file(sweep, "summary", 5))
    s = status(sweep)
    assert (s["done"], s["failed"], s["to_run"]) == (3, 2, 1)
    assert s["errors"] == {"ValueError: run 1 went wrong": 1, "ValueError: run 4 went wrong": 1}
    assert main(["sweep", "--status", str(sweep)]) == 0
    said = capsys.readouterr().out
    assert "3 of 6 runs done, 2 failed, 1 still to run" in said
    assert "not running: rerun" in said and "1 x ValueError: run 4 went wrong" in said


def test_a_sweep_being_written_says_who_runs_it_and_the_time_left(sweep, capsys):
    os.remove(store.run_file(sweep, "summary", 5))
    manifest = store.read_manifest(sweep)
    manifest["sessions"].append({"started": "2000-01-01T00:00:00+00:00", "status": "running"})
    store.write_manifest(sweep, manifest)
    with store.FolderLock(sweep):  # this process plays the running sweep
        s = status(sweep)
        assert s["running"].startswith(f"pid {os.getpid()}")
        assert s["rate_per_s"] > 0 and s["eta_s"] == pytest.approx(1 / s["rate_per_s"])
        assert main(["sweep", "--status", str(sweep)]) == 0
    said = capsys.readouterr().out
    assert f"running now: pid {os.getpid()}" in said and "to go" in said
    assert status(sweep)["running"] is None  # the lock is released


def test_status_usage_errors_are_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:  # (argparse's own: --status needs its folder)
        main(["sweep", "--status"])
    assert exc.value.code == 2 and "expected one argument" in capsys.readouterr().err
    assert main(["sweep"]) == 2
    assert "needs a spec and --out" in capsys.readouterr().err
    assert main(["sweep", "spec.toml", "--status", "x"]) == 2
    assert "give it alone" in capsys.readouterr().err


def test_status_of_a_folder_without_a_sweep_names_it(tmp_path, capsys):
    assert main(["sweep", "--status", str(tmp_path)]) == 2
    assert "holds no sweep" in capsys.readouterr().err


def test_claims_by_whom_and_since_when_and_stale_ones(sweep, capsys):
    """Shards' claims (issue 26, item 1): live ones by holder, stale ones (holder gone) apart."""
    import json
    import subprocess
    import sys

    from experiments.sweeps import claims

    for run_id in (1, 2, 3):
        os.remove(store.run_file(sweep, "summary", run_id))
    held = claims.Claims(sweep, shard="1/2")
    assert held.acquire(1) is None and held.acquire(3) is None  # this process runs 1 and 3 now
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = claims.claim_path(sweep, 2, 0)
    stale.write_text(json.dumps({"host": claims.host(), "pid": int(dead.stdout), "shard": "2/2", "since": "then"}))
    s = status(sweep)
    assert (s["done"], s["to_run"], s["claimed"], s["stale_claims"]) == (3, 3, 2, 1)
    assert s["claims"] == [
        {
            "holder": f"pid {os.getpid()} on {claims.host()} (shard 1/2)",
            "runs": 2,
            "since": s["claims"][0]["since"],
            "run_ids": [1, 3],
        }
    ]
    assert s["stale"][0]["holder"] == f"pid {int(dead.stdout)} on {claims.host()} (shard 2/2)"
    assert main(["sweep", "--status", str(sweep)]) == 0
    said = capsys.readouterr().out
    assert "running now: 2 runs claimed by 1 process(es)" in said
    assert f"pid {os.getpid()} on {claims.host()} (shard 1/2): 2 run(s) (run ids 1, 3), since 20" in said
    assert "stale claims: 1 runs claimed by processes that are gone" in said and "(run ids 2), since then" in said
    held.release_all()
    s = status(sweep)
    assert (s["claimed"], s["stale_claims"]) == (0, 1)
    assert "not running: rerun" in status_text_of(sweep)


def status_text_of(out):
    from experiments.sweeps.status import status_text

    return status_text(status(out), out)


def test_the_time_left_with_shards_ignores_a_killed_shards_session(sweep):
    """A shard killed with SIGKILL leaves its session saying "running" (here since 2000): the
    rate is measured from the start of the live shard's session only, not from 2000."""
    import json
    import subprocess
    import sys
    import time
    from datetime import UTC, datetime

    from experiments.sweeps import claims

    for run_id in (1, 2, 3):
        os.remove(store.run_file(sweep, "summary", run_id))
    now = time.time()
    for run_id in (0, 4, 5):  # finished in the last 30 s
        os.utime(store.run_file(sweep, "summary", run_id), (now - 30, now - 30))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    sessions = sweep / store.SESSIONS
    sessions.mkdir()
    iso = datetime.fromtimestamp(now - 60, UTC).isoformat(timespec="seconds")
    for name, pid, started in (("killed", int(dead.stdout), "2000-01-01T00:00:00+00:00"), ("live", os.getpid(), iso)):
        record = {"started": started, "status": "running", "host": claims.host(), "pid": pid}
        (sessions / f"{name}.json").write_text(json.dumps(record))
    held = claims.Claims(sweep, shard="1/2")
    assert held.acquire(1) is None
    try:
        s = status(sweep)
    finally:
        held.release_all()
    assert s["claimed"] == 1
    assert s["rate_per_s"] == pytest.approx(3 / 60, rel=0.1)  # 3 runs in the live shard's 60 s
    assert s["eta_s"] == pytest.approx(3 / (3 / 60), rel=0.1)
