"""The sweep engine: same results on every executor, seeds on every row, failures isolated,
resume after a crash, a different spec refused, bounded work in flight."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import experiments
import experiments.sweeps.worker as worker
from experiments.experiment import TINY_BASE
from experiments.sweeps import SweepFailed, load_results, load_spec, run_sweep
from model import MODEL_REPORTERS, SUMMARY_KEYS, simulate

REPO = Path(__file__).resolve().parents[2]


def tables_on_disk(out: Path, table: str) -> list[str]:
    """Finished files of a table (temporary files start with a dot)."""
    d = out / table
    return sorted(n for n in os.listdir(d) if not n.startswith(".")) if d.is_dir() else []


def temp_files(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture
def count_runs(monkeypatch):
    """Record the seed of every run the worker simulates (in this process)."""
    seen = []
    real = worker.simulate

    def counting(params, *, steps, seed, **kw):
        seen.append(seed)
        return real(params, steps=steps, seed=seed, **kw)

    monkeypatch.setattr(worker, "simulate", counting)
    return seen


def test_package_reexports_the_engine():
    assert experiments.run_sweep is run_sweep
    assert experiments.load_results is load_results
    assert experiments.load_spec is load_spec


def test_tables_are_tidy_with_seeds_on_every_row(tmp_path, grid_spec):
    spec = load_spec(grid_spec)
    runs = run_sweep(spec, tmp_path / "out", executor="serial")
    res = load_results(tmp_path / "out")
    pdt.assert_frame_equal(runs, res.runs)

    assert list(runs.columns[:7]) == [
        "run_id",
        "point",
        "replication",
        "seed",
        "status",
        "commission_rate",
        "contract_weeks",
    ]
    assert list(runs.columns[7:]) == list(SUMMARY_KEYS)
    assert runs["run_id"].tolist() == list(range(8)) and (runs["status"] == "done").all()
    assert runs["seed"].is_unique
    assert runs[list(SUMMARY_KEYS)].notna().all().all()

    ts = res.timeseries
    assert len(ts) == 8 * spec.steps
    assert list(ts.columns) == ["run_id", "seed", "commission_rate", "contract_weeks", *MODEL_REPORTERS]
    assert not ts.duplicated(["run_id", "week"]).any()
    assert len(res.brands) == 8 * spec.steps * 4 and len(res.agencies) == 8 * spec.steps * 2
    for table in (ts, res.brands, res.agencies):  # the run's seed on every row
        merged = table[["run_id", "seed"]].merge(runs[["run_id", "seed"]], on="run_id", suffixes=("", "_run"))
        assert (merged["seed"] == merged["seed_run"]).all()

    # a run's rows are exactly what simulate() gives for the recorded seed and parameters
    row = runs.iloc[5]
    direct = simulate(
        spec.params({"commission_rate": row["commission_rate"], "contract_weeks": int(row["contract_weeks"])}),
        steps=spec.steps,
        seed=int(row["seed"]),
    )
    mine = ts[ts["run_id"] == 5][list(MODEL_REPORTERS)].reset_index(drop=True)
    pdt.assert_frame_equal(mine, direct.timeseries[list(MODEL_REPORTERS)], check_dtype=False)
    assert row["total_gmv"] == direct.summary["total_gmv"]

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["spec_hash"] == spec.spec_hash and manifest["n_runs"] == 8
    assert [r["seed"] for r in manifest["runs"]] == runs["seed"].tolist()
    assert {r["status"] for r in manifest["runs"]} == {"done"}
    # each run's CPU seconds in its worker (what bench_sweep.py sets the wall time against)
    assert all(0 < r["cpu_s"] <= r["duration_s"] + 0.05 for r in manifest["runs"])
    assert manifest["package"]["agency-sim"] and manifest["sessions"][-1]["status"] == "complete"


def test_summary_only_sweep_keeps_no_weekly_tables(tmp_path, grid_spec):
    grid_spec["outputs"] = {"timeseries": False}
    run_sweep(grid_spec, tmp_path / "o", executor="serial")
    res = load_results(tmp_path / "o")
    assert len(res.runs) == 8
    assert res.timeseries.empty and res.brands.empty and res.agencies.empty
    assert tables_on_disk(tmp_path / "o", "timeseries") == []


def test_serial_processes_and_any_executor_give_identical_tables(tmp_path, grid_spec, same_results):
    run_sweep(grid_spec, tmp_path / "serial", executor="serial")
    run_sweep(grid_spec, tmp_path / "proc", executor="processes", workers=2)
    with ThreadPoolExecutor(3) as pool:  # any concurrent.futures.Executor plugs in
        run_sweep(grid_spec, tmp_path / "threads", executor=pool)
    ref = load_results(tmp_path / "serial")
    same_results(ref, load_results(tmp_path / "proc"))
    same_results(ref, load_results(tmp_path / "threads"))


@pytest.mark.slow
def test_dask_gives_identical_tables(tmp_path, grid_spec, same_results):
    from distributed import Client, LocalCluster

    run_sweep(grid_spec, tmp_path / "serial", executor="serial")
    ref = load_results(tmp_path / "serial")
    # the engine starts its own LocalCluster (worker processes on loopback) ...
    run_sweep(grid_spec, tmp_path / "dask", executor="dask", workers=2)
    same_results(ref, load_results(tmp_path / "dask"))
    # ... or connects to a running scheduler by address, or uses a Client
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        run_sweep(grid_spec, tmp_path / "addr", executor="dask", scheduler=cluster.scheduler_address)
        with Client(cluster) as client:
            run_sweep(grid_spec, tmp_path / "client", executor=client)
    same_results(ref, load_results(tmp_path / "addr"))
    same_results(ref, load_results(tmp_path / "client"))


def test_work_in_flight_is_bounded(tmp_path, grid_spec):
    """The parent never has more than a window of runs outstanding, whatever the sweep size."""
    grid_spec["design"]["factors"]["commission_rate"] = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3]
    grid_spec["outputs"] = {"timeseries": True}
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            fut = super().submit(fn, *args, **kwargs)
            fut.add_done_callback(lambda f: self._done())
            return fut

        def _done(self):
            with lock:
                state["now"] -= 1

    with Counting(2) as pool:
        runs = run_sweep(grid_spec, tmp_path / "o", executor=pool, workers=2)
    assert len(runs) == 24 and (runs["status"] == "done").all()
    assert 2 <= state["max"] <= 5  # 2 x workers + 1


def flaky_simulate(bad_seed):
    real = worker.simulate

    def flaky(params, *, steps, seed, **kw):
        if seed == bad_seed:
            raise RuntimeError("injected failure in the model")
        return real(params, steps=steps, seed=seed, **kw)

    return flaky


def test_a_failing_run_is_isolated_recorded_and_retried(tmp_path, grid_spec, monkeypatch, same_results):
    spec = load_spec(grid_spec)
    bad = [r for r in spec.runs() if r.run_id == 3][0]
    monkeypatch.setattr(worker, "simulate", flaky_simulate(bad.seed))
    out = tmp_path / "o"
    with pytest.raises(SweepFailed) as err:
        run_sweep(spec, out, executor="serial")
    msg = str(err.value)
    assert "1 of 8 runs failed" in msg and "run ids 3" in msg and "run-000003.json" in msg
    assert err.value.failed == [3]

    res = load_results(out)
    assert res.runs.set_index("run_id")["status"].to_dict() == {i: "failed" if i == 3 else "done" for i in range(8)}
    assert np.isnan(res.runs.loc[3, "total_gmv"]) and res.runs["total_gmv"].notna().sum() == 7
    assert sorted(res.timeseries["run_id"].unique()) == [0, 1, 2, 4, 5, 6, 7]
    record = json.loads((out / "failed" / "run-000003.json").read_text())
    assert record["seed"] == bad.seed and "injected failure in the model" in record["traceback"]
    assert "Traceback" in record["traceback"] and res.failures["run_id"].tolist() == [3]

    # fixed: a rerun runs only the failed run and ends equal to a clean sweep
    monkeypatch.undo()
    seen = []
    real = worker.simulate

    def counting(params, *, steps, seed, **kw):
        seen.append(seed)
        return real(params, steps=steps, seed=seed, **kw)

    monkeypatch.setattr(worker, "simulate", counting)
    run_sweep(spec, out, executor="serial")
    assert seen == [bad.seed]
    assert not (out / "failed" / "run-000003.json").exists()
    monkeypatch.undo()
    run_sweep(spec, tmp_path / "clean", executor="serial")
    same_results(load_results(tmp_path / "clean"), load_results(out))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_failing_run_in_a_worker_process_is_isolated(tmp_path, grid_spec, monkeypatch):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    spec = load_spec(grid_spec)
    bad = [r.seed for r in spec.runs() if r.run_id in (2, 6)]
    real = worker.simulate

    def flaky(params, *, steps, seed, **kw):
        if seed in bad:
            raise ZeroDivisionError("injected")
        return real(params, steps=steps, seed=seed, **kw)

    monkeypatch.setattr(worker, "simulate", flaky)
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:  # children inherit the patch
        with pytest.raises(SweepFailed) as err:
            run_sweep(spec, tmp_path / "o", executor=pool)
    assert err.value.failed == [2, 6]
    assert len(tables_on_disk(tmp_path / "o", "summary")) == 6
    assert "ZeroDivisionError" in load_results(tmp_path / "o").failures["traceback"][0]


def test_cli_exits_nonzero_and_lists_failures(tmp_path, grid_spec):
    spec = load_spec(grid_spec)
    bad = [r.seed for r in spec.runs() if r.run_id == 5][0]
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(grid_spec))
    driver = textwrap.dedent(f"""
        import sys
        import experiments.sweeps.worker as w
        real = w.simulate
        def flaky(params, *, steps, seed, **kw):
            if seed == {bad}:
                raise RuntimeError("injected")
            return real(params, steps=steps, seed=seed, **kw)
        w.simulate = flaky
        from experiments.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", driver, "sweep", str(spec_file), "--out", str(tmp_path / "o"), "--executor", "serial"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 1, proc.stderr
    assert "1 of 8 runs failed (run ids 5)" in proc.stderr and "run-000005.json" in proc.stderr
    assert len(tables_on_disk(tmp_path / "o", "summary")) == 7


def test_a_different_spec_is_refused(tmp_path, grid_spec):
    out = tmp_path / "o"
    run_sweep(grid_spec, out, executor="serial")
    before = sorted(p.name for p in (out / "summary").iterdir())
    other = dict(grid_spec, replications=3)
    with pytest.raises(ValueError, match=r"different sweep.*replications"):
        run_sweep(other, out, executor="serial")
    with pytest.raises(ValueError, match="resume is off"):
        run_sweep(grid_spec, out, executor="serial", resume=False)
    assert sorted(p.name for p in (out / "summary").iterdir()) == before
    # a folder with other things in it is not written into
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        run_sweep(grid_spec, tmp_path / "notes", executor="serial")


def test_rerun_of_a_complete_sweep_runs_nothing(tmp_path, grid_spec, count_runs):
    run_sweep(grid_spec, tmp_path / "o", executor="serial")
    assert len(count_runs) == 8
    run_sweep(grid_spec, tmp_path / "o", executor="serial")
    assert len(count_runs) == 8


def test_resume_completes_missing_runs_and_cleans_leftovers(tmp_path, grid_spec, count_runs, same_results):
    out = tmp_path / "o"
    run_sweep(grid_spec, out, executor="serial")
    ref = tmp_path / "ref"
    run_sweep(grid_spec, ref, executor="serial")
    count_runs.clear()
    # what a crash can leave: a run never started (3), a run killed between its files (5:
    # weekly tables written, no summary), and a half-written temporary file
    for table in ("summary", "timeseries", "brands", "agencies"):
        (out / table / "run-000003.parquet").unlink()
    (out / "summary" / "run-000005.parquet").unlink()
    (out / "brands" / ".run-000005.parquet.x1y2.tmp").write_bytes(b"PAR1 torn")
    assert len(load_results(out).timeseries["run_id"].unique()) == 6  # only done runs are read
    run_sweep(grid_spec, out, executor="serial")
    seeds = load_results(ref).runs.set_index("run_id")["seed"]
    assert sorted(count_runs) == sorted([seeds[3], seeds[5]])
    assert temp_files(out) == []
    same_results(load_results(ref), load_results(out))


def test_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path, same_results):
    spec = {
        "name": "killed",
        "steps": 30,
        "replications": 2,
        "seed": 3,
        "base": dict(TINY_BASE),
        "design": {
            "kind": "grid",
            "factors": {"commission_rate": [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3]},
        },
        "outputs": {"timeseries": True, "brands": True},
    }
    n_runs = 20
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "experiments.cli",
        "sweep",
        str(spec_file),
        "--out",
        str(out),
        "--executor",
        "processes",
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(tables_on_disk(out, "summary")) < 5:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep did not start"
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = len(tables_on_disk(out, "summary"))
    assert 5 <= done_at_kill < n_runs

    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    run_sweep(spec, tmp_path / "ref", executor="serial")

    res = load_results(out)
    same_results(load_results(tmp_path / "ref"), res, tables=("runs", "timeseries", "brands"))
    assert res.runs["run_id"].is_unique and (res.runs["status"] == "done").all()
    assert not res.timeseries.duplicated(["run_id", "week"]).any()
    for table in ("summary", "timeseries", "brands"):
        assert len(tables_on_disk(out, table)) == n_runs
    assert temp_files(out) == []
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert len(sessions) == 2 and sessions[0]["status"] == "running" and sessions[1]["status"] == "complete"
    assert sessions[1]["runs_done"] == n_runs - done_at_kill


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, grid_spec, capsys):
    run_sweep(grid_spec, tmp_path / "a", executor="serial")  # stderr is not a terminal here
    assert capsys.readouterr().err == ""
    run_sweep(grid_spec, tmp_path / "b", executor="serial", progress=True)
    err = capsys.readouterr().err
    assert "8/8" in err and "failed=0" in err


def test_sensitivity_designs_run_and_analyse(tmp_path):
    base = dict(TINY_BASE)
    factors = {"commission_rate": [0.02, 0.3], "contract_weeks": [26, 104]}
    sobol = {
        "steps": 8,
        "seed": 2,
        "base": base,
        "outputs": {"timeseries": False},
        "design": {"kind": "sobol", "factors": factors, "samples": 4, "second_order": False},
    }
    runs = run_sweep(sobol, tmp_path / "sobol", executor="processes", workers=2)
    assert len(runs) == 4 * (2 + 2) and (runs["status"] == "done").all()
    res = load_results(tmp_path / "sobol")
    assert res.problem["names"] == ["commission_rate", "contract_weeks"]
    Si = res.analyze("agency_profit_total")
    assert len(Si["S1"]) == 2 and np.isfinite(Si["ST"]).all()

    morris = {**sobol, "design": {"kind": "morris", "factors": factors, "samples": 3, "levels": 4}}
    run_sweep(morris, tmp_path / "morris", executor="serial")
    Mi = load_results(tmp_path / "morris").analyze("agency_profit_total")
    assert list(Mi["names"]) == ["commission_rate", "contract_weeks"] and len(Mi["mu_star"]) == 2


def test_load_results_reads_selected_columns_and_scans(tmp_path, grid_spec):
    run_sweep(grid_spec, tmp_path / "o", executor="serial")
    res = load_results(tmp_path / "o")
    part = res.read("timeseries", columns=["run_id", "week", "gmv"], runs=[1, 2])
    assert list(part.columns) == ["run_id", "week", "gmv"] and sorted(part["run_id"].unique()) == [1, 2]
    assert res.scan("brands").count_rows() == len(res.brands)
    assert isinstance(res.runs, pd.DataFrame) and "done" in repr(res)


def _sweep_in_background(tmp_path, spec: dict, out, stderr) -> tuple[subprocess.Popen, list[str]]:
    """`agency-sim sweep` of ``spec`` into ``out`` with two worker processes, started in a
    session of its own; returns the process and the command (to rerun it)."""
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    cmd = [
        sys.executable,
        "-m",
        "experiments.cli",
        "sweep",
        str(spec_file),
        "--out",
        str(out),
        "--executor",
        "processes",
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    return proc, cmd


def _wait_for_summaries(proc: subprocess.Popen, out, n: int) -> None:
    """Until ``n`` runs of the sweep are on disk (the sweep is going)."""
    deadline = time.monotonic() + 120
    while len(tables_on_disk(out, "summary")) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not start"
        time.sleep(0.005)


def _children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_only_the_parent_ends_its_workers_and_the_rerun_completes(tmp_path, same_results):
    """kill -9 of the sweep's parent alone (not its process group): the workers end with it
    instead of running on, orphaned, holding the folder's lock; the same command then takes
    the lock over (saying so) and completes to the uninterrupted result (issue 28, row 1)."""
    spec = {
        "name": "orphans",
        "steps": 60,
        "replications": 4,
        "seed": 5,
        "base": dict(TINY_BASE),
        "design": {"kind": "grid", "factors": {"commission_rate": [0.02, 0.06, 0.1, 0.2, 0.3]}},
        "outputs": {"timeseries": True},
    }
    n_runs = 20
    out = tmp_path / "orphans"
    proc, cmd = _sweep_in_background(tmp_path, spec, out, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        _wait_for_summaries(proc, out, 3)
        workers = _children(proc.pid)
        assert workers, "no worker processes seen"
        proc.kill()  # the parent only
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "workers outlived their parent"
    finally:
        for w in workers:
            try:
                os.kill(w, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert len(tables_on_disk(out, "summary")) < n_runs
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "taking over the lock" in rerun.stderr and f"pid {proc.pid}" in rerun.stderr
    run_sweep(spec, tmp_path / "ref", executor="serial")
    same_results(load_results(tmp_path / "ref"), load_results(out), tables=("runs", "timeseries"))
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "taking over" not in again.stderr  # a clean exit leaves no claim


def _ended(pids: list[int], timeout: float = 10) -> bool:
    """Every process gone within ``timeout`` (read from /proc: the pool's own thread may reap
    them, so ``Process.join`` in another thread can return before it knows)."""
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not any(_alive(p) for p in pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method, reads /proc")
def test_an_interrupt_while_workers_are_forked_leaves_no_worker_behind(monkeypatch):
    """A KeyboardInterrupt raised between forking the second worker and entering it in the
    pool's table (where a signal can land): both workers are ended, none is left for Python to
    wait for at exit (a shard ended by SIGTERM there hung, in CI)."""
    import multiprocessing.process as mpp

    from experiments.sweeps import executors

    started, real = [], mpp.BaseProcess.start

    def start(self):
        real(self)
        started.append(self)
        if len(started) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(mpp.BaseProcess, "start", start)
    pools = []
    with pytest.raises(KeyboardInterrupt):
        executors._process_pool(2, pools)
    monkeypatch.undo()
    assert len(started) == 2 and len(pools) == 1
    assert _ended([p.pid for p in started])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_error_inside_the_processes_backend_ends_its_runs_at_once():
    """An exception out of the ``with`` (before the sweep's loop could abort) ends the workers
    and their runs in flight instead of waiting for them to finish."""
    from concurrent.futures import wait
    from concurrent.futures.process import BrokenProcessPool

    from experiments.sweeps.executors import open_backend

    with pytest.raises(KeyboardInterrupt):
        with open_backend("processes", 2) as backend:
            procs = list(backend.executor._processes.values())
            futs = [backend.executor.submit(time.sleep, 60) for _ in range(2)]
            time.sleep(0.2)
            raise KeyboardInterrupt
    assert _ended([p.pid for p in procs])
    assert not wait(futs, timeout=30).not_done
    assert all(isinstance(f.exception(), BrokenProcessPool) for f in futs)  # ended, not finished


def _put_big(queue, whole: bool) -> None:
    from experiments.sweeps import executors, worker

    if whole:
        executors._init_worker()  # (what a pool's worker does first)
    worker.to_parquet(pd.DataFrame({"a": np.arange(100_000)}))  # as every run does
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # (a thread made later, as Arrow's)
    queue.put(b"x" * 20_000_000)  # (blocks halfway: far more than the pipe holds, and nobody reads yet)
    time.sleep(60)  # (a worker waits for its next run)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method")
@pytest.mark.parametrize("whole", [True, False])
def test_a_worker_ended_while_it_sends_a_result_sends_all_of_it(whole):
    """SIGTERM to a worker (with other threads running, as Arrow's after any run) halfway
    through writing its result: the write is finished first, so the reader gets the whole message (half
    of one left the pool's thread, and the process at exit, waiting forever). A process not set
    up as a worker shows the test can tell."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.SimpleQueue()
    child = ctx.Process(target=_put_big, args=(queue, whole))
    child.start()
    assert queue._reader.poll(60)  # the child is writing, and stuck until we read
    child.terminate()
    got = []
    reader = threading.Thread(target=lambda: got.append(queue.get()), daemon=True)
    reader.start()
    reader.join(timeout=10 if whole else 3)  # (half a message: it would wait forever)
    child.join(timeout=20)
    assert child.exitcode == -signal.SIGTERM  # ended, once the write was done
    assert (len(got[0]) if got else None) == (20_000_000 if whole else None)


@pytest.fixture
def ctrl_c_raises():
    """SIGINT handled as in a terminal or notebook (a test runner's worker may ignore it)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("where", ["a run's submit", "the pool's first submit", "shutdown"])
def test_ctrl_c_inside_the_executors_own_code_is_raised_after_it(
    tmp_path, grid_spec, monkeypatch, ctrl_c_raises, where
):
    """A Ctrl-C landing inside ProcessPoolExecutor's code is raised only once that code has
    returned (raised in the middle, it can leave the pool's lock held and the process waiting
    for it at exit, forever): in the sweep's loop handing a run to the pool, while the pool
    starts its workers, or at the end; the sweep then stops as interrupted, its workers ended."""
    from concurrent.futures import ProcessPoolExecutor

    from experiments.sweeps import executors, interrupts, worker

    call = "shutdown" if where == "shutdown" else "submit"
    target = {"a run's submit": worker.execute_run, "the pool's first submit": executors._nothing}.get(where)
    real, calls, children = getattr(ProcessPoolExecutor, call), [], set()

    def hit(self, *a, **kw):
        if target is not None and a[0] is not target:
            return real(self, *a, **kw)
        first = not calls
        calls.append("in")
        children.update(self._processes or {})
        if first:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # (where the handler runs: it must only note the interrupt)
        out = real(self, *a, **kw)
        children.update(self._processes or {})
        calls.append("out")
        return out

    monkeypatch.setattr(ProcessPoolExecutor, call, hit)
    monkeypatch.setattr(interrupts, "POLL_S", 0.01)
    grid_spec["steps"] = 30
    with pytest.raises(KeyboardInterrupt):
        run_sweep(grid_spec, tmp_path / "o", executor="processes", workers=2)
    assert calls[:2] == ["in", "out"]  # the call the signal landed in ran to its end
    assert children and _ended(sorted(children))
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["status"] == "interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_a_section_in_another_thread_does_not_hold_back_the_main_threads_ctrl_c():
    """A sweep run from a thread must not hold back (or later take) the Ctrl-C of the main thread."""
    from experiments.sweeps import interrupts

    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with interrupts.deferred_signals():
            inside.set()
            leave.wait(30)
            interrupts.raise_if_interrupted()  # (nothing held back for this thread)

    t = threading.Thread(target=other)
    t.start()
    try:
        assert inside.wait(30)
        with pytest.raises(KeyboardInterrupt):
            interrupts.interrupt(signal.SIGINT, None)  # the main thread is in no section: at once
    finally:
        leave.set()
        t.join(30)
    with interrupts.deferred_signals():  # and nothing is left over
        pass


def _sleep_long(started) -> None:
    started.set()
    time.sleep(60)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method")
def test_a_process_forked_inside_a_section_is_ended_by_sigterm(ctrl_c_raises):
    """A child forked while a shard holds interrupts back (a pool's worker, before it sets
    itself up) does not inherit the holding back: SIGTERM ends it at once."""
    import multiprocessing as mp

    from experiments.sweeps import interrupts

    ctx = mp.get_context("fork")
    started = ctx.Event()
    with interrupts.handled(term=True), interrupts.deferred_signals():
        child = ctx.Process(target=_sleep_long, args=(started,))
        child.start()
    assert started.wait(30)  # (a signal in the very instant of the fork is lost: Python clears them there)
    child.terminate()
    child.join(timeout=30)
    assert child.exitcode == -signal.SIGTERM


def test_the_sweeps_interrupt_handler_leaves_an_ignored_ctrl_c_alone():
    from experiments.sweeps import interrupts

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts.handled(term=False):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with interrupts.handled(term=False):
            assert signal.getsignal(signal.SIGINT) is interrupts.interrupt
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_an_interrupt_held_back_is_raised_once_on_leaving_the_outermost_section():
    from experiments.sweeps import interrupts

    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred_signals():
            with interrupts.deferred_signals():
                interrupts.interrupt(signal.SIGINT, None)  # noted only
            reached = True  # (the inner section's end does not raise)
    assert reached
    with interrupts.deferred_signals():  # nothing left over from the first
        pass
    with pytest.raises(KeyboardInterrupt):
        interrupts.interrupt(signal.SIGINT, None)  # outside any section: at once


def test_sweep_files_are_readable_by_others_as_the_umask_allows(tmp_path, grid_spec):
    old = os.umask(0o022)
    try:
        from experiments.sweeps import store

        mode = store._file_mode()
        run_sweep(grid_spec, tmp_path / "o", executor="serial")
    finally:
        os.umask(old)
    assert mode == 0o644
    files = [p for p in (tmp_path / "o").rglob("*") if p.is_file() and p.name != ".lock"]
    assert files and all(p.stat().st_mode & 0o777 == store.FILE_MODE for p in files)


def test_rerunning_a_sweep_says_what_it_reuses(tmp_path, grid_spec, capsys):
    run_sweep(grid_spec, tmp_path / "o", executor="serial")
    assert "already done" not in capsys.readouterr().err
    run_sweep(grid_spec, tmp_path / "o", executor="serial")
    err = capsys.readouterr().err
    assert f"8 of 8 runs were already done in {str(tmp_path / 'o')!r}; nothing to run" in err


@pytest.mark.parametrize(
    "damage, words",
    [
        ("delete", "its timeseries table is missing"),
        ("empty", "its timeseries table is empty"),
        ("truncate", "its timeseries table is truncated"),
        ("garble", "its timeseries table was changed (checksum)"),
        ("summary", "its summary table is truncated"),
    ],
)
def test_a_damaged_run_is_refused_by_load_results_and_run_again_on_resume(
    tmp_path, grid_spec, capsys, same_results, damage, words
):
    """What a finished run wrote is checked against its receipt (issue 28, row 4)."""
    from experiments.sweeps import store

    run_sweep(grid_spec, tmp_path / "ref", executor="serial")
    out = tmp_path / "o"
    run_sweep(grid_spec, out, executor="serial")
    table = "summary" if damage == "summary" else "timeseries"
    f = store.run_file(out, table, 3)
    data = f.read_bytes()
    if damage == "delete":
        f.unlink()
    elif damage == "empty":
        f.write_bytes(b"")
    elif damage in ("truncate", "summary"):
        f.write_bytes(data[: len(data) // 2])
    else:
        f.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    with pytest.raises(
        ValueError, match=r"1 damaged run\(s\): run 3: " + words.replace("(", r"\(").replace(")", r"\)")
    ):
        load_results(out)
    capsys.readouterr()
    run_sweep(grid_spec, out, executor="serial")
    err = capsys.readouterr().err
    assert f"run 3: {words}; running it again" in err and "7 of 8 runs were already done" in err
    same_results(load_results(tmp_path / "ref"), load_results(out))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_a_worker_fails_only_its_runs_and_the_rerun_completes(tmp_path, same_results):
    """kill -9 of one worker process mid-sweep: the sweep goes on with a fresh pool, records the
    runs that worker had in flight as failed (exit 1, naming them), and the same command then
    completes to the uninterrupted result (issue 28, row 1)."""
    spec = {
        "name": "worker",
        "steps": 60,
        "replications": 4,
        "seed": 6,
        "base": dict(TINY_BASE),
        "design": {"kind": "grid", "factors": {"commission_rate": [0.02, 0.06, 0.1, 0.2, 0.3]}},
        "outputs": {"timeseries": True},
    }
    out = tmp_path / "w"
    proc, cmd = _sweep_in_background(tmp_path, spec, out, stderr=subprocess.PIPE)
    try:
        _wait_for_summaries(proc, out, 3)
        workers = [
            w
            for w in _children(proc.pid)  # (not multiprocessing's resource tracker)
            if b"resource_tracker" not in Path(f"/proc/{w}/cmdline").read_bytes()
        ]
        assert workers
        os.kill(workers[0], signal.SIGKILL)
        err = proc.communicate(timeout=300)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 1, err  # the runs in flight in the broken pool are failed, and named
    assert "runs failed" in err and "Rerun the same command" in err and "Traceback (most recent" not in err
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    run_sweep(spec, tmp_path / "ref", executor="serial")
    same_results(load_results(tmp_path / "ref"), load_results(out), tables=("runs", "timeseries"))
