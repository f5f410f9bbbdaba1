import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from experiments.cli import main
from experiments.experiment import TINY_BASE

SMALL = [arg for k, v in TINY_BASE.items() for arg in ("--set", f"{k}={v}")]


def test_run_prints_summary_and_writes_tables_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--preset", "sales_is_king", *SMALL, "--steps", "15", "--seed", "3", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "short_term_gmv" in printed and "final_brand_value" in printed
    # numbers with units, as people read them: no raw 4.132e+08 or -0.07303
    assert "million RMB" in printed and "% of brands" in printed and "e+0" not in printed
    meta_gmv = json.loads((out / "summary.json").read_text())["summary"]["short_term_gmv"]
    assert f"{meta_gmv / 1e6:,.0f} million RMB" in printed
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 15 and "brand_value_index" in ts
    meta = json.loads((out / "summary.json").read_text())
    assert meta["params"]["commission_rate"] == 0.30 and meta["seed"] == 3
    from PIL import Image

    with Image.open(out / "gmv_brand_value.png") as im:
        assert im.size[0] > 300


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["run", "--set", "commission_rate=1.5"], "commission_rate"),
        (["run", "--set", "comission_rate=0.1"], "did you mean 'commission_rate'"),
        (["run", "--preset", "nope"], "unknown preset 'nope'"),
        (["run", "--set", "commission_rate"], "name=value"),
        (["run", "--steps", "0"], "--steps"),
        (
            ["run", "--set", "commission_rate=0.1", "--set", "commission_rate=0.2"],
            "--set commission_rate is given twice",
        ),
        (["run", "--steps", "99999999999"], "--steps must be in [1, 10400]"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(argv, fragment, capsys, tmp_path):
    code = main([*argv, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_count_of_one_run_prints_as_a_whole_number():
    from experiments.cli import summary_lines

    one_run, mean_of_runs = (
        summary_lines({"contract_switches_total": 49.0}),
        summary_lines({"contract_switches_total": 48.5}),
    )
    assert "49 count" in one_run[0] and "49.0" not in one_run[0]
    assert "48.5 count" in mean_of_runs[0]


def test_params_readme_names_a_missing_file_or_missing_markers(tmp_path, capsys):
    missing = tmp_path / "nope.md"
    assert main(["params", "--readme", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Errno" not in err and len(err.strip().splitlines()) == 1
    plain = tmp_path / "plain.md"
    plain.write_text("# a README without the table\n")
    assert main(["params", "--readme", str(plain)]) == 2
    err = capsys.readouterr().err
    assert "markers" in err and "substring" not in err
    assert plain.read_text() == "# a README without the table\n"  # (left as it was)
    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    for path, fragment in ((binary, "not a UTF-8 text file"), (tmp_path, "a folder, not a file")):
        assert main(["params", "--readme", str(path)]) == 2
        err = capsys.readouterr().err
        assert fragment in err and len(err.strip().splitlines()) == 1


def test_every_option_of_every_command_says_what_it_does():
    from experiments.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    undocumented = [
        f"{name} {'/'.join(a.option_strings)}"
        for name, sub in commands.items()
        for a in sub._actions
        if a.option_strings and a.help is None
    ]
    assert undocumented == []


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "run", "--set", "base_fee=-5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "base_fee" in proc.stderr


def test_presets_and_params_list(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "sales_is_king" in out and "brand_partnership" in out
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "commission_rate" in out and "RMB/month" in out


@pytest.mark.parametrize(
    "argv",
    [["run", "--bogus"], ["run", "--steps", "x"], ["nosuchcommand"], ["sweep", "--out"]],
    ids=["unknown-option", "bad-int", "unknown-command", "missing-argument"],
)
def test_usage_errors_are_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("agency-sim") and "error:" in err[0], err


def test_headline_script_usage_error_is_one_line(capsys):
    from experiments import commission_sweep

    with pytest.raises(SystemExit) as ended:
        commission_sweep.main(["--quick", "--tiny"])  # mutually exclusive sizes
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not allowed with" in err[0], err


# --- sweep and run: bad --out, the summary table, bad spec files, Ctrl-C -----------------------
def _sweep_spec(tmp_path, **top):
    spec = {
        "name": "small",
        "steps": 6,
        "replications": 3,
        "seed": 4,
        "base": dict(TINY_BASE),
        "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.3]}},
        "outputs": {"timeseries": False},
        **top,
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _bad_outs(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return {
        "an existing file": (a_file, "is not a folder"),
        "a folder under a file": (a_file / "sub", "is not a folder"),
    }


@pytest.mark.parametrize("case", ["an existing file", "a folder under a file", "a read-only folder"])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_bad_out_is_refused_before_any_simulation(command, case, tmp_path, capsys, monkeypatch):
    import os

    import model

    if case == "a read-only folder" and os.geteuid() == 0:  # root would write anyway: ask as another user
        _bad_out_as_unprivileged_user(command)
        return
    if case == "a read-only folder":
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        out, words = ro / "out", "not writable"
    else:
        out, words = _bad_outs(tmp_path)[case]

    def no_runs(*args, **kwargs):
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(model, "simulate", no_runs)
    monkeypatch.setattr("experiments.sweeps.runner.run_sweep", no_runs)
    argv = ["run", *SMALL] if command == "run" else ["sweep", str(_sweep_spec(tmp_path))]
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("agency-sim: error: --out") and words in err, err
    assert len(err.strip().splitlines()) == 1


def test_sweep_writes_a_summary_table_with_intervals_and_says_how_to_load_it(tmp_path, capsys):
    import math

    from experiments import load_results

    out = tmp_path / "out"
    assert main(["sweep", str(_sweep_spec(tmp_path)), "--out", str(out), "--executor", "serial"]) == 0
    printed = capsys.readouterr().out
    md, csv = out / "summary_table.md", out / "summary_table.csv"
    assert str(md) in printed and str(csv) in printed and "experiments.load_results" in printed
    table = pd.read_csv(csv)
    runs = load_results(out).runs
    assert list(table["commission_rate"]) == [0.05, 0.3] and list(table["n"]) == [3, 3]
    for _, row in table.iterrows():
        values = runs.loc[runs["commission_rate"] == row["commission_rate"], "total_gmv"].to_numpy()
        assert math.isclose(row["total_gmv_mean"], values.mean(), rel_tol=1e-5)
        assert row["total_gmv_ci_low"] < row["total_gmv_mean"] < row["total_gmv_ci_high"]
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Sweep small") and "| commission |" in text and " [" in text
    # a rerun (nothing left to run) writes the same table again
    assert main(["sweep", str(_sweep_spec(tmp_path)), "--out", str(out), "--executor", "serial"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(csv), table)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_binary_spec_file_is_an_error_naming_the_file(suffix, tmp_path, capsys):
    spec = tmp_path / f"picture{suffix}"
    spec.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    code = main(["sweep", str(spec), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and str(spec) in err and "not a text file" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_ctrl_c_during_a_sweep_says_how_to_resume_and_exits_130(tmp_path):
    import signal
    import time
    from pathlib import Path

    # more runs than can finish before the signal arrives
    spec = _sweep_spec(tmp_path, steps=40, replications=500)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "experiments.cli", "sweep", str(spec), "--out", str(out), "--executor", "serial"]
    # pytest-xdist's workers ignore SIGINT, and a child inherits that (Python then installs no
    # KeyboardInterrupt handler at all): give the sweep the default disposition, as in a shell
    proc = subprocess.Popen(
        cmd,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not any((out / "summary").glob("*.parquet")):  # a run is on disk: the sweep is going
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the sweep did not start"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert lines[-1] == "agency-sim: interrupted; rerun the same command to resume", err
    assert "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_a_process_sweep_exits_130_every_time(tmp_path):
    """Ctrl-C at a random moment of a sweep with worker processes, while it starts (imports,
    workers being forked) or while it runs and writes: every time the command ends at once
    with 130 (or, in its first moments, still importing, by the signal itself, which a shell
    reports as 130), without needing a second Ctrl-C (issue 28, row 2)."""
    import random
    import signal
    import time
    from pathlib import Path

    spec = _sweep_spec(tmp_path, steps=40, replications=300)
    rng = random.Random(7)
    codes = []
    for attempt in range(20):
        out = tmp_path / f"out{attempt}"
        cmd = [
            sys.executable,
            "-m",
            "experiments.cli",
            "sweep",
            str(spec),
            "--out",
            str(out),
            "--executor",
            "processes",
            "--workers",
            "2",
        ]
        proc = subprocess.Popen(
            cmd,
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            if attempt % 2:  # while the sweep runs and writes
                deadline = time.monotonic() + 120
                while not any((out / "summary").glob("*.parquet")):
                    assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not start"
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 1.5))
            else:  # while it starts: imports, the spec, the worker processes being forked
                time.sleep(rng.uniform(0.2, 2.5))
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
            err = proc.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError(f"attempt {attempt}: still running 60 s after Ctrl-C") from exc
        codes.append(proc.returncode)
        if proc.returncode == -signal.SIGINT:  # still importing: Python dies by the signal, a shell's 130
            continue
        assert proc.returncode == 130, (attempt, proc.returncode, err[-500:])
        assert "agency-sim: interrupted; rerun the same command to resume" in err, err[-500:]
    assert set(codes) <= {130, -signal.SIGINT} and codes.count(130) >= 10


def test_an_empty_out_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--steps", "2", "--out", ""]) == 2
    assert "--out is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder


def test_workers_are_capped_at_the_runs_to_do(tmp_path, monkeypatch):
    from experiments.sweeps import executors, run_sweep

    seen = []
    real = executors._process_pool
    monkeypatch.setattr(executors, "_process_pool", lambda n, *a: seen.append(n) or real(n, *a))
    spec = {
        "name": "few",
        "steps": 3,
        "replications": 2,
        "seed": 1,
        "base": dict(TINY_BASE),
        "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.1]}},
    }
    run_sweep(spec, tmp_path / "o", executor="processes", workers=200)
    assert seen == [4]


def _bad_out_as_unprivileged_user(command: str) -> None:
    """The read-only-folder case run as uid 65534 in a fresh process (root bypasses the mode)."""
    import shutil
    from pathlib import Path

    cmd, env = unprivileged_python()
    shared = Path(shared_tmp_dir())
    try:
        ro = shared / "ro"
        ro.mkdir()
        ro.chmod(0o555)  # owned by root: nobody may not write
        spec = _sweep_spec(shared)
        spec.chmod(0o644)
        argv = ["run", *SMALL] if command == "run" else ["sweep", str(spec)]
        proc = subprocess.run(
            [*cmd, "-m", "experiments.cli", *argv, "--out", str(ro / "out")],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            user=65534,
            group=65534,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("agency-sim: error: --out") and "not writable" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert list(ro.iterdir()) == []
    finally:
        shutil.rmtree(shared, ignore_errors=True)


NOBODY = 65534  # the conventional unprivileged uid and gid


def unprivileged_python() -> tuple[list[str], dict]:
    """A command prefix and environment that run this project's Python as an unprivileged
    user (for tests of permission faults, which root would bypass): this interpreter if that
    user can run it, else the system's Python of the same minor version with this environment's
    packages on its path. Fails (never skips) when neither works."""
    import os
    import site
    import subprocess
    import sys
    import sysconfig

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    packages = sysconfig.get_paths()["purelib"]
    base_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "NUMBA_CACHE_DIR": "/tmp/agency-sim-nobody-numba",
        "MPLCONFIGDIR": "/tmp/agency-sim-nobody-mpl",
    }
    candidates = [
        ([sys.executable], {}),
        (
            [f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"],
            {"PYTHONPATH": os.pathsep.join([root, packages, *site.getsitepackages()])},
        ),
    ]
    for cmd, extra in candidates:
        env = {**base_env, **extra}
        try:
            probe = subprocess.run(
                [*cmd, "-c", "import experiments.cli, pandas, numpy"],
                cwd=root,
                env=env,
                user=NOBODY,
                group=NOBODY,
                extra_groups=[],
                capture_output=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return cmd, env
    pytest.fail(
        "no Python this project can run as an unprivileged user (uid 65534): the permission "
        "tests need one (install python3 of this minor version, or run the tests as a normal user)"
    )


def shared_tmp_dir():
    """A fresh folder under /tmp that an unprivileged user can enter (0755, owned by us)."""
    import os
    import tempfile

    path = tempfile.mkdtemp(prefix="agency-sim-shared-")
    os.chmod(path, 0o755)
    return path


@pytest.mark.slow
def test_a_folder_made_read_only_mid_sweep_is_one_line_and_the_rerun_resumes(tmp_path):
    """The output folder turns read-only while a sweep writes (issue 28, row 7): one line, exit
    1, nothing half-written; once writable again the same command completes to the
    uninterrupted result. Run as uid 65534 (root would write anyway)."""
    import shutil
    import time
    from pathlib import Path

    from experiments.sweeps import load_results, run_sweep

    cmd, env = unprivileged_python()
    shared = Path(shared_tmp_dir())
    root = Path(__file__).resolve().parent.parent
    try:
        spec = {
            "name": "ro",
            "steps": 40,
            "replications": 40,
            "seed": 9,
            "base": dict(TINY_BASE),
            "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.3]}},
        }
        spec_path = shared / "spec.json"
        spec_path.write_text(json.dumps(spec))
        spec_path.chmod(0o644)
        out = shared / "out"
        out.mkdir()
        os.chown(out, 65534, 65534)
        argv = [*cmd, "-m", "experiments.cli", "sweep", str(spec_path), "--out", str(out), "--executor", "serial"]
        proc = subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            user=65534,
            group=65534,
            extra_groups=[],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len(list((out / "summary").glob("*.parquet"))) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not start"
            time.sleep(0.01)
        for folder in [out, *(p for p in out.iterdir() if p.is_dir())]:
            folder.chmod(0o555)
        err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "cannot write or read" in lines[0] and "Permission denied" in lines[0], err
        assert "Traceback" not in err
        for folder in [out, *(p for p in out.iterdir() if p.is_dir())]:
            folder.chmod(0o755)
        # nothing half-written: every run on disk is whole against its receipt (a temporary file
        # caught by the change of mode may remain; the next session removes it)
        assert len(load_results(out).done) >= 3
        rerun = subprocess.run(
            argv,
            cwd=root,
            env=env,
            user=65534,
            group=65534,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert rerun.returncode == 0, rerun.stderr
        assert not list(out.rglob("*.tmp"))
        run_sweep(spec, tmp_path / "ref", executor="serial")
        a, b = load_results(tmp_path / "ref").runs, load_results(out).runs
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_run_replaces_an_earlier_run_whole_and_refuses_other_folders(tmp_path, capsys):
    """`run` writes into a temporary folder and renames it in place (issue 28, rows 9 and 13):
    an earlier run's folder, even with a read-only file in it, is replaced whole, never mixed;
    a folder holding anything else is refused before simulating."""
    out = tmp_path / "r"
    assert main(["run", *SMALL, "--steps", "3", "--seed", "1", "--out", str(out)]) == 0
    (out / "summary.json").chmod(0o444)
    first = json.loads((out / "summary.json").read_text())
    assert main(["run", *SMALL, "--steps", "4", "--seed", "2", "--out", str(out)]) == 0
    second = json.loads((out / "summary.json").read_text())
    assert (first["steps"], second["steps"]) == (3, 4)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["timeseries.csv", "brands.csv", "agencies.csv", "summary.json", "gmv_brand_value.png"]
    )
    assert len(pd.read_csv(out / "timeseries.csv")) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    capsys.readouterr()
    (out / "notes.txt").write_text("mine")
    assert main(["run", *SMALL, "--steps", "3", "--out", str(out)]) == 2
    assert "holds files not written by `agency-sim run` (notes.txt" in capsys.readouterr().err
    sweep = tmp_path / "s"
    assert main(["sweep", str(_sweep_spec(tmp_path)), "--out", str(sweep), "--executor", "serial"]) == 0
    capsys.readouterr()
    assert main(["run", *SMALL, "--steps", "3", "--out", str(sweep)]) == 2
    assert "holds a sweep" in capsys.readouterr().err


def test_a_full_disk_mid_sweep_is_one_line_and_the_rerun_resumes(tmp_path, capsys, monkeypatch):
    """The disk fills while a sweep writes (simulated: the store's writes raise ENOSPC after a
    few files): one line, exit 1, no temporary file left; the rerun completes (issue 28, row 7)."""
    import errno

    from experiments.sweeps import load_results, run_sweep, store

    spec = _sweep_spec(tmp_path, replications=4)
    out = tmp_path / "full"
    real, calls = store.atomic_write, {"n": 0}

    def filling(path, data):
        calls["n"] += 1
        if calls["n"] > 6:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(store, "atomic_write", filling)
    assert main(["sweep", str(spec), "--out", str(out), "--executor", "serial"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "the same command resumes" in err[0]
    assert not list(out.rglob("*.tmp"))
    monkeypatch.setattr(store, "atomic_write", real)
    assert main(["sweep", str(spec), "--out", str(out), "--executor", "serial"]) == 0
    run_sweep(spec, tmp_path / "ref", executor="serial")
    pd.testing.assert_frame_equal(load_results(tmp_path / "ref").runs, load_results(out).runs, check_exact=True)
