"""The README's Python examples run as written and do what they say."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def tasks(monkeypatch):
    """tasks.py, loaded as a module; the PATH and VIRTUAL_ENV it sets when loaded (as if .venv
    were activated) are put back after the test."""
    import importlib.util
    import os

    for name in ("PATH", "VIRTUAL_ENV"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    spec = importlib.util.spec_from_file_location("tasks_module", README.parent / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.slow
def test_the_quick_start_runs_and_its_virtual_experiment_moves_brand_zero(tmp_path, monkeypatch):
    import warnings

    monkeypatch.chdir(tmp_path)  # it writes run.png
    blocks = python_blocks()
    assert blocks, "the README has no Python example"
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. an intervention that changes nothing
        exec(compile(blocks[0], "README.md", "exec"), ns)
    assert ns["lift"] > 0.1, "a 30% price cut should sell more of brand 0"
    assert not ns["promo"].brands.equals(ns["base"].brands)
    assert (tmp_path / "run.png").stat().st_size > 0
    mixed = ns["mixed"].agencies
    assert list(mixed.groupby("agency")["policy"].first()) == ["learning"] + ["fixed"] * 5


def test_tasks_lab_installs_the_notebooks_extra_and_opens_jupyterlab_on_the_notebooks(tasks, monkeypatch):
    """`python3 tasks.py lab` (the README's way to open the notebooks): the `notebooks` extra
    brings JupyterLab, and the command opens it on notebooks/ with the arguments given."""
    import tomllib

    root = README.parent
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("jupyterlab") for d in extras["notebooks"])
    installed, called = [], []
    monkeypatch.setattr(tasks, "ensure_installed", installed.append)
    monkeypatch.setattr(tasks.subprocess, "call", lambda cmd, cwd: called.append(cmd) or 0)
    monkeypatch.setattr(tasks.sys, "argv", ["tasks.py", "lab", "--no-browser"])
    assert tasks.main() == 0
    assert installed == ["notebooks"]
    assert called[0][1:] == ["-m", "jupyterlab", "--no-browser", str(root / "notebooks")]
    assert "python3 tasks.py lab" in README.read_text(encoding="utf-8")


def test_tasks_run_writes_the_quick_size_to_its_own_folder_not_the_full_sizes(tasks, monkeypatch):
    """`python3 tasks.py run` and then the README's "drop --quick for the full size": the main
    job's quick results must not land in out/focal_contract, the full size's default folder (the
    engine refuses to mix two sweeps in one folder)."""
    from experiments import focal_contract as fc

    called = []
    monkeypatch.setattr(tasks, "ensure_installed", lambda extra: True)
    monkeypatch.setattr(tasks.subprocess, "call", lambda cmd, cwd: called.append(cmd) or 0)
    for extra in ([], ["--set", "n_consumers=1000"]):
        monkeypatch.setattr(tasks.sys, "argv", ["tasks.py", "run", *extra])
        assert tasks.main() == 0
    outs = [fc.EXPERIMENT.context(cmd[cmd.index("experiments.focal_contract") + 1 :]).out for cmd in called]
    assert outs == [Path("out/focal_contract-quick"), Path("out/focal_contract-quick-changed")]
    assert fc.EXPERIMENT.context([]).out == Path("out/focal_contract")
    readme = README.read_text(encoding="utf-8")
    assert "`out/focal_contract-quick/`" in readme and "`out/focal_contract/`" not in readme


def test_tasks_says_once_when_its_venv_is_of_another_python(tasks, tmp_path, monkeypatch, capsys):
    """`python3.12 tasks.py test` where `python3 tasks.py` made .venv with 3.11 (CONTRIBUTING's
    other lines): tasks.py uses .venv as it is, and says so, and how to remake it, once a run
    (a command installs several extras, each making sure of .venv)."""
    import sys

    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    monkeypatch.setattr(tasks, "VENV", venv)
    monkeypatch.setattr(tasks, "PY", venv / "bin" / "python")
    this = f"{sys.version_info[0]}.{sys.version_info[1]}"
    # (the venv module writes `version`, virtualenv and uv `version_info`)
    for line, other in (
        (f"version = {this}.9", False),
        ("version = 3.99.0", True),
        ("version_info = 3.99.0.final.0", True),
    ):
        (venv / "pyvenv.cfg").write_text(f"home = /opt/python\n{line}\n")
        monkeypatch.setattr(tasks, "_OTHER_PYTHON_TOLD", False)
        tasks.ensure_venv()
        tasks.ensure_venv()
        out = capsys.readouterr().out
        assert (f".venv/ was made with Python 3.99, not this {this}" in out) == other
        assert (f"remove .venv/ to remake it with Python {this}" in out) == other
        assert len(out.splitlines()) == other
    (venv / "pyvenv.cfg").write_bytes(b"version = \xff\xfe")  # (not text: no notice, no crash)
    monkeypatch.setattr(tasks, "_OTHER_PYTHON_TOLD", False)
    tasks.ensure_venv()
    assert capsys.readouterr().out == ""
