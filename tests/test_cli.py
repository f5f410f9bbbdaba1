import json
import subprocess
import sys

import pandas as pd
import pytest

from experiments.cli import main
from experiments.experiment import TINY_BASE

SMALL = [arg for k, v in TINY_BASE.items() for arg in ("--set", f"{k}={v}")]


def test_run_prints_summary_and_writes_tables_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--preset", "sales_is_king", *SMALL, "--steps", "15", "--seed", "3",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "short_term_gmv" in printed and "final_brand_value" in printed
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 15 and "brand_value_index" in ts
    meta = json.loads((out / "summary.json").read_text())
    assert meta["params"]["commission_rate"] == 0.30 and meta["seed"] == 3
    from PIL import Image
    with Image.open(out / "gmv_brand_value.png") as im:
        assert im.size[0] > 300


@pytest.mark.parametrize("argv,fragment", [
    (["run", "--set", "commission_rate=1.5"], "commission_rate"),
    (["run", "--set", "comission_rate=0.1"], "did you mean 'commission_rate'"),
    (["run", "--preset", "nope"], "unknown preset 'nope'"),
    (["run", "--set", "commission_rate"], "name=value"),
    (["run", "--steps", "0"], "--steps"),
])
def test_cli_errors_are_one_line_with_exit_code_2(argv, fragment, capsys, tmp_path):
    code = main([*argv, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "run", "--set", "base_fee=-5",
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "base_fee" in proc.stderr


def test_presets_and_params_list(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "sales_is_king" in out and "brand_partnership" in out
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "commission_rate" in out and "RMB/month" in out


@pytest.mark.parametrize("argv", [["run", "--bogus"], ["run", "--steps", "x"], ["nosuchcommand"],
                                  ["sweep"]], ids=["unknown-option", "bad-int", "unknown-command",
                                                   "missing-argument"])
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
