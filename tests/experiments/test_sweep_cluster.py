"""Sweeps on a cluster (issue 26): shards writing one folder at once, per-run claims, stale
claims taken over, compaction, --status of claims, the Slurm script, MPI."""

import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.sweeps import claims, load_results, run_sweep, store
from experiments.sweeps.compact import compact
from experiments.sweeps.status import status, status_text

REPO = Path(__file__).resolve().parents[2]
TINY = {"n_consumers": 200, "n_brands": 4, "n_agencies": 2, "burn_in_weeks": 2}
SPEC = {
    "name": "cluster",
    "steps": 6,
    "replications": 3,
    "seed": 17,
    "base": TINY,
    "design": {"kind": "grid", "factors": {"commission_rate": [0.03, 0.08, 0.15, 0.3]}},
    "outputs": {"timeseries": True, "brands": True},
}
N_RUNS = 12
TABLES = ("runs", "timeseries", "brands")

# a driver that runs the CLI with every simulated run logged (pid and run seed, one line each,
# appended) and, if AGENCY_SIM_TEST_SLEEP is set, a random pause before each run, so that
# processes started together interleave differently from trial to trial; and, if
# AGENCY_SIM_TEST_SIGNAL_AT_FORK names a signal, the process sends it to itself once, the moment
# its first worker process is forked
DRIVER = textwrap.dedent("""
    import os, random, signal, sys, time
    import multiprocessing.process as mpp
    at_fork = os.environ.pop("AGENCY_SIM_TEST_SIGNAL_AT_FORK", "")
    real_start = mpp.BaseProcess.start
    def start(self):
        global at_fork
        real_start(self)
        if at_fork:
            sig, at_fork = getattr(signal, at_fork), ""
            os.kill(os.getpid(), sig)
    mpp.BaseProcess.start = start
    import experiments.sweeps.worker as w
    real = w.simulate
    log = os.environ.get("AGENCY_SIM_TEST_LOG")
    pause = float(os.environ.get("AGENCY_SIM_TEST_SLEEP", "0"))
    rng = random.Random(os.environ.get("AGENCY_SIM_TEST_SEED", "0") + str(os.getpid()))
    def logged(params, *, steps, seed, **kw):
        if pause:
            time.sleep(rng.uniform(0, pause))
        if log:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(fd, f"{os.getpid()} {seed}\\n".encode())
            os.close(fd)
        return real(params, steps=steps, seed=seed, **kw)
    w.simulate = logged
    from experiments.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def env(**extra) -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def spec_file(tmp_path: Path, spec: dict = SPEC) -> Path:
    f = tmp_path / "spec.json"
    f.write_text(json.dumps(spec))
    return f


def shard_cmd(spec: Path, out: Path, shard: str, *extra: str) -> list[str]:
    return [sys.executable, "-c", DRIVER, "sweep", str(spec), "--out", str(out), "--shard", shard, *extra]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The reference: the spec as one serial, one-process sweep."""
    out = tmp_path_factory.mktemp("ref") / "serial"
    run_sweep(SPEC, out, executor="serial")
    return load_results(out)


def summaries(out: Path) -> int:
    d = out / "summary"
    return len([n for n in os.listdir(d) if not n.startswith(".")]) if d.is_dir() else 0


def logged_runs(log: Path) -> list[tuple[int, int]]:
    if not log.exists():
        return []
    return [tuple(map(int, line.split())) for line in log.read_text().splitlines()]


# --- shards --------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3])
def test_shards_started_at_once_equal_a_serial_sweep(tmp_path, serial, same_results, n):
    spec, out, log = spec_file(tmp_path), tmp_path / "out", tmp_path / "runs.log"
    procs = [
        subprocess.Popen(
            shard_cmd(spec, out, f"{i}/{n}", "--executor", "processes", "--workers", "1"),
            cwd=REPO,
            env=env(AGENCY_SIM_TEST_LOG=log),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(1, n + 1)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (o, e) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, e
        assert "--compact" in o
    same_results(serial, load_results(out), tables=TABLES)
    seeds = [seed for _, seed in logged_runs(log)]
    assert sorted(seeds) == sorted(serial.runs["seed"])  # each run ran once
    assert len({pid for pid, _ in logged_runs(log)}) >= n  # in n shards' workers
    assert claims.all_claims(out) == []  # every claim removed once its run was on disk
    sessions = [json.loads(f.read_text()) for f in (out / "sessions").glob("*.json")]
    assert sorted(s["shard"] for s in sessions) == [f"{i}/{n}" for i in range(1, n + 1)]
    assert all(s["status"] == "complete" for s in sessions)
    for s in sessions:  # shard i ran exactly the runs with run_id % n == i - 1
        i = int(s["shard"].split("/")[0])
        assert sorted(map(int, s["runs"])) == [r for r in range(N_RUNS) if r % n == i - 1]
    assert store.read_manifest(out)["spec_hash"] == load_results(out).manifest["spec_hash"]


def test_a_shard_killed_mid_run_is_taken_over_by_its_rerun(tmp_path, serial, same_results):
    """kill -9 of a shard (and its workers) mid-run leaves claims whose holder is dead; status
    calls them stale, and rerunning that shard takes them over and completes exactly."""
    spec = dict(SPEC, steps=40)  # longer runs, so that the kill lands with runs in flight
    spec_path, out, log = spec_file(tmp_path, spec), tmp_path / "out", tmp_path / "runs.log"
    cmd = shard_cmd(spec_path, out, "1/2", "--executor", "processes", "--workers", "2")
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env(AGENCY_SIM_TEST_LOG=log), start_new_session=True, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while summaries(out) < 1 or not claims.all_claims(out):
            assert proc.poll() is None and time.monotonic() < deadline, "the shard did not start"
            time.sleep(0.002)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_at_kill = summaries(out)
    assert 1 <= done_at_kill < N_RUNS // 2
    left = claims.current_claims(out)
    assert left and all(claims.is_stale(c) for c in left.values())  # its pid is dead
    s = status(out)
    assert s["claimed"] == 0 and s["stale_claims"] >= 1
    assert "stale claims" in status_text(s, out) and f"pid {proc.pid}" in status_text(s, out)

    log.unlink()
    rerun = subprocess.run(cmd, cwd=REPO, env=env(AGENCY_SIM_TEST_LOG=log), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    other = subprocess.run(
        shard_cmd(spec_path, out, "2/2"), cwd=REPO, env=env(), capture_output=True, text=True, timeout=300
    )
    assert other.returncode == 0, other.stderr
    ran = sorted(seed for _, seed in logged_runs(log))  # the rerun ran exactly its missing runs
    ref = tmp_path / "ref"
    run_sweep(spec, ref, executor="serial")
    ref_res, res = load_results(ref), load_results(out)
    seeds = ref_res.runs.set_index("run_id")["seed"]
    assert len(ran) == N_RUNS // 2 - done_at_kill and set(ran) <= {seeds[i] for i in range(0, N_RUNS, 2)}
    same_results(ref_res, res, tables=TABLES)
    # the dead shard's claims stay (a holder removes only its own file: finding 3), all stale and
    # of done runs, so --status does not count them; compaction clears them
    assert all(c.holder["pid"] == proc.pid and claims.is_stale(c) for c in claims.all_claims(out))
    assert status(out)["stale_claims"] == 0 and status(out)["claimed"] == 0
    compact(out, quiet=True)
    assert claims.all_claims(out) == []


def test_a_shard_ended_by_sigterm_removes_its_claims(tmp_path):
    """Slurm ends a task at its time limit with SIGTERM: the shard leaves no claim behind (the
    compaction job after the array would otherwise wait out the lease), exits 130, and its
    session says interrupted."""
    spec_path, out = spec_file(tmp_path, dict(SPEC, steps=40)), tmp_path / "out"
    cmd = shard_cmd(spec_path, out, "1/1", "--executor", "processes", "--workers", "2")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while summaries(out) < 1 or not claims.all_claims(out):
        assert proc.poll() is None and time.monotonic() < deadline, "the shard did not start"
        time.sleep(0.002)
    proc.terminate()
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert claims.all_claims(out) == []
    (session,) = [json.loads(f.read_text()) for f in (out / "sessions").glob("*.json")]
    assert session["status"] == "interrupted"
    assert summaries(out) < N_RUNS
    compact(out, quiet=True)  # nothing claimed: the compaction job can run at once


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_shard_interrupted_while_its_workers_are_forked_ends(tmp_path, sig):
    """A SIGTERM or Ctrl-C the moment the first worker is forked (before the pool knows it): the
    shard ends with 130, no claim and no worker left behind. A worker outside the pool's table
    used to be waited for at exit, forever (seen in CI)."""
    spec_path, out = spec_file(tmp_path), tmp_path / "out"
    cmd = shard_cmd(spec_path, out, "1/1", "--executor", "processes", "--workers", "2")
    # (pytest-xdist's workers ignore SIGINT and a child inherits that: Python then installs no
    # Ctrl-C handler, nor does the sweep, and the shard would run on as a terminal's would not)
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env(AGENCY_SIM_TEST_SIGNAL_AT_FORK=sig),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        err = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert claims.all_claims(out) == []
    (session,) = [json.loads(f.read_text()) for f in (out / "sessions").glob("*.json")]
    assert session["status"] == "interrupted"
    assert summaries(out) == 0  # (no run had started)


def _race(out: str, order_seed: int, runs: int, queue, done) -> None:
    """One contender: claim every run in a random order; report the runs it won."""
    rng = random.Random(order_seed)
    ids = list(range(runs))
    rng.shuffle(ids)
    held = claims.Claims(Path(out), shard="race")
    won = [i for i in ids if held.acquire(i) is None]
    queue.put((os.getpid(), won))
    done.wait(timeout=120)  # keep holding (alive) until every contender has looked


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method")
def test_two_processes_never_hold_the_same_run_over_many_interleavings(tmp_path):
    """Six processes race to claim the same 40 runs, each in its own random order, in 25
    trials; a third of the runs start with a stale claim (a dead process of this host, some
    taken over twice before) and a tenth with a live one. Each free or stale run is won by
    exactly one process, a live claim by none."""
    ctx = mp.get_context("fork")
    runs, contenders = 40, 6
    dead = _dead_pid()
    for trial in range(25):
        out = tmp_path / f"t{trial}"
        (out / "claims").mkdir(parents=True)
        rng = random.Random(trial)
        stale = set(rng.sample(range(runs), runs // 3))
        live = set(rng.sample(sorted(set(range(runs)) - stale), runs // 10))
        for i in stale:  # generations 0..g of claims by a dead holder
            for g in range(rng.randint(0, 2) + 1):
                claims.claim_path(out, i, g).write_text(json.dumps({"host": claims.host(), "pid": dead}))
        for i in live:
            claims.claim_path(out, i, 0).write_text(json.dumps({"host": claims.host(), "pid": os.getpid()}))
        queue, done = ctx.Queue(), ctx.Event()
        procs = [
            ctx.Process(target=_race, args=(str(out), trial * 100 + k, runs, queue, done)) for k in range(contenders)
        ]
        for p in procs:
            p.start()
        results = [queue.get(timeout=60) for _ in procs]
        done.set()  # every contender has looked: they may end (and their claims go stale)
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        won = [i for _, ids in results for i in ids]
        assert sorted(won) == sorted(set(range(runs)) - live), f"trial {trial}"
        assert len({pid for pid, ids in results if ids}) >= 1


def _on_host(out: Path, name: str, shard: str = "") -> claims.Claims:
    """The claims of a process on another host (named ``name``): judged by the lease alone."""
    held = claims.Claims(out, shard=shard)
    held.me = {**held.me, "host": name, "pid": 1, "start": None}
    return held


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_release_during_a_takeover_leaves_the_run_to_one_process(tmp_path):
    """The reviewer's interleaving: A took run 5 over from a dead holder (A holds g1 over a stale
    g0); B has judged g0 stale too, and A finishes and releases just before B creates g1. Then a
    newcomer C must find B's live claim, not a free run (it did when release removed g0 too)."""
    out = tmp_path / "out"
    a, b, c = (_on_host(out, f"node-{x}", x) for x in "abc")
    dead = claims.claim_path(out, 5, 0)
    dead.write_text(json.dumps({"host": "node-dead", "pid": 7, "since": "then"}))
    _age(dead, 2 * claims.LEASE_S)
    assert a.acquire(5) is None and claims.claim_path(out, 5, 1).exists()  # A holds g1
    b_create = b._create

    def create(path):  # B has judged g0 stale; A releases before B creates g1
        if path == claims.claim_path(out, 5, 1):
            a.release(5)
        return b_create(path)

    b._create = create
    assert b.acquire(5) is None  # B holds run 5
    other = c.acquire(5)
    assert other is not None, "B and C both hold run 5"
    assert other.holder["host"] == "node-b" and other.generation == 1
    assert dead.exists()  # (the stale generation stays for a compaction to clear)
    b.release(5)
    assert [x.path for x in claims.all_claims(out)] == [dead]


def test_another_hosts_claim_is_judged_by_the_larger_lease_and_kept_fresh_by_its_heartbeat(tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv(claims.LEASE_ENV, "7200")  # the holder's lease: 2 h
    holder = _on_host(out, "node-b", "2/2")
    monkeypatch.delenv(claims.LEASE_ENV)  # the reader's: the default 30 min
    assert holder.acquire(3) is None
    (c,) = claims.all_claims(out)
    assert (c.holder["lease"], c.holder["heartbeat"]) == (7200, claims.HEARTBEAT_S)
    _age(c.path, 3600)  # silent for an hour: past our lease, within the holder's
    assert not claims.is_stale(claims.read_claim(c.path)) and claims.live_claims(out).keys() == {3}
    assert claims.claim_lease(c) == 7200 and claims.claim_lease(c, lease=9000) == 9000
    _age(c.path, 7300)
    assert claims.is_stale(claims.read_claim(c.path))
    other = _on_host(out, "node-c")
    holder.start_heartbeat(every=0.01)  # the holder wakes up: its heartbeat touches the claim
    try:
        deadline = time.monotonic() + 30
        while claims.is_stale(claims.read_claim(c.path)):
            assert time.monotonic() < deadline, "the heartbeat did not touch the claim"
            time.sleep(0.01)
        assert other.acquire(3).holder["host"] == "node-b"  # live again: left to its holder
    finally:
        holder.__exit__(None, None, None)
    assert not c.path.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times from /proc")
def test_a_reused_pid_is_not_taken_for_the_holder(tmp_path):
    out = tmp_path / "out"
    (out / "claims").mkdir(parents=True)
    me = {"host": claims.host(), "pid": os.getpid()}
    claims.claim_path(out, 1, 0).write_text(json.dumps({**me, "start": claims._start_time(os.getpid())}))
    claims.claim_path(out, 2, 0).write_text(json.dumps({**me, "start": "1"}))  # an earlier process, same pid
    live = claims.live_claims(out)
    assert set(live) == {1}
    assert claims.Claims(out).acquire(2) is None and claims.claim_path(out, 2, 1).exists()


@pytest.mark.parametrize("value", ["abc", "10", "-5", "inf", "nan", "299"])
def test_a_bad_lease_in_the_environment_is_refused(tmp_path, monkeypatch, capsys, value):
    monkeypatch.setenv(claims.LEASE_ENV, value)
    with pytest.raises(ValueError, match="AGENCY_SIM_CLAIM_LEASE=.* is invalid: .* >= 300"):
        claims.lease_s()
    assert main(["sweep", str(spec_file(tmp_path)), "--out", str(tmp_path / "o"), "--shard", "1/2"]) == 2
    assert f"AGENCY_SIM_CLAIM_LEASE={value!r} is invalid" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before the folder is touched
    monkeypatch.setenv(claims.LEASE_ENV, "300")
    assert claims.lease_s() == 300


def test_a_claim_is_never_left_empty_and_an_unreadable_one_expires(tmp_path, monkeypatch):
    """A crash while a claim is written leaves no empty claim (it is written whole, then linked
    into place); an unreadable claim (damaged) blocks its run only for a short grace, on any host
    (before: for the lease, even on its own host, shown as 'pid None on None')."""
    out = tmp_path / "out"
    held = claims.Claims(out)

    def crash(*args):
        raise KeyboardInterrupt  # killed while writing the claim

    with monkeypatch.context() as m:
        m.setattr(claims.os, "write", crash)
        try:
            held.acquire(4)
        except KeyboardInterrupt:
            pass
    for c in claims.all_claims(out):  # none, or a whole one
        assert c.holder.get("pid") == os.getpid(), "an empty claim was left"
    held.release_all()
    claims.claim_path(out, 7, 0).write_text("")
    (c,) = claims.all_claims(out)
    assert not claims.is_stale(c) and c.who() == "an unreadable claim"  # young: perhaps being written
    _age(c.path, claims.UNREADABLE_GRACE_S + 5)
    assert claims.is_stale(claims.read_claim(c.path))
    assert held.acquire(7) is None and held.held[7] == claims.claim_path(out, 7, 1)


def test_a_one_process_sweep_refuses_live_claims_and_removes_only_stale_ones(tmp_path):
    """Where flock is node-local, shards on other nodes may be running while a one-process sweep
    holds the lock here: their live claims make it refuse, and it never removes them."""
    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial", shard=(1, 2))
    elsewhere = _on_host(out, "node-b", "2/2")
    assert elsewhere.acquire(1) is None
    with pytest.raises(ValueError, match=r"1 run\(s\) claimed by live processes \(run 1 by pid 1 on node-b"):
        run_sweep(SPEC, out, executor="serial")
    assert claims.claim_path(out, 1, 0).exists() and summaries(out) == N_RUNS // 2
    dead_pid = _dead_pid()
    under = claims.claim_path(out, 1, 1)  # a dead holder's generation under the live one: kept
    claims.claim_path(out, 1, 0).rename(under)
    claims.claim_path(out, 1, 0).write_text(json.dumps({"host": claims.host(), "pid": dead_pid}))
    assert claims.remove_claims(out, stale_only=True) == 0 and claims.claim_path(out, 1, 0).exists()
    os.unlink(under)
    dead = claims.claim_path(out, 3, 0)  # a dead shard's claim: removed
    dead.write_text(json.dumps({"host": claims.host(), "pid": dead_pid}))
    run_sweep(SPEC, out, executor="serial")
    assert summaries(out) == N_RUNS and claims.all_claims(out) == []


def test_a_shard_is_not_refused_when_another_creates_the_manifest_meanwhile(tmp_path, monkeypatch):
    """Between a shard's look for the manifest and its listing of the folder, another shard
    creates the manifest: the folder is not 'not empty', the shard checks that manifest."""
    from experiments.sweeps import runner
    from experiments.sweeps.spec import load_spec

    out = tmp_path / "out"
    out.mkdir()
    spec = load_spec(SPEC)
    real_iterdir = Path.iterdir
    other = []

    def iterdir(self):  # after our look for the manifest, before our listing of the folder...
        if str(self) == str(out) and not other:
            other.append("the other shard")
            other.append(runner._open_shared(spec, out))  # ... the other shard creates it
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    manifest = runner._open_shared(spec, out)
    monkeypatch.undo()
    assert other and manifest["spec_hash"] == spec.spec_hash == store.read_manifest(out)["spec_hash"]


@pytest.mark.parametrize("trial", range(3))
def test_the_same_shard_started_three_times_runs_each_run_once(tmp_path, serial, same_results, trial):
    """Three processes given the same shard (a requeued array task next to the original, a user
    starting it twice) with random pauses: the claims give every run to one of them only."""
    spec, out, log = spec_file(tmp_path), tmp_path / "out", tmp_path / "runs.log"
    extra = {"AGENCY_SIM_TEST_LOG": log, "AGENCY_SIM_TEST_SLEEP": 0.15, "AGENCY_SIM_TEST_SEED": trial}
    procs = [
        subprocess.Popen(
            shard_cmd(spec, out, "1/1", "--executor", "serial"),
            cwd=REPO,
            env=env(**extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    seeds = [seed for _, seed in logged_runs(log)]
    assert sorted(seeds) == sorted(serial.runs["seed"]), "a run ran twice, or not at all"
    same_results(serial, load_results(out), tables=TABLES)
    sessions = [json.loads(f.read_text()) for f in (out / "sessions").glob("*.json")]
    said = {p.pid: err for p, err in zip(procs, errs, strict=True)}
    assert sorted(s["pid"] for s in sessions) == sorted(said)
    for s in sessions:  # a process that left runs to the others says so
        assert (s["runs_left_to_others"] > 0) == ("were claimed by other live processes" in said[s["pid"]])


def test_a_shard_with_a_different_spec_is_refused_naming_the_difference(tmp_path, capsys):
    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial", shard=(1, 2))
    other = dict(SPEC, steps=7)
    with pytest.raises(ValueError, match=r"different sweep.*differs in: steps.*Every shard must run the same spec"):
        run_sweep(other, out, executor="serial", shard=(2, 2))
    assert main(["sweep", str(spec_file(tmp_path, other)), "--out", str(out), "--shard", "2/2"]) == 2
    assert "differs in: steps" in capsys.readouterr().err
    for bad in ("0/2", "3/2", "x/2", "2"):
        assert main(["sweep", str(spec_file(tmp_path)), "--out", str(out), "--shard", bad]) == 2
        assert "allowed is I/N" in capsys.readouterr().err
    assert main(["sweep", str(spec_file(tmp_path)), "--out", str(out), "--shard", "1/2", "--no-resume"]) == 2


def test_a_one_process_sweep_and_shards_exclude_each_other(tmp_path):
    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial", shard=(1, 2))
    with store.FolderLock(out, shared=True):  # a shard is writing
        with pytest.raises(ValueError, match="in use by shards of a sweep"):
            run_sweep(SPEC, out, executor="serial")
    with store.FolderLock(out):  # a one-process sweep is writing
        with pytest.raises(ValueError, match="a shard cannot write into it meanwhile"):
            run_sweep(SPEC, out, executor="serial", shard=(2, 2))
    with store.FolderLock(out, purpose="compact"):  # a compaction: a shard started now exits 2
        assert main(["sweep", str(spec_file(tmp_path)), "--out", str(out), "--shard", "2/2"]) == 2


def test_no_pid_is_probed_with_os_kill_on_windows(monkeypatch):
    """On Windows os.kill(pid, 0) sends CTRL_C_EVENT: without psutil, a same-host claim is
    judged by the lease, and pid_alive never calls os.kill."""

    def kill(*args):
        raise AssertionError("os.kill called on Windows")

    monkeypatch.setitem(sys.modules, "psutil", None)  # (not installed)
    monkeypatch.setattr(claims.os, "kill", kill)
    monkeypatch.setattr(claims.os, "name", "nt")
    try:
        probe = claims.pid_alive(os.getpid()), claims.can_probe_pids()
    finally:
        monkeypatch.undo()  # (os.name is the os module's: pathlib and pytest need it back at once)
    assert probe == (True, False)


# --- compaction ----------------------------------------------------------------------------
def per_run_files(out: Path) -> list[str]:
    return sorted(
        str(p.relative_to(out))
        for t in (*store.TABLES, store.RECEIPTS)
        if (out / t).is_dir()
        for p in (out / t).iterdir()
    )


def test_compaction_is_idempotent_and_load_and_resume_work_after_it(tmp_path, serial, same_results, capsys):
    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial", shard=(1, 2))  # half the runs, then compact
    first = compact(out)
    assert first["runs_compacted"] == N_RUNS // 2 and first["files_after"] < first["files_before"]
    assert per_run_files(out) == []
    assert status(out)["done"] == N_RUNS // 2 and status(out)["compacted"] == N_RUNS // 2
    again = compact(out)  # nothing new: nothing changes
    assert again["runs_compacted"] == 0 and again["files_after"] == first["files_after"]
    assert "nothing to compact" in capsys.readouterr().out
    # resume after compaction: the other shard, then a one-process rerun that finds nothing to do
    run_sweep(SPEC, out, executor="serial", shard=(2, 2))
    assert load_results(out).runs["status"].eq("done").all()
    same_results(serial, load_results(out), tables=TABLES)  # compacted and per-run files read together
    run_sweep(SPEC, out, executor="serial", shard=(1, 2))
    assert "nothing to run" in capsys.readouterr().err
    assert main(["sweep", "--compact", str(out)]) == 0  # a second batch of parts, and the summary table
    said = capsys.readouterr().out
    assert f"compacted {N_RUNS // 2} runs" in said and "summary_table.md" in said
    assert (out / "summary_table.csv").exists()
    index = store.read_index(out)
    assert sorted({p["batch"] for p in index["parts"]}) == [1, 2]
    assert per_run_files(out) == [] and list((out / "sessions").glob("*.json")) == []
    same_results(serial, load_results(out), tables=TABLES)
    manifest = store.read_manifest(out)  # the shards' sessions, folded in
    assert sorted(s["shard"] for s in manifest["sessions"]) == ["1/2", "1/2", "2/2"]
    assert {r["status"] for r in manifest["runs"]} == {"done"} and all(r.get("cpu_s") for r in manifest["runs"])
    run_sweep(SPEC, out, executor="serial")  # a one-process sweep resumes a compacted folder
    assert "12 of 12 runs were already done" in capsys.readouterr().err
    res = load_results(out)
    assert res.scan("timeseries").count_rows() == len(res.timeseries) == N_RUNS * SPEC["steps"]
    part = res.read("timeseries", columns=["week", "gmv"], runs=[1, 7])
    assert list(part.columns) == ["week", "gmv"] and len(part) == 2 * SPEC["steps"]


def test_compaction_streams_each_part_in_row_groups_and_loads_the_same_frames(tmp_path, monkeypatch):
    """A part is written a group of runs at a time (one row group each: memory holds a group,
    not the part), and the loaded tables are the same frames as before compaction."""
    import pandas as pd
    import pyarrow.parquet as pq

    from experiments.sweeps import compact as compact_module

    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial")
    before = load_results(out)
    monkeypatch.setattr(compact_module, "RUNS_PER_ROW_GROUP", 5, raising=False)
    compact(out, quiet=True, runs_per_part=10)  # parts of 10 and 2 runs, groups of 5 runs
    after = load_results(out)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(before, table), getattr(after, table), check_exact=True)
    index = store.read_index(out)
    groups = {
        p["file"]: pq.ParquetFile(out / store.COMPACT / p["file"]).num_row_groups
        for p in index["parts"]
        if p["table"] == "timeseries"
    }
    assert sorted(groups.values()) == [1, 2], groups
    assert all(p["rows"] == pq.ParquetFile(out / store.COMPACT / p["file"]).metadata.num_rows for p in index["parts"])


@pytest.mark.parametrize("step", ["before the index", "while deleting the per-run files"])
def test_a_compaction_killed_at_any_step_leaves_a_loadable_store_and_its_rerun_finishes(
    tmp_path, serial, same_results, monkeypatch, step
):
    import experiments.sweeps.compact as c

    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial")
    if step == "before the index":
        monkeypatch.setattr(c, "_write_index", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    else:
        real = c._delete_run_files

        def half(out_, ids):
            if not ids:  # (the call for an earlier compaction's leftovers: none here)
                return
            real(out_, set(sorted(ids)[: len(ids) // 2]))
            os.unlink(store.run_file(out_, "brands", sorted(ids)[-1]))  # a run's files partly gone
            raise KeyboardInterrupt

        monkeypatch.setattr(c, "_delete_run_files", half)
    with pytest.raises(KeyboardInterrupt):
        compact(out, quiet=True)
    monkeypatch.undo()
    same_results(serial, load_results(out), tables=TABLES)  # loads correctly as it is
    r = compact(out, quiet=True)
    assert r["runs_compacted"] == (N_RUNS if step == "before the index" else 0)
    assert per_run_files(out) == []
    parts = sorted(str(p.relative_to(out / "compact")) for p in (out / "compact").rglob("*.parquet"))
    assert parts == sorted(p["file"] for p in store.read_index(out)["parts"])  # no unlisted part left
    same_results(serial, load_results(out), tables=TABLES)


def test_compaction_is_refused_while_a_shard_is_live(tmp_path, capsys):
    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial", shard=(1, 2))
    with store.FolderLock(out, shared=True):  # a shard holds the folder
        with pytest.raises(ValueError, match="compaction needs every shard and sweep to have finished"):
            compact(out)
    held = claims.Claims(out, shard="2/2")
    assert held.acquire(1) is None  # a live claim (this process), as on a file system without flock
    with pytest.raises(ValueError, match=r"1 run\(s\) claimed by live processes \(run 1 by pid"):
        compact(out)
    assert main(["sweep", "--compact", str(out)]) == 2
    assert "wait for them" in capsys.readouterr().err
    s = status(out)
    assert s["claimed"] == 1 and s["claims"][0]["holder"].startswith(f"pid {os.getpid()} on ")
    said = status_text(s, out)
    assert "running now: 1 runs claimed by 1 process(es)" in said and "(shard 2/2)" in said
    held.release(1)
    assert compact(out)["runs_compacted"] == N_RUNS // 2
    assert per_run_files(out) == []


def test_a_damaged_compacted_file_is_refused_and_run_again(tmp_path, serial, same_results, capsys):
    out = tmp_path / "out"
    run_sweep(SPEC, out, executor="serial")
    compact(out, quiet=True)
    part = out / "compact" / "timeseries" / "part-00001.parquet"
    data = part.read_bytes()
    part.write_bytes(data[:200] + bytes([data[200] ^ 0xFF]) + data[201:])
    with pytest.raises(ValueError, match=r"compacted file timeseries/part-00001.parquet was changed \(checksum\)"):
        load_results(out)
    capsys.readouterr()
    run_sweep(SPEC, out, executor="serial")  # drops the batch, runs its runs again
    assert f"running the {N_RUNS} run(s) of its batch again" in capsys.readouterr().err
    same_results(serial, load_results(out), tables=TABLES)


# --- Slurm ---------------------------------------------------------------------------------
STUB_SBATCH = textwrap.dedent("""\
    #!{python}
    # stub sbatch: runs an array's tasks as local processes at once, then returns (so a job
    # that depends on it may run at once); logs every call
    import json, os, subprocess, sys
    args = sys.argv[1:]
    opts = dict(a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a)
    script = sys.stdin.read()
    here = os.path.dirname(os.path.abspath(__file__))
    calls = os.path.join(here, "calls.jsonl")
    n = sum(1 for _ in open(calls)) if os.path.exists(calls) else 0
    job = str(1000 + n)
    with open(calls, "a") as fh:
        fh.write(json.dumps({{"args": args, "script": script, "job": job}}) + "\\n")
    path = os.path.join(here, f"job{{job}}.sh")
    with open(path, "w") as fh:
        fh.write(script)
    def log(task=""):  # where Slurm writes a job's output (--output, its patterns filled in)
        name = opts["output"].strip("'").replace("%A", job).replace("%a", task).replace("%j", job)
        return open(name, "w")

    if "array" in opts:
        lo, hi = map(int, opts["array"].split("-"))
        procs = [
            subprocess.Popen(
                ["bash", path],
                env={{
                    **os.environ,
                    "SLURM_ARRAY_TASK_ID": str(i),
                    "SLURM_JOB_ID": job,
                    "SLURM_CPUS_PER_TASK": opts["cpus-per-task"],
                }},
                stdout=log(str(i)),
                stderr=subprocess.STDOUT,
            )
            for i in range(lo, hi + 1)
        ]
        codes = [p.wait() for p in procs]
    else:
        assert opts.get("dependency", "").strip('"') == f"afterany:{{1000 + n - 1}}", opts
        env = {{**os.environ, "SLURM_JOB_ID": job, "SLURM_CPUS_PER_TASK": opts["cpus-per-task"]}}
        codes = [subprocess.call(["bash", path], env=env, stdout=log(), stderr=subprocess.STDOUT)]
    with open(os.path.join(here, f"exit{{job}}"), "w") as fh:
        fh.write(" ".join(map(str, codes)))
    print(job + ";cluster" if "--parsable" in args else f"Submitted batch job {{job}}")
""")
STUB_SRUN = textwrap.dedent("""\
    #!/bin/bash
    # stub srun as Slurm >= 22.05 has it: a step gets the CPUs of its own --cpus-per-task (one if
    # absent), not the job's; it fails if it asks for more than the job has. It logs the step's
    # CPUs and the command's --workers, then runs the command
    cpus=1
    while [[ "$1" == --* ]]; do
        case "$1" in --cpus-per-task=*) cpus="${1#--cpus-per-task=}";; esac
        shift
    done
    if (( cpus > SLURM_CPUS_PER_TASK )); then echo "srun: more CPUs than the job's" >&2; exit 1; fi
    workers=1
    args=("$@")
    for ((k = 0; k < ${#args[@]}; k++)); do
        [[ "${args[k]}" == --workers ]] && workers="${args[k+1]}"
    done
    echo "$SLURM_JOB_ID $cpus $workers" >> "$(dirname "$0")/steps.log"
    exec "$@"
""")


def test_the_slurm_script_run_with_a_stub_sbatch_produces_the_serial_store(tmp_path, serial, same_results, capsys):
    spec, out = spec_file(tmp_path), tmp_path / "out"
    args = ["slurm", str(spec), "--out", str(out), "--tasks", "3", "--time", "00:10:00", "--cpus", "2"]
    assert main([*args, "--partition", "short", "--account", "proj1"]) == 0
    script = capsys.readouterr().out
    assert "--array=1-3" in script and "--cpus-per-task=2" in script and "--workers 2" in script
    assert "--mem=8G" in script  # the compaction job's memory (--compact-mem)
    assert '--dependency="afterany:${array_job}"' in script and "--partition=short" in script
    assert "--account=proj1" in script and "--time=00:10:00" in script
    assert '--shard "${SLURM_ARRAY_TASK_ID}/3"' in script and "sweep --compact" in script
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(STUB_SBATCH.format(python=sys.executable))
    (bin_dir / "srun").write_text(STUB_SRUN)
    for f in ("sbatch", "srun"):
        (bin_dir / f).chmod((bin_dir / f).stat().st_mode | stat.S_IXUSR)
    (tmp_path / "sweep.sh").write_text(script)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    proc = subprocess.run(
        ["bash", str(tmp_path / "sweep.sh")], env=env(PATH=path), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "submitted the array as job 1000 and the compaction as job 1001" in proc.stdout
    calls = [json.loads(line) for line in (bin_dir / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 2 and "--array=1-3" in calls[0]["args"]
    assert (bin_dir / "exit1000").read_text() == "0 0 0" and (bin_dir / "exit1001").read_text() == "0"
    # every array step got the task's 2 CPUs for its 2 workers (srun does not inherit them from
    # sbatch since Slurm 22.05), the compaction step its one
    steps = sorted((bin_dir / "steps.log").read_text().splitlines())
    assert steps == ["1000 2 2", "1000 2 2", "1000 2 2", "1001 1 1"], steps
    logs = tmp_path / "out-slurm"  # each job's output, beside the sweep's folder
    assert sorted(p.name for p in logs.iterdir()) == ["1000_1.out", "1000_2.out", "1000_3.out", "1001-compact.out"]
    assert "shard 2/3 finished" in (logs / "1000_2.out").read_text()
    assert "compacted 12 runs" in (logs / "1001-compact.out").read_text()
    res = load_results(out)
    same_results(serial, res, tables=TABLES)
    assert per_run_files(out) == [] and (out / "summary_table.md").exists()  # compacted by the second job
    assert sorted(s["shard"] for s in res.manifest["sessions"]) == ["1/3", "2/3", "3/3"]


def test_slurm_usage_errors_are_one_line(tmp_path, capsys):
    spec = spec_file(tmp_path)
    for bad, words in (
        (["--tasks", "0"], "--tasks must be"),
        (["--tasks", "2", "--time", "4h"], "--time '4h' is invalid"),
        (["--tasks", "2", "--time", "00:99:99"], "--time '00:99:99' is invalid"),
        (["--tasks", "2", "--time", "0:00:00"], "--time '0:00:00' is invalid: '0:00:00' is a zero time limit"),
        (["--tasks", "2", "--time", "1-24"], "--time '1-24' is invalid"),
        (["--tasks", "2", "--time", "UNLIMITED"], "--time 'UNLIMITED' is invalid"),
        (["--tasks", "2", "--compact-time", "0"], "--compact-time '0' is invalid"),
        (["--tasks", "2", "--compact-mem", "lots"], "--compact-mem 'lots' is invalid"),
        (["--tasks", "2", "--throttle", "0"], "--throttle must be"),
        (["--tasks", "2", "--partition", "a b"], "--partition 'a b' is invalid"),
    ):
        assert main(["slurm", str(spec), "--out", str(tmp_path / "o"), *bad]) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "limit, seconds",
    [("90", 5400), ("90:30", 5430), ("30:00:00", 108000), ("2-12", 216000), ("1-02:03", 93780), ("1-0:0:1", 86401)],
)
def test_slurm_accepts_its_time_forms(tmp_path, capsys, limit, seconds):
    from experiments.sweeps.slurm import time_seconds

    assert time_seconds(limit) == seconds
    assert main(["slurm", str(spec_file(tmp_path)), "--out", str(tmp_path / "o"), "--tasks", "2", "--time", limit]) == 0
    assert f"--time={limit}" in capsys.readouterr().out


def test_slurm_warns_of_more_tasks_than_runs_or_maxarraysize_and_throttles(tmp_path, capsys):
    spec = str(spec_file(tmp_path))
    assert main(["slurm", spec, "--out", str(tmp_path / "o"), "--tasks", "12", "--throttle", "4"]) == 0
    got = capsys.readouterr()
    assert got.err == "" and "--array=1-12%4 " in got.out
    assert main(["slurm", spec, "--out", str(tmp_path / "o"), "--tasks", "2000"]) == 0
    err = capsys.readouterr().err
    assert "more than the sweep's 12 runs: 1988 task(s) will find nothing to do" in err
    assert "more than 1001, Slurm's default MaxArraySize" in err


# --- MPI -----------------------------------------------------------------------------------
def test_mpi4py_pool_executor_gives_the_serial_tables(tmp_path, serial, same_results):
    """`mpiexec -n 3 python -m mpi4py.futures driver.py`: rank 0 runs the sweep with an
    MPIPoolExecutor, ranks 1-2 are its workers. Needs mpi4py and an MPI (the mpi extra brings
    both from PyPI wheels, where mpich has one; tasks.py test installs it where it can)."""
    pytest.importorskip("mpi4py")
    beside = Path(sys.executable).parent / "mpiexec"  # (the mpich wheel's, matching mpi4py's MPI)
    mpiexec = str(beside) if beside.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec: pip install mpich (or load the cluster's MPI module)")
    driver = tmp_path / "driver.py"
    driver.write_text(
        textwrap.dedent(f"""
            import json
            from concurrent.futures import Executor
            from mpi4py.futures import MPIPoolExecutor
            from experiments.sweeps import run_sweep
            if __name__ == "__main__":
                with MPIPoolExecutor() as pool:
                    assert isinstance(pool, Executor)
                    run_sweep(json.loads({json.dumps(json.dumps(SPEC))}), {str(tmp_path / "mpi")!r}, executor=pool)
        """)
    )
    proc = subprocess.run(
        [mpiexec, "-n", "3", sys.executable, "-m", "mpi4py.futures", str(driver)],
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    res = load_results(tmp_path / "mpi")
    same_results(serial, res, tables=TABLES)
    assert res.manifest["sessions"][-1]["executor"] == "MPIPoolExecutor"
