"""Shared fixtures: small, fast model sizes."""

import pytest

SMALL = dict(n_consumers=400, n_brands=4, n_agencies=2, burn_in_weeks=4)


@pytest.fixture
def small():
    return dict(SMALL)


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
    base_env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "NUMBA_CACHE_DIR": "/tmp/agency-sim-nobody-numba",
                "MPLCONFIGDIR": "/tmp/agency-sim-nobody-mpl"}
    candidates = [([sys.executable], {}),
                  ([f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"],
                   {"PYTHONPATH": os.pathsep.join([root, packages, *site.getsitepackages()])})]
    for cmd, extra in candidates:
        env = {**base_env, **extra}
        try:
            probe = subprocess.run([*cmd, "-c", "import experiments.cli, pandas, numpy"], cwd=root, env=env,
                                   user=NOBODY, group=NOBODY, extra_groups=[], capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return cmd, env
    pytest.fail("no Python this project can run as an unprivileged user (uid 65534): the permission "
                "tests need one (install python3 of this minor version, or run the tests as a normal user)")


def shared_tmp_dir():
    """A fresh folder under /tmp that an unprivileged user can enter (0755, owned by us)."""
    import os
    import tempfile

    path = tempfile.mkdtemp(prefix="agency-sim-shared-")
    os.chmod(path, 0o755)
    return path
