#!/usr/bin/env python3
"""The project's two commands, needing nothing but Python 3.11+:

    python3 tasks.py run     # the main job: the focal-contract experiment, quick size, with figures
    python3 tasks.py test    # the lint gate (ruff) and the whole test suite
    python3 tasks.py lab     # JupyterLab on the notebooks (installs the `notebooks` extra)

Each creates a virtual environment in .venv (once) and installs what it needs into it: the
package for ``run``, the package with its ``dev`` extra for ``test``, with its ``notebooks`` extra
(JupyterLab) for ``lab``. Extra arguments are
passed on (``python3 tasks.py test -k dynamics``, ``python3 tasks.py run --out out/x``).
Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
CHROMIUM = Path("/usr/bin/chromium")

# everything below runs in this project's environment, as if it were activated: a virtualenv
# activated in the calling shell would otherwise leak in (IPython, in the app's server, warns)
os.environ["VIRTUAL_ENV"] = str(VENV)
os.environ["PATH"] = str(BIN) + os.pathsep + os.environ.get("PATH", "")


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


_OTHER_PYTHON_TOLD = False  # whether ensure_venv said .venv is of another Python (once a run)


def venv_python() -> str | None:
    """The Python version (major.minor) .venv was made with, from its pyvenv.cfg (None if unreadable)."""
    try:
        lines = (VENV / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):  # (missing, or not text)
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return ".".join(value.strip().split(".")[:2])
    return None


def ensure_venv() -> None:
    global _OTHER_PYTHON_TOLD
    if PY.exists():
        made, this = venv_python(), f"{sys.version_info[0]}.{sys.version_info[1]}"
        # (e.g. python3.12 tasks.py test after python3 made it with 3.11; said once a run)
        if made and made != this and not _OTHER_PYTHON_TOLD:
            _OTHER_PYTHON_TOLD = True
            remake = f" (remove {VENV.name}/ to remake it with Python {this})" if sys.version_info >= (3, 11) else ""
            say(f"{VENV.name}/ was made with Python {made}, not this {this}: using it as it is{remake}")
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by any python3
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    say(f"creating a virtual environment in {VENV.name}/")
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except Exception as exc:  # e.g. Debian without python3-venv
        shutil.rmtree(VENV, ignore_errors=True)
        sys.exit(
            f"could not create a virtual environment ({exc}); on Debian/Ubuntu install "
            "the python3-venv package and try again"
        )
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)


def ensure_installed(extra: str | None, *, optional: bool = False) -> bool:
    """pip-install the package (with an extra) unless pyproject.toml is unchanged since. If the
    install fails: exit, or (``optional``) return False with pip's last line of error."""
    ensure_venv()
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extra or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return True
    target = f".[{extra}]" if extra else "."
    say(f"installing {target} into {VENV.name}/ (first time only; a minute or two)")
    # pip's build backend prints warnings meant for packagers; show them only if it fails
    proc = subprocess.run(
        [str(PY), "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT, capture_output=True, text=True
    )
    if proc.returncode:
        if optional:
            lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
            ensure_installed.reason = lines[-1] if lines else f"pip exited {proc.returncode}"
            return False
        sys.stderr.write(proc.stdout + proc.stderr)
        sys.exit(f"installing {target} failed (pip's output above)")
    stamp.write_text(digest)
    return True


def ensure_chromium() -> None:
    """The browser test drives Debian's Chromium; install it where we can."""
    if CHROMIUM.exists() or shutil.which("chromium"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing Debian's chromium and chromium-driver for the browser test")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
            check=False,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    if not (CHROMIUM.exists() or shutil.which("chromium")):
        say(
            "warning: no chromium found; the browser test will fail (install the Debian "
            "packages chromium and chromium-driver)"
        )


def run(args: list[str]) -> int:
    ensure_installed(None)
    # no --out of its own: the experiment's quick default, out/focal_contract-quick (or
    # -quick-changed with --set), so that the full size's out/focal_contract stays its own
    cmd = [str(PY), "-m", "experiments.focal_contract", "--quick", *args]
    return subprocess.call(cmd, cwd=ROOT)


def lint() -> int:
    """The lint and format gate (ruff; its rules are in pyproject.toml): nonzero if either fails."""
    say("ruff check and ruff format --check (the lint gate; `ruff format .` fixes the format)")
    checked = subprocess.call([str(PY), "-m", "ruff", "check", "--quiet", "."], cwd=ROOT)
    formatted = subprocess.call([str(PY), "-m", "ruff", "format", "--check", "--quiet", "."], cwd=ROOT)
    return checked or formatted


def test(args: list[str]) -> int:
    ensure_installed("dev")
    # the MPI test's mpi4py and mpich (the `mpi` extra): wheels only for some platforms, so an
    # optional step; without them that one test is skipped and the run goes on
    if not ensure_installed("mpi", optional=True):
        say(
            "the MPI test will be skipped: installing .[mpi] failed "
            f"({ensure_installed.reason}); no mpich wheel for this platform? Load an MPI "
            "(e.g. `module load mpi`, or apt-get install libmpich-dev) and pip install mpi4py"
        )
    ensure_chromium()
    gate = lint()
    workers = ["-n", os.environ.get("TEST_WORKERS", "2")]
    tests = subprocess.call([str(PY), "-m", "pytest", *workers, "-q", *args], cwd=ROOT)
    if gate:
        say("the lint gate failed (above): the run fails even where the tests pass")
    return tests or gate


def lab(args: list[str]) -> int:
    """JupyterLab on notebooks/ (extra arguments go to ``jupyter lab``, e.g. --no-browser)."""
    ensure_installed("notebooks")
    say("opening the notebooks in JupyterLab (Ctrl-C here to stop it)")
    return subprocess.call([str(PY), "-m", "jupyterlab", *args, str(ROOT / "notebooks")], cwd=ROOT)


def main() -> int:
    commands = {"run": run, "test": test, "lab": lab}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
