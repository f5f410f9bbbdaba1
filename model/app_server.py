"""Serving the app (``agency-sim app``): the port check, the page's front-end files for a machine
without a CDN, and the Solara server itself.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import tarfile
from pathlib import Path

DEFAULT_PORT = 8765
PAGE = Path(__file__).with_name("app.py")  # the page Solara serves


def frontend_packages() -> list[str]:
    """The npm packages (``name@version``) whose files the Solara page loads from its CDN.

    Read from the installed Solara's page template and its ECharts component (the charts),
    so they follow Solara's version.
    """
    import re

    import ipyvue
    import solara.server
    from solara.server import settings as server_settings

    template = (Path(solara.server.__file__).parent / "templates" / "solara.html.j2").read_text()
    found = re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/", template)
    found += re.findall(r"^/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/", server_settings.assets.fontawesome_path)
    echarts = (Path(solara.__file__).parent / "components" / "echarts.vue").read_text()
    found += [f"echarts@{v}" for v in re.findall(r'const version = "([\w.-]+)";', echarts)]
    unused = "solara-vuetify-app@" if ipyvue.__version__.startswith("3") else "solara-vuetify3-app@"
    return sorted({p for p in found if unused not in p})


def ensure_frontend_assets(cache_dir: str | os.PathLike | None = None) -> Path:
    """Put the page's front-end files into Solara's asset cache, fetched from the npm registry.

    Solara serves its JavaScript and CSS through a cache (``SOLARA_ASSETS_PROXY_CACHE_DIR``,
    by default ``<venv>/share/solara/cdn``) that it fills from a public CDN on first use. On a
    machine that reaches the npm registry but no CDN (a locked-down classroom, CI) the page
    would stay blank; this fills the cache from the same npm packages instead, downloading each
    package's tarball over HTTPS and checking it against the registry's published SHA-512
    (no npm needed). The registry is ``$NPM_CONFIG_REGISTRY`` or https://registry.npmjs.org.
    Packages already in the cache are skipped, so calling it again costs nothing. Returns the
    cache folder. Raises ``RuntimeError`` saying what failed if a package cannot be fetched.
    """
    import base64
    import hashlib
    import io
    import json
    import shutil
    import tempfile
    import urllib.request

    from solara.server import settings as server_settings

    cache = Path(cache_dir) if cache_dir is not None else Path(server_settings.assets.proxy_cache_dir)
    missing = [p for p in frontend_packages() if not (cache / p / "package.json").exists()]
    if not missing:
        return cache
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    cache.mkdir(parents=True, exist_ok=True)
    for package in missing:
        name, version = package.rsplit("@", 1)
        try:
            with urllib.request.urlopen(f"{registry}/{name}/{version}", timeout=60) as r:
                dist = json.load(r)["dist"]
            with urllib.request.urlopen(dist["tarball"], timeout=300) as r:
                data = r.read()
        except (OSError, KeyError, ValueError) as exc:
            raise RuntimeError(
                f"could not fetch Solara's front-end package {package} from {registry} "
                f"({exc}); the app page needs it. Check the network or set "
                "NPM_CONFIG_REGISTRY to a reachable npm registry"
            ) from exc
        algo, _, want = dist.get("integrity", "").partition("-")
        if algo == "sha512" and base64.b64encode(hashlib.sha512(data).digest()).decode() != want:
            raise RuntimeError(f"{package} from {registry} does not match its published SHA-512")
        with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                extract_safely(tar, Path(tmp))
            target = cache / package
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            roots = [d for d in Path(tmp).iterdir() if d.is_dir()]  # "package/" in all but old tarballs
            root = Path(tmp) / "package" if (Path(tmp) / "package").is_dir() else roots[0]
            os.replace(root, target)  # whole package at once: never half there
    return cache


def extract_safely(tar: tarfile.TarFile, dest: Path) -> None:
    """Unpack ``tar`` into ``dest`` refusing what a package has no business holding: paths that
    leave ``dest``, links, devices. Python's "data" filter where there is one (3.11.4+); before
    that, the same refusals by hand."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    root = dest.resolve()
    for member in tar.getmembers():
        if not (member.isfile() or member.isdir()) or not (root / member.name).resolve().is_relative_to(root):
            raise RuntimeError(f"refusing to unpack {member.name!r}: a link, a device or a path out of {dest}")
    tar.extractall(dest)


def port_in_use(host: str, port: int) -> bool:
    """True if a server already listens on ``host:port`` (so binding it would fail)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # as uvicorn binds: a port left in TIME_WAIT by a server just stopped is free
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise ValueError(f"cannot serve on {host}:{port}: {exc.strerror}") from exc
    return False


def check_port(host: str, port: int) -> None:
    """Raise ``ValueError`` (one line, naming a free port to use instead) if ``port`` is taken."""
    if not 0 < port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {port}")
    if not port_in_use(host, port):
        return
    free = next((p for p in range(port + 1, min(port + 50, 65536)) if not port_in_use(host, p)), None)
    hint = f", e.g. --port {free}" if free else ""
    raise ValueError(
        f"port {port} on {host} is already in use (another agency-sim app?): pass --port N to use another port{hint}"
    )


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, open_browser: bool = False) -> None:
    """Become the app's server (``solara run`` in production mode) on ``host:port``.

    A taken port raises ``ValueError`` before anything starts. The page's front-end files are
    fetched from the npm registry when no CDN is reachable (:func:`ensure_frontend_assets`);
    if that fails too, a one-line warning says why and the server starts all the same.
    """
    check_port(host, port)
    try:
        ensure_frontend_assets()
    except RuntimeError as exc:
        print(f"agency-sim: warning: {exc}", file=sys.stderr)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home from class
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # (also set when the module loads)
    from model.app import PAGE_TITLE

    os.environ.setdefault("SOLARA_THEME_TITLE", PAGE_TITLE)
    from solara.__main__ import cli as solara_cli

    args = ["run", str(PAGE), "--host", host, "--port", str(port), "--production"]
    if not open_browser:
        args.append("--no-open")
    print(f"agency-sim: the app is starting at http://{host}:{port}/ (Ctrl+C stops it)", flush=True)
    # in this process, not a new one: the model and Solara are imported already (seconds saved)
    solara_cli(args, prog_name="solara")
