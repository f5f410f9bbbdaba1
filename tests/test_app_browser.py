"""The interactive app (model/app.py), driven in a real browser.

The app is started with ``solara run`` on a free loopback port and driven with Playwright in
headless Debian Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it). The test does what a
student does: loads the page, steps, plays and pauses the market, moves the commission slider,
and checks that the page reports no console errors, that the setting took effect, that the
charts changed, that Pause stopped the market at once and that the server printed no warnings.
It waits for conditions on the page (the week counter, a label), never for a length of time.

Chromium missing is a failure with a clear message, not a skip: CI installs it.
Set ``AGENCY_SIM_SAVE_SCREENSHOT=1`` to also refresh docs/img/app.png.
"""

from __future__ import annotations

import io
import os
import re
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
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 120
UI_TIMEOUT_MS = 60_000


# ---------------------------------------------------------------------------------------------
# The app's controls are generated from the parameter declarations (no browser needed)
# ---------------------------------------------------------------------------------------------
def test_controls_come_from_param_specs_and_accept_every_preset():
    from model import PRESETS, Params
    from model.app_controls import APP_CONTROLS, CONTROLS, SPECS, settings_for_preset
    from model.app_run import build_model
    from model.params import FOCAL_TERMS

    assert [c["name"] for c in CONTROLS] == list(APP_CONTROLS)
    for c in CONTROLS:
        spec = SPECS[c["name"]]
        # the declaration's description, but a per-agency choice is one select for every agency
        assert c["help"] == (
            spec.description
            if not spec.per_agency
            else spec.description.split(":")[0] + " (here: the same for every agency)"
        )
        if c["kind"] == "select":
            assert c["values"] == list(spec.choices)
            continue
        # the slider window lies inside the declared range, and both ends are valid values
        assert spec.validate(c["min"]) == c["min"] and spec.validate(c["max"]) == c["max"]
        assert c["min"] < c["max"]
        positions = (c["max"] - c["min"]) / c["step"]
        # fine enough to steer; an integer control in unit steps may have few positions
        assert 20 <= positions <= 400 or (c["kind"] == "int" and c["step"] == 1 and positions >= 3)
    for name in PRESETS:  # every preset's values sit on the sliders' grids
        values = settings_for_preset(name)
        params = Params.preset(name)
        for c in CONTROLS:
            v = values[c["name"]]
            expect = getattr(params, c["name"])
            if expect is None:  # a focal term not set: its slider shows the market's term
                expect = getattr(params, FOCAL_TERMS[c["name"]])
            assert v == expect
            if c["kind"] in ("int", "float"):
                assert c["min"] <= v <= c["max"]
                k = (v - c["min"]) / c["step"]
                assert abs(k - round(k)) < 1e-6, (name, c["name"], v)
    n_consumers = next(c for c in CONTROLS if c["name"] == "n_consumers")
    small = {**settings_for_preset("sales_is_king"), "n_consumers": n_consumers["min"]}
    model = build_model("sales_is_king", small, seed=1)
    model.step()
    assert model.p.commission_rate == PRESETS["sales_is_king"]["params"]["commission_rate"]


def test_choosing_a_preset_keeps_the_chosen_agency_policy_unless_it_names_one():
    from model import PRESETS
    from model.app_controls import settings_for_preset

    mine = {**settings_for_preset("typical_tp"), "agency_policy": "learning"}
    assert settings_for_preset("sales_is_king", mine)["agency_policy"] == "learning"
    region = settings_for_preset("region_sales_driven", mine)
    assert region["agency_policy"] == PRESETS["region_sales_driven"]["params"]["agency_policy"]


def test_stat_cards_have_numbers_from_week_zero_and_follow_the_weeks():
    from model.app_controls import settings_for_preset
    from model.app_run import Run, history, stat_cards

    run = Run("typical_tp", {**settings_for_preset("typical_tp"), "n_consumers": 500}, seed=3)
    cards = {name: value for _, value, name in stat_cards(history(run.model), run.start)}
    assert cards["week"] == "Week 0"
    assert cards["brand-value"] == "1.000" and cards["switches"] == "0"
    for name in ("gmv", "promo", "deal"):  # the burn-in's market, not a placeholder
        assert any(ch.isdigit() for ch in cards[name]), (name, cards[name])
    assert float(cards["gmv"].split()[1]) > 0
    for _ in range(3):
        run.model.step()
    hist = history(run.model)
    last = run.model.datacollector.get_model_vars_dataframe().iloc[-1]
    cards = {name: value for _, value, name in stat_cards(hist, run.start)}
    assert cards["week"] == "Week 3"
    assert cards["brand-value"] == f"{last['brand_value_index']:.3f}"
    assert cards["gmv"] == f"RMB {last['gmv'] / 1e6:,.2f} m"
    # a page showing an earlier week reads only that week's numbers
    assert {n: v for _, v, n in stat_cards(history(run.model, 1), run.start)}["week"] == "Week 1"


def test_chart_option_draws_this_run_the_previous_run_and_the_festivals():
    from model.agents import is_festival
    from model.app_charts import chart_option
    from model.app_controls import settings_for_preset
    from model.app_run import PANELS, Run, history, stat_cards

    run = Run("typical_tp", {**settings_for_preset("typical_tp"), "n_consumers": 500}, seed=3)
    empty = chart_option(history(run.model))
    assert len(empty["grid"]) == len(PANELS) and "week 0" in empty["graphic"][0]["style"]["text"]
    for _ in range(60):
        run.model.step()
    before = history(run.model, 20)
    opt = chart_option(
        history(run.model), before, label="now", previous_label="before", start=run.start, previous_start=run.start
    )
    assert "graphic" not in opt and opt["animation"] is False
    assert {x["max"] for x in opt["xAxis"]} == {65}  # 60 weeks: drawn to the next whole quarter
    gmv = run.model.datacollector.model_vars["gmv"]
    cards = {name: value for _, value, name in stat_cards(history(run.model), run.start)}
    for i, (col, _, scale) in enumerate(PANELS):
        series = [s for s in opt["series"] if s["xAxisIndex"] == i]
        marks, prev, now = series
        assert [m["xAxis"] for m in marks["markLine"]["data"] if "xAxis" in m] == [
            w + 1 for w in range(65) if is_festival(w)
        ]
        assert prev["name"] == "before" and prev["lineStyle"]["type"] == "dashed"
        assert [p[0] for p in prev["data"]] == list(range(21))  # week 0, then the ends of weeks 1-20
        assert now["name"] == "now" and len(now["data"]) == 61
        assert now["data"][0] == [0, pytest.approx(run.start[col] * scale, rel=1e-3)]  # what the card said at week 0
        if col == "gmv":
            assert now["data"][8][1] == pytest.approx(gmv[7] * scale, rel=1e-3)
        if col == "brand_value_index":  # the last point is the card's week and value
            assert now["data"][-1][0] == 60 and cards["week"] == "Week 60"
            assert f"{now['data'][-1][1]:.3f}" == cards["brand-value"]
    import json

    json.dumps(opt)  # plain data: what the browser receives


def test_nudge_buttons_move_a_slider_one_step_and_stay_on_it():
    from model.app_controls import CONTROLS, nudged

    commission = next(c for c in CONTROLS if c["name"] == "commission_rate")
    assert commission["step"] == pytest.approx(0.01)  # one point of GMV
    assert nudged(commission, 0.08, 1) == 0.09 and nudged(commission, 0.08, -1) == 0.07
    assert nudged(commission, commission["min"], -1) == commission["min"]
    assert nudged(commission, commission["max"], 1) == commission["max"]
    weeks = next(c for c in CONTROLS if c["name"] == "contract_weeks")
    assert nudged(weeks, 52, 1) == 52 + weeks["step"] and isinstance(nudged(weeks, 52, 1), int)


def test_a_second_app_on_a_busy_port_says_to_pass_port_and_exits_2(capsys):
    from experiments.cli import main
    from model.app_server import check_port

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ValueError, match=rf"port {port} on 127.0.0.1 is already in use.*--port"):
            check_port("127.0.0.1", port)
        assert main(["app", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--port" in err and "Traceback" not in err
    suggested = int(re.search(r"e\.g\. --port (\d+)", err).group(1))
    with socket.socket() as s:  # the port it suggests is free
        s.bind(("127.0.0.1", suggested))
    assert main(["app", "--port", "70000"]) == 2
    assert "between 1 and 65535" in capsys.readouterr().err


def test_the_page_front_end_files_include_the_charts_library():
    from model.app_server import frontend_packages

    assert any(p.startswith("echarts@") for p in frontend_packages())


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
    from model.app_server import ensure_frontend_assets

    try:
        return ensure_frontend_assets()
    except RuntimeError as exc:
        pytest.fail(f"the app's front-end files are missing: {exc}")


@pytest.fixture
def app_url(tmp_path, frontend_assets):
    """The app served as `agency-sim app` serves it; yields (url, path of the server's stderr)."""
    port = _free_port()
    env = {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "PYTHONUNBUFFERED": "1",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(frontend_assets),
    }
    env.pop("PYTHONWARNINGS", None)  # the server's own warning filters, as a user gets them
    out_path, err_path = tmp_path / "solara.out", tmp_path / "solara.err"
    out, err = open(out_path, "w"), open(err_path, "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "solara",
            "run",
            str(APP),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-open",
            "--production",
        ],
        cwd=tmp_path,
        env=env,
        stdout=out,
        stderr=err,
    )
    url = f"http://127.0.0.1:{port}/"

    def logs() -> str:
        return f"{out_path.read_text()}{err_path.read_text()}"

    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara exited with {proc.returncode}:\n{logs()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer at {url}:\n{logs()}")
            time.sleep(0.5)  # polling for the server to come up, not waiting on the page
        yield url, err_path
    finally:
        _stop(proc)
        out.close()
        err.close()


def _stop(proc: subprocess.Popen) -> None:
    """End a server started by a test: terminate, and kill it if it has not gone in 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _browser(playwright):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser test needs Debian's chromium and "
            "chromium-driver (`apt-get install -y chromium chromium-driver`; .ci/run does this)"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def _changed_fraction(png_a: bytes, png_b: bytes) -> float:
    from PIL import Image, ImageChops

    a = Image.open(io.BytesIO(png_a)).convert("RGB")
    b = Image.open(io.BytesIO(png_b)).convert("RGB").resize(a.size)
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 16 else 0)
    return sum(diff.histogram()[255:]) / (a.size[0] * a.size[1])


def _week(page) -> int:
    m = re.search(r"Week (\d+)", page.locator(".stat-week").inner_text())
    return int(m.group(1)) if m else -1


def _shows(name: str, text: str) -> re.Pattern:
    """The value line of control ``name`` showing exactly ``text`` ("commission rate: 9% of GMV")."""
    return re.compile(rf"^{re.escape(name)}: {re.escape(text)}$")


def _exactly_week(n: int) -> re.Pattern:
    return re.compile(rf"Week {n}$")


def test_app_in_headless_chromium(app_url, tmp_path):
    """Every wait is for a condition on the page (the week counter, a label), never a sleep."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("the playwright python package is missing: pip install -e '.[dev]'")

    from model.app_run import SPEEDS

    url, server_stderr = app_url
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        page.goto(url, wait_until="networkidle")

        # the page: the run buttons, a control per contract term, four charts at week 0, and
        # stat cards with numbers from the first render
        week = page.locator(".stat-week")
        expect(week).to_have_text(_exactly_week(0))
        from model.app import PAGE_TITLE

        expect(page).to_have_title(PAGE_TITLE)  # the tab says what it is (it said "Solara ☀️")
        for card in ("gmv", "brand-value", "promo", "deal"):
            expect(page.locator(f".stat-{card}")).to_contain_text(re.compile(r"\d"))
        charts = page.locator(".charts .solara-echarts")
        expect(charts.locator("canvas").first).to_be_visible()
        for name in (
            "preset",
            "commission_rate",
            "base_fee",
            "contract_weeks",
            "evaluation_brand_weight",
            "agency_policy",
            "n_consumers",
            "speed",
        ):
            expect(page.locator(f".control-{name}")).to_be_visible()
        commission = page.locator(".value-commission_rate")
        expect(commission).to_have_text(_shows("commission rate", "8% of GMV"))  # the preset's
        chart_at_start = charts.screenshot()

        # a student steps the market: one week, then a quarter; the charts draw the weeks
        page.locator(".btn-step-1").click()
        expect(week).to_have_text(_exactly_week(1))
        page.locator(".btn-step-13").click()
        expect(week).to_have_text(_exactly_week(14))
        changed = _changed_fraction(chart_at_start, charts.screenshot())
        assert changed > 0.002, f"the charts barely changed after 14 weeks ({changed:.4%} of pixels)"

        # plays at the top speed and pauses: Pause stops at once. The app checks for Pause
        # before every week and the Pause handler waits for a week being computed, so the
        # week on the page when the button turns back to Play is final by design
        page.locator(".control-speed").get_by_role("button", name=str(max(SPEEDS)), exact=True).click()
        play = page.locator(".btn-play")
        play.click()
        expect(play).to_contain_text("Pause")
        expect(page.locator(".btn-step-1")).to_be_disabled()
        page.wait_for_function(
            "() => { const m = document.querySelector('.stat-week').innerText.match(/Week (\\d+)/);"
            " return m && Number(m[1]) >= 30; }"
        )
        play.click()
        expect(play).to_contain_text("Play")
        # the week Pause stopped at, as the button rendered with "Play" says it (the stat card
        # may be a message behind); then the card must show the same week
        paused_at = int(re.search(r"stopped-at-week-(\d+)", play.get_attribute("class")).group(1))
        expect(week).to_have_text(_exactly_week(paused_at))
        # had a week been computed after Pause, the next Step would not land on paused_at + 1
        page.locator(".btn-step-1").click()
        expect(week).to_have_text(_exactly_week(paused_at + 1))
        page.locator(".btn-step-13").click()
        expect(week).to_have_text(_exactly_week(paused_at + 14))
        page.locator(".control-speed").get_by_role("button", name="1", exact=True).click()
        expect(week).to_have_text(_exactly_week(paused_at + 14))  # after one more round trip

        # raises the commission from 8% to 30% with the slider's + button, one click a point,
        # each click waited for: each restarts the market under the new contract at week 0,
        # and the run before stays on the charts
        up = page.locator(".btn-up-commission_rate")
        for pct in range(9, 31):
            up.click()
            expect(commission).to_have_text(_shows("commission rate", f"{pct}% of GMV"))
        expect(page.locator(".run-label")).to_contain_text("commission 30%")
        expect(week).to_have_text(_exactly_week(0))
        # the slider's own step is one point too (the arrow keys move the thumb one step)
        page.locator(".control-commission_rate [role=slider]").press("ArrowRight")
        expect(commission).to_have_text(_shows("commission rate", "31% of GMV"))
        page.locator(".btn-down-commission_rate").click()
        expect(commission).to_have_text(_shows("commission rate", "30% of GMV"))
        for n in range(1, 5):
            page.locator(".btn-step-13").click()
            expect(week).to_have_text(_exactly_week(13 * n))
        assert not page.locator(".v-alert.error--text, .v-alert.text-error").count(), page.locator(
            ".v-alert"
        ).all_inner_texts()

        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot), full_page=True)

        # choosing a preset moves the contract sliders to the preset's terms
        page.locator(".control-preset .v-field, .control-preset .v-select__slot").first.click()
        page.get_by_role("option", name="sales_is_king", exact=True).click()
        expect(page.locator(".value-base_fee")).to_contain_text("RMB 5,000")
        expect(commission).to_have_text(_shows("commission rate", "30% of GMV"))
        expect(page.locator(".value-contract_weeks")).to_contain_text("26")
        expect(page.locator(".run-label")).to_contain_text("sales_is_king")
        expect(page.locator(".value-agency_policy")).to_contain_text("learning")  # kept
        page.locator(".btn-step-13").click()
        expect(week).to_have_text(_exactly_week(13))
        # and Reset starts the same contract again at week 0
        page.locator(".btn-reset").click()
        expect(week).to_have_text(_exactly_week(0))
        browser.close()

    assert shot.stat().st_size > 10_000
    if os.environ.get("AGENCY_SIM_SAVE_SCREENSHOT"):
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, ROOT / "docs" / "img" / "app.png")
    assert not problems, "the page logged errors:\n" + "\n".join(problems)
    stderr = server_stderr.read_text()
    assert not stderr.strip(), f"the server printed to stderr (warnings, errors):\n{stderr}"


def test_the_app_can_set_a_focal_brand_on_its_own_terms():
    from model.app_controls import APP_CONTROLS, settings_for_preset
    from model.app_run import build_model

    assert {"focal_brands", "focal_commission_rate", "experience_weeks"} <= set(APP_CONTROLS)
    s = settings_for_preset("focal_sales_is_king")
    assert s["focal_brands"] == 1 and s["focal_commission_rate"] == 0.30
    m = build_model("focal_sales_is_king", {**s, "experience_weeks": 0, "n_consumers": 300}, 1)
    focal = [b for b in m.brands if b.focal]
    assert len(focal) == 1
    assert focal[0].contract.commission_rate == 0.30 and focal[0].contract.base_fee == 5_000.0
    assert {b.contract.commission_rate for b in m.brands if not b.focal} == {0.08}
    # no focal brand: the focal sliders (which show the market's terms) and the preset's focal terms are ignored
    off = build_model("focal_sales_is_king", {**s, "focal_brands": 0, "experience_weeks": 0, "n_consumers": 300}, 1)
    assert {b.contract.commission_rate for b in off.brands} == {0.08}


@pytest.mark.parametrize(
    "name, bad",
    [
        ("commission_rate", "abc"),
        ("commission_rate", None),
        ("commission_rate", 1.5),
        ("commission_rate", float("nan")),
        ("contract_weeks", 26.5),
        ("n_consumers", True),
        ("agency_policy", "greedy"),
        ("agency_policy", None),
    ],
)
def test_a_crafted_control_value_is_refused_by_type_and_range(name, bad):
    """Values arrive over a websocket: one of the wrong type or outside the control is refused
    with a message naming the control (issue 28, row 14: "abc" replaced the page by a traceback)."""
    from model.app_controls import CONTROLS, checked

    control = next(c for c in CONTROLS if c["name"] == name)
    with pytest.raises(ValueError, match=control["label"]):
        checked(control, bad)
    good = control["default"]
    assert checked(control, good) == good
    if control["kind"] == "int":
        assert isinstance(checked(control, float(good)), int)


def _page_at_week_zero(browser, url: str, width: int, height: int):
    """A page of the app at ``width`` x ``height``, loaded and showing week 0."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    page.goto(url, wait_until="networkidle")
    expect(page.locator(".stat-week")).to_have_text(_exactly_week(0))
    return page


def test_app_on_a_projector_shows_every_control_and_the_four_charts(app_url):
    """At 1280 x 720 (a classroom projector) the page fits the screen: every control, the speed
    buttons and the four charts are inside the window without scrolling, no banner lies over
    the charts, and the tab has the app's name (issue 28, row 14)."""
    from playwright.sync_api import expect, sync_playwright

    from model.app import PAGE_TITLE
    from model.app_controls import CONTROLS
    from model.app_run import SPEEDS

    url, _ = app_url
    with sync_playwright() as pw:
        browser = _browser(pw)
        page = _page_at_week_zero(browser, url, 1280, 720)
        expect(page).to_have_title(PAGE_TITLE)

        def inside(locator, what):
            box = locator.bounding_box()
            assert box is not None, f"{what} is not shown"
            assert (
                box["x"] >= 0
                and box["y"] >= 0
                and box["x"] + box["width"] <= 1280 + 1
                and box["y"] + box["height"] <= 720 + 1
            ), f"{what} is outside the 1280x720 window: {box}"

        for control in CONTROLS:
            inside(page.locator(f".control-{control['name']}").first, control["name"])
        for label in ("Reset", "Step", "+13 weeks", "Play"):
            inside(page.get_by_role("button", name=label, exact=True), label)
        for speed in SPEEDS:
            inside(page.locator(".control-speed").get_by_role("button", name=str(speed), exact=True), f"speed {speed}")
        inside(page.locator(".charts"), "the charts")
        assert page.evaluate("document.scrollingElement.scrollHeight") <= 720 + 1
        assert (
            page.get_by_text("This website runs on").count() == 0
            or not page.get_by_text("This website runs on").first.is_visible()
        )
        browser.close()


@pytest.mark.slow
def test_the_app_says_it_is_busy_while_a_big_market_is_built(app_url):
    """30,000 consumers and agencies with six years of experience take seconds to build: the
    page shows that it is building (and Play waits) instead of freezing (issue 28, row 14)."""
    from playwright.sync_api import expect, sync_playwright

    url, _ = app_url
    with sync_playwright() as pw:
        browser = _browser(pw)
        page = _page_at_week_zero(browser, url, 1500, 1100)
        page.locator(".control-n_consumers .v-slider-thumb").focus()
        page.keyboard.press("End")
        expect(page.locator(".value-n_consumers")).to_contain_text("30,000")
        expect(page.locator(".busy")).to_have_count(0)
        page.locator(".control-experience_weeks .v-slider-thumb").focus()
        page.keyboard.press("End")
        expect(page.locator(".busy")).to_be_visible()
        expect(page.get_by_role("button", name="Play", exact=True)).to_be_disabled()
        expect(page.locator(".busy")).to_have_count(0)
        expect(page.locator(".value-experience_weeks")).to_contain_text("312")
        expect(page.get_by_role("button", name="Play", exact=True)).to_be_enabled()
        expect(page.locator(".stat-week")).to_have_text(_exactly_week(0))
        browser.close()
