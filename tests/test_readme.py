"""The README's Python examples run as written and do what they say."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


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
