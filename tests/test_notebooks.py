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
import subprocess
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
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                    f"{stem}.py line {node.lineno}: {node.module} has no {alias.name}"
                )


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_stored_ipynb_matches_its_source_and_has_no_outputs(stem):
    import nbformat

    source, stored = _source(stem), _stored(stem)
    nbformat.validate(stored)

    def cells(nb):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]

    mismatch = [i for i, (a, b) in enumerate(zip(cells(source), cells(stored))) if a != b]
    assert len(source.cells) == len(stored.cells) and not mismatch, (
        f"{stem}.ipynb differs from {stem}.py (cells {mismatch[:5]}): {SYNC}"
    )
    assert stored.metadata.get("kernelspec", {}).get("name") == "python3"
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{stem}.ipynb is stored with outputs: clear them, or {SYNC}"
            )


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_first_code_cell_is_tagged_parameters_and_reads_the_size_from_the_environment(stem):
    first_code = next(c for c in _source(stem).cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    assert 'os.environ.get("AGENCY_SIM_NOTEBOOK_SIZE"' in first_code.source


_EXECUTED: dict[str, tuple] = {}  # stem -> (executed notebook, its working folder), per process


def _run(stem: str, tmp_path_factory, export_figures):
    """Execute ``stem`` once per test process at the tiny size, in a fresh working folder."""
    from nbclient.exceptions import CellExecutionError

    if stem not in _EXECUTED:
        work = tmp_path_factory.mktemp(stem)
        try:
            nb = export_figures.execute(stem, work, "tiny", timeout=CELL_TIMEOUT_S)
        except CellExecutionError as exc:  # the cell's source and traceback, without ANSI colours
            pytest.fail(f"{stem}.py: a cell raised:\n" + re.sub(r"\x1b\[[0-9;]*m", "", str(exc)))
        _EXECUTED[stem] = nb, work
    return _EXECUTED[stem]


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_and_draws_figures(stem, tmp_path_factory, export_figures):
    nb, work = _run(stem, tmp_path_factory, export_figures)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert figures, f"{stem}.py drew no figure"
    if saved := _save_dir():
        import nbformat

        nbformat.write(nb, saved / f"{stem}.ipynb")


@pytest.mark.parametrize("stem", ["02_commission_tradeoff", "03_sensitivity"])
def test_sweep_notebook_writes_to_the_folder_teaching_md_names(stem, tmp_path_factory, export_figures):
    """The kernel works in the notebook's folder, so out/STEM-SIZE there is notebooks/out/...,
    which is what docs/teaching.md tells teachers to look for."""
    _, work = _run(stem, tmp_path_factory, export_figures)
    assert sorted(p.name for p in (work / "out").iterdir()) == [f"{stem}-tiny"]
    assert list((work / "out" / f"{stem}-tiny").rglob("manifest.json")), "no sweep store written"
    assert "`notebooks/out/`" in (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")


def _store_hashes(folder: Path) -> dict[str, str]:
    """Spec hash of every sweep store below ``folder``, by the store's folder name."""
    from experiments import load_results

    return {m.parent.name: load_results(m.parent).spec.spec_hash for m in folder.rglob("manifest.json")}


@pytest.mark.parametrize(
    "stem, script", [("02_commission_tradeoff", "commission_sweep"), ("03_sensitivity", "sensitivity")]
)
def test_sweep_notebook_runs_the_spec_its_experiment_script_runs(stem, script, tmp_path_factory, export_figures):
    """Notebooks 02 and 03 import their experiment's spec instead of retyping it: the sweeps
    they store are the very sweeps ``python -m experiments.SCRIPT --tiny`` stores."""
    _, work = _run(stem, tmp_path_factory, export_figures)
    out = tmp_path_factory.mktemp(script)
    done = subprocess.run(
        [sys.executable, "-m", f"experiments.{script}", "--tiny", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    notebook, experiment = _store_hashes(work / "out"), _store_hashes(out)
    assert experiment and sorted(notebook.values()) == sorted(experiment.values()), (notebook, experiment)


def test_helpers_show_numbers_with_their_units(monkeypatch):
    monkeypatch.syspath_prepend(str(NOTEBOOK_DIR))
    from _helpers import check_size, show

    assert show("short_term_gmv", 4.132e8) == "413 million RMB"  # as model.outcomes declares it
    assert show("final_brand_value", 7_943_412.0) == "7.94 million RMB/week"
    assert show("brand_value_change", -0.07303) == "-7.3%"
    assert show("brand_value_change", -0.07303, difference=True) == "-7.3 points"
    assert show("final_promo_strategy_share", 0.35) == "35% of brands"
    assert show("final_promo_strategy_share", 0.3, difference=True) == "+30 points"
    assert show("agency_profit_total", 25e6, difference=True, signed=False) == "25 million RMB"
    assert show("short_term_gmv", float("nan")) == "–"
    with pytest.raises(ValueError, match="AGENCY_SIM_NOTEBOOK_SIZE.*tiny, small, full, not 'huge'"):
        check_size("huge")


def _save_dir() -> Path | None:
    """AGENCY_SIM_SAVE_NOTEBOOKS=DIR keeps the executed notebooks there, for a look at them."""
    import os

    d = os.environ.get("AGENCY_SIM_SAVE_NOTEBOOKS")
    if not d:
        return None
    Path(d).mkdir(parents=True, exist_ok=True)
    return Path(d)
