"""Run notebooks at the ``small`` size and write their figures to docs/img/notebook_*.png.

    .venv/bin/python notebooks/export_figures.py                    # all four
    .venv/bin/python notebooks/export_figures.py 02_commission_tradeoff

Figure k of notebook NN_name becomes ``docs/img/notebook_NN_name_k.png``. The notebooks run
from their .py sources in a temporary folder, so their sweep stores do not land here.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted(p.stem for p in HERE.glob("[0-9][0-9]_*.py"))


def execute(stem: str, work: str | os.PathLike, size: str, timeout: int = 3600):
    """The notebook ``stem``, read from its .py source and executed in the folder ``work`` at
    ``size`` (its kernel can import ``_helpers`` from there; nothing else changes here)."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(HERE / f"{stem}.py")
    env = {
        **os.environ,
        "AGENCY_SIM_NOTEBOOK_SIZE": size,
        "MPLBACKEND": "Agg",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute(
        env=env
    )
    return nb


def export_figures(stems, size: str = "small") -> list[Path]:
    out_dir = HERE.parent / "docs" / "img"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as work:
        for stem in stems:
            nb = execute(stem, work, size)
            for old in out_dir.glob(f"notebook_{stem}_*.png"):
                old.unlink()
            pngs = [
                o["data"]["image/png"]
                for c in nb.cells
                if c.cell_type == "code"
                for o in c.outputs
                if "image/png" in o.get("data", {})
            ]
            for k, png in enumerate(pngs, start=1):
                path = out_dir / f"notebook_{stem}_{k}.png"
                path.write_bytes(base64.b64decode(png))
                written.append(path)
                print(f"wrote {path}")
    return written


def main(argv: list[str]) -> int:
    stems = [Path(a).stem for a in argv] or NOTEBOOKS
    unknown = sorted(set(stems) - set(NOTEBOOKS))
    if unknown:
        print(f"export_figures: no notebook {', '.join(unknown)} (there are {', '.join(NOTEBOOKS)})", file=sys.stderr)
        return 2
    export_figures(stems)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
