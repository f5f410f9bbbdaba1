"""The interactive app (model/app.py), driven in a real browser.

The app is started with ``solara run`` on a free loopback port and driven with Playwright in
headless Debian Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it). The test does what a
student does: loads the page, moves the commission slider, steps the market, and checks that the
page reports no console errors, that the setting took effect and that the charts changed.

Chromium missing is a failure with a clear message, not a skip: CI installs it.
Set ``AGENCY_SIM_SAVE_SCREENSHOT=1`` to also refresh docs/img/app.png.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "model" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 120
UI_TIMEOUT_MS = 60_000


# ---------------------------------------------------------------------------------------------
# The app's controls are generated from the parameter declarations (no browser needed)
# ---------------------------------------------------------------------------------------------
def test_controls_come_from_param_specs_and_accept_every_preset():
    from model import PRESETS, Params
    from model.app import APP_CONTROLS, CONTROLS, SPECS, build_model, settings_for_preset

    assert [c["name"] for c in CONTROLS] == list(APP_CONTROLS)
    for c in CONTROLS:
        spec = SPECS[c["name"]]
        # the declaration's description, but a per-agency choice is one select for every agency
        assert c["help"] == (spec.description if not spec.per_agency else
                             spec.description.split(":")[0] + " (here: the same for every agency)")
        if c["kind"] == "select":
            assert c["values"] == list(spec.choices)
            continue
        # the slider window lies inside the declared range, and both ends are valid values
        assert spec.validate(c["min"]) == c["min"] and spec.validate(c["max"]) == c["max"]
        assert c["min"] < c["max"]
        assert 20 <= (c["max"] - c["min"]) / c["step"] <= 400
    for name in PRESETS:  # every preset's values sit on the sliders' grids
        values = settings_for_preset(name)
        params = Params.preset(name)
        for c in CONTROLS:
            v = values[c["name"]]
            assert v == getattr(params, c["name"])
            if c["kind"] in ("int", "float"):
                assert c["min"] <= v <= c["max"]
                k = (v - c["min"]) / c["step"]
                assert abs(k - round(k)) < 1e-6, (name, c["name"], v)
    small = {**settings_for_preset("sales_is_king"), "n_consumers": CONTROLS[-1]["min"]}
    model = build_model("sales_is_king", small, seed=1)
    model.step()
    assert model.p.commission_rate == PRESETS["sales_is_king"]["params"]["commission_rate"]


def test_choosing_a_preset_keeps_the_chosen_agency_policy_unless_it_names_one():
    from model import PRESETS
    from model.app import settings_for_preset

    mine = {**settings_for_preset("typical_tp"), "agency_policy": "learning"}
    assert settings_for_preset("sales_is_king", mine)["agency_policy"] == "learning"
    region = settings_for_preset("region_sales_driven", mine)
    assert region["agency_policy"] == PRESETS["region_sales_driven"]["params"]["agency_policy"]


# ---------------------------------------------------------------------------------------------
# The browser test
# ---------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def frontend_assets():
    """Solara's JavaScript and CSS in its asset cache (from npm: CI reaches no CDN)."""
    from model.app import ensure_frontend_assets

    try:
        return ensure_frontend_assets()
    except RuntimeError as exc:
        pytest.fail(f"the app's front-end files are missing: {exc}")


@pytest.fixture
def app_url(tmp_path, frontend_assets):
    port = _free_port()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "PYTHONUNBUFFERED": "1",
           "SOLARA_ASSETS_PROXY_CACHE_DIR": str(frontend_assets)}
    log = open(tmp_path / "solara.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", str(APP), "--host", "127.0.0.1", "--port",
         str(port), "--no-open", "--production"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara exited with {proc.returncode}:\n{(tmp_path / 'solara.log').read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer at {url}:\n{(tmp_path / 'solara.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _browser(playwright):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser test needs Debian's chromium and "
                    "chromium-driver (`apt-get install -y chromium chromium-driver`; .ci/run does this)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def _changed_fraction(png_a: bytes, png_b: bytes) -> float:
    from PIL import Image, ImageChops

    a = Image.open(io.BytesIO(png_a)).convert("RGB")
    b = Image.open(io.BytesIO(png_b)).convert("RGB").resize(a.size)
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 16 else 0)
    return sum(diff.histogram()[255:]) / (a.size[0] * a.size[1])


def _week(page) -> int:
    import re

    m = re.search(r"Week (\d+)", page.locator(".stat-week").inner_text())
    return int(m.group(1)) if m else -1


def _percent(text: str) -> int:
    import re

    m = re.search(r"(\d+)%", text)
    return int(m.group(1)) if m else -1


def test_app_in_headless_chromium(app_url, tmp_path):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("the playwright python package is missing: pip install -e '.[dev]'")

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        page.goto(app_url, wait_until="networkidle")

        # the page: the run buttons, a control per contract term, four charts at week 0
        week = page.locator(".stat-week")
        expect(week).to_contain_text("Week 0")
        charts = page.locator(".charts img")
        expect(charts).to_be_visible()
        for name in ("preset", "commission_rate", "base_fee", "contract_weeks",
                     "evaluation_brand_weight", "agency_policy", "n_consumers"):
            expect(page.locator(f".control-{name}")).to_be_visible()
        commission = page.locator(".value-commission_rate")
        expect(commission).to_contain_text("8%")  # the starting preset's commission
        chart_at_start = charts.screenshot()
        src_at_start = charts.get_attribute("src")

        # a student steps the market: one week, then a quarter; the charts draw the weeks
        page.locator(".btn-step-1").click()
        expect(week).to_contain_text("Week 1")
        page.locator(".btn-step-13").click()
        expect(week).to_contain_text("Week 14")
        expect(charts).not_to_have_attribute("src", src_at_start)
        changed = _changed_fraction(chart_at_start, charts.screenshot())
        assert changed > 0.002, f"the charts barely changed after 14 weeks ({changed:.4%} of pixels)"

        # plays to the end of the first year and pauses
        page.locator(".btn-play").click()
        expect(page.locator(".btn-play")).to_contain_text("Pause")
        page.wait_for_function(
            "() => { const m = document.querySelector('.stat-week').innerText.match(/Week (\\d+)/);"
            " return m && Number(m[1]) >= 52; }")
        page.locator(".btn-play").click()
        expect(page.locator(".btn-play")).to_contain_text("Play")
        page.wait_for_timeout(800)  # a frame already being computed may still land
        paused_at = _week(page)
        page.wait_for_timeout(1000)
        assert _week(page) == paused_at, "the market kept running after Pause"

        # raises the commission from 8% to 30% with the keyboard on the slider's thumb: the
        # market restarts at week 0 under the new contract, the old run stays on the charts
        thumb = page.locator(".control-commission_rate [role=slider]")
        for _ in range(80):  # one key at a time: each press restarts the market, and a press
            # sent while the page redraws can be dropped on a busy machine, so read and steer
            before = commission.inner_text()
            shown = _percent(before)
            if shown == 30:
                break
            thumb.press("ArrowRight" if shown < 30 else "ArrowLeft")
            deadline = time.monotonic() + 5  # wait for this key's restart to show (or give up
            while commission.inner_text() == before and time.monotonic() < deadline:  # on it)
                page.wait_for_timeout(100)
        expect(commission).to_contain_text("30%")
        expect(page.locator(".run-label")).to_contain_text("commission 30%")
        expect(week).to_contain_text("Week 0")
        for n in range(1, 5):
            page.locator(".btn-step-13").click()
            expect(week).to_contain_text(f"Week {13 * n}")
        assert not page.locator(".v-alert.error--text, .v-alert.text-error").count(), \
            page.locator(".v-alert").all_inner_texts()

        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot), full_page=True)

        # choosing a preset moves the contract sliders to the preset's terms
        page.locator(".control-preset .v-field, .control-preset .v-select__slot").first.click()
        page.get_by_role("option", name="sales_is_king").click()
        expect(page.locator(".value-base_fee")).to_contain_text("RMB 5,000")
        expect(commission).to_contain_text("30%")
        expect(page.locator(".value-contract_weeks")).to_contain_text("26")
        expect(page.locator(".run-label")).to_contain_text("sales_is_king")
        expect(page.locator(".value-agency_policy")).to_contain_text("learning")  # kept
        page.locator(".btn-step-13").click()
        expect(week).to_contain_text("Week 13")
        # and Reset starts the same contract again at week 0
        page.locator(".btn-reset").click()
        expect(week).to_contain_text("Week 0")
        browser.close()

    assert shot.stat().st_size > 10_000
    if os.environ.get("AGENCY_SIM_SAVE_SCREENSHOT"):
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, ROOT / "docs" / "img" / "app.png")
    assert not problems, "the page logged errors:\n" + "\n".join(problems)
