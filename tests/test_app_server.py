"""The app server's own helpers that need no browser."""

import io
import tarfile

import pytest

from model.app_server import extract_safely


def _tarball(*entries: tuple[str, str]) -> tarfile.TarFile:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind in entries:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = 5
                tar.addfile(info, io.BytesIO(b"hello"))
    buf.seek(0)
    return tarfile.open(fileobj=buf)


@pytest.mark.parametrize("python", ["with the data filter (3.11.4+)", "before it (3.11.0-3.11.3)"])
def test_a_package_unpacks_and_one_that_leaves_its_folder_or_links_out_is_refused(tmp_path, monkeypatch, python):
    if python.startswith("before"):
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    extract_safely(_tarball(("package/index.js", "file")), tmp_path / "ok")
    assert (tmp_path / "ok" / "package" / "index.js").read_bytes() == b"hello"
    for bad in (("../evil.js", "file"), ("package/passwd", "link")):
        with pytest.raises((RuntimeError, tarfile.TarError)):
            extract_safely(_tarball(bad), tmp_path / "bad")
    assert not (tmp_path / "evil.js").exists()
