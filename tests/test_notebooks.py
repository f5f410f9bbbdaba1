"""The notebooks run top to bottom on a fresh install and show figures.

Each notebook in notebooks/ is executed with nbclient at the ``tiny`` size
(``AGENCY_SIM_NOTEBOOK_SIZE=tiny``), in a temporary working directory so nothing it writes
lands in the repository. A cell that raises fails the test with the cell's traceback; every
notebook must draw at least one figure (an ``image/png`` output). The stored notebooks carry no
outputs and match their generator, notebooks/make_notebooks.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = ["01_quickstart", "02_commission_tradeoff", "03_sensitivity", "04_teaching_lab"]
CELL_TIMEOUT_S = 300


def _load(stem: str):
    import nbformat

    return nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == NOTEBOOKS


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_is_stored_clean_and_chooses_its_size_from_the_environment(stem):
    import nbformat

    nb = _load(stem)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{stem}: stored with outputs (regenerate with notebooks/make_notebooks.py)"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    assert "AGENCY_SIM_NOTEBOOK_SIZE" in first_code.source


def test_notebooks_match_their_generator():
    done = subprocess.run([sys.executable, str(NOTEBOOK_DIR / "make_notebooks.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_and_draws_figures(stem, tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    # the kernel inherits this process's environment: the tiny size, a headless backend
    # for anything outside %matplotlib inline
    monkeypatch.setenv("AGENCY_SIM_NOTEBOOK_SIZE", "tiny")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = _load(stem)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # the cell's source and traceback, without ANSI colours
        pytest.fail(f"{stem}.ipynb: a cell raised:\n" + re.sub(r"\x1b\[[0-9;]*m", "", str(exc)))

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert figures, f"{stem}.ipynb drew no figure"
    # what it wrote went into the working directory, not next to the notebook
    if stem in ("02_commission_tradeoff", "03_sensitivity"):
        assert (tmp_path / "out" / "notebooks").is_dir()  # the sweep store, in the working dir
    if saved := _save_dir():
        import nbformat

        nbformat.write(nb, saved / f"{stem}.ipynb")


def _save_dir() -> Path | None:
    """AGENCY_SIM_SAVE_NOTEBOOKS=DIR keeps the executed notebooks there, for a look at them."""
    import os

    d = os.environ.get("AGENCY_SIM_SAVE_NOTEBOOKS")
    if not d:
        return None
    Path(d).mkdir(parents=True, exist_ok=True)
    return Path(d)
