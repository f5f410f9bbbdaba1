"""The notebooks: their .py sources are Python, their .ipynb twins match them, they run.

Each notebook is a Jupytext percent-format file ``notebooks/NN_name.py`` (the source: edit it,
lint it) paired with ``notebooks/NN_name.ipynb`` (what Jupyter opens; stored without outputs;
``jupytext --sync notebooks/*.py`` rewrites it). Each runs top to bottom with nbclient at the
``tiny`` size (``AGENCY_SIM_NOTEBOOK_SIZE=tiny``), in a temporary working folder so nothing it
writes lands in the repository. A cell that raises fails the test with the cell's traceback;
every notebook must draw at least one figure (an ``image/png`` output).
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = ["01_quickstart", "02_commission_tradeoff", "03_sensitivity", "04_teaching_lab"]
CELL_TIMEOUT_S = 300
SYNC = "run .venv/bin/jupytext --sync notebooks/*.py"


def _source(stem: str):
    import jupytext

    return jupytext.read(NOTEBOOK_DIR / f"{stem}.py")


def _stored(stem: str):
    import nbformat

    return nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def export_figures():
    """notebooks/export_figures.py, which also executes notebooks for this test."""
    sys.path.insert(0, str(NOTEBOOK_DIR))
    try:
        yield importlib.import_module("export_figures")
    finally:
        sys.path.remove(str(NOTEBOOK_DIR))


def test_every_notebook_is_listed_once_as_py_and_as_ipynb():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.py")) == NOTEBOOKS
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == NOTEBOOKS


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_source_is_python_whose_imports_resolve(stem, monkeypatch):
    """The .py file compiles as it stands (so linters and duplicate checks read real code),
    and every name it imports exists: a renamed function in model/ or experiments/ fails here,
    with the name, before any notebook runs."""
    path = NOTEBOOK_DIR / f"{stem}.py"
    tree = compile(path.read_text(encoding="utf-8"), str(path), "exec", flags=ast.PyCF_ONLY_AST)
    monkeypatch.syspath_prepend(str(NOTEBOOK_DIR))  # _helpers, as in Jupyter
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}"), \
                    f"{stem}.py line {node.lineno}: {node.module} has no {alias.name}"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_stored_ipynb_matches_its_source_and_has_no_outputs(stem):
    import nbformat

    source, stored = _source(stem), _stored(stem)
    nbformat.validate(stored)

    def cells(nb):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]

    mismatch = [i for i, (a, b) in enumerate(zip(cells(source), cells(stored))) if a != b]
    assert len(source.cells) == len(stored.cells) and not mismatch, \
        f"{stem}.ipynb differs from {stem}.py (cells {mismatch[:5]}): {SYNC}"
    assert stored.metadata.get("kernelspec", {}).get("name") == "python3"
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{stem}.ipynb is stored with outputs: clear them, or {SYNC}"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_first_code_cell_is_tagged_parameters_and_reads_the_size_from_the_environment(stem):
    first_code = next(c for c in _source(stem).cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    assert 'os.environ.get("AGENCY_SIM_NOTEBOOK_SIZE"' in first_code.source


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_and_draws_figures(stem, tmp_path, export_figures):
    from nbclient.exceptions import CellExecutionError

    try:
        nb = export_figures.execute(stem, tmp_path, "tiny", timeout=CELL_TIMEOUT_S)
    except CellExecutionError as exc:  # the cell's source and traceback, without ANSI colours
        pytest.fail(f"{stem}.py: a cell raised:\n" + re.sub(r"\x1b\[[0-9;]*m", "", str(exc)))

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert figures, f"{stem}.py drew no figure"
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
