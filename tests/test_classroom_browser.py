"""The classroom game in real browsers: a lecturer and six students play three rounds to the
debrief in headless Chromium (``/usr/bin/chromium``), one student losing their page in the
middle and taking their brand back on a new device by name and PIN. The debrief's numbers are
checked against a ``simulate`` call built here from the contracts the students chose.

The server is started as a lecturer starts it (``agency-sim classroom``) on 127.0.0.1. Every
wait is for a condition on a page, never for a length of time. Chromium missing is a failure,
not a skip. ``AGENCY_SIM_SAVE_SCREENSHOT=1`` also refreshes docs/img/classroom_*.png.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_app_browser import _browser, _free_port, _stop  # the app's browser test's Chromium, launched as it is

from model import Params, simulate
from model.classroom import GAME_TERMS

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 120
UI_TIMEOUT_MS = 60_000
W, ROUNDS, SEED, N_BRANDS = 6, 3, 5, 8
MARKET = {"n_consumers": 1500, "experience_weeks": 26}
NAMES = ["Ann", "Bo", "Chen", "Dana", "Emil", "Fang"]
# what each student signs each round (None: leaves the page's values as they are)
CHOICES = {
    1: {"Ann": 0.30, "Bo": 0.05, "Chen": 0.12, "Dana": 0.30, "Emil": 0.20, "Fang": 0.08},
    2: {"Ann": 0.30, "Bo": 0.05, "Chen": 0.25, "Dana": 0.10, "Emil": 0.20, "Fang": 0.40},
    3: {"Ann": 0.35, "Bo": 0.06, "Chen": 0.25, "Dana": 0.10, "Emil": None, "Fang": 0.40},
}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    cmd = [sys.executable, "-m", "experiments.cli", "classroom", "--port", str(port), "--state-dir", str(tmp_path)]
    cmd += ["--brands", str(N_BRANDS), "--weeks", str(W), "--rounds", str(ROUNDS), "--seed", str(SEED)]
    for k, v in MARKET.items():
        cmd += ["--set", f"{k}={v}"]
    out_path = tmp_path / "server.out"
    out = open(out_path, "w")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not re.search(r"lecturer#(\S+)", out_path.read_text()):
            if proc.poll() is not None:
                pytest.fail(f"agency-sim classroom exited with {proc.returncode}:\n{out_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"agency-sim classroom printed no lecturer link:\n{out_path.read_text()}")
            time.sleep(0.2)  # polling for the server's first lines, not waiting on a page
        text = out_path.read_text()
        room = re.search(r"Room code (\w+)", text).group(1)
        lecturer = re.search(r"(http://127\.0\.0\.1:\d+/r/\w+/lecturer#\S+)", text).group(1)
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(f"{base}/r/{room}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the game server did not answer:\n{out_path.read_text()}")
            time.sleep(0.2)
        yield {"base": base, "room": room, "lecturer": lecturer, "token": lecturer.split("#", 1)[1], "log": out_path}
    finally:
        _stop(proc)
        out.close()


def _join(browser, base, room, name, problems, pin=None, refused=False):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    if refused:  # (the browser logs the refusal's 403 as a console error: expected here)
        problems = []
    page.on("console", lambda m: problems.append(f"{name}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{name}: {e}"))
    page.goto(f"{base}/r/{room}")
    page.fill("#join-name", name)
    if pin:
        page.fill("#join-pin", pin)
    page.click("#join-btn")
    return ctx, page


def _choose(page, commission, rnd, expect):
    expect(page.locator("#contract")).to_be_visible(timeout=UI_TIMEOUT_MS)
    if commission is not None:
        page.locator("#term-commission_rate").fill(str(commission))
        expect(page.locator("#value-commission_rate")).to_have_text(re.compile(rf"^{round(commission * 100)}%"))
    page.click("#ready-btn")
    # ready, or (the last student to press it) the round already run
    done = page.locator(f'#ready-btn.ready, #results tr[data-round="{rnd}"]').first
    expect(done).to_be_attached(timeout=UI_TIMEOUT_MS)


def test_a_class_plays_three_rounds_to_the_debrief(server, tmp_path):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("the playwright python package is missing: pip install -e '.[dev]'")
    base, room = server["base"], server["room"]
    problems: list[str] = []
    save = os.environ.get("AGENCY_SIM_SAVE_SCREENSHOT") == "1"
    with sync_playwright() as pw:
        browser = _browser(pw)
        lect_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        lect = lect_ctx.new_page()
        lect.on("console", lambda m: problems.append(f"lecturer: {m.text}") if m.type == "error" else None)
        lect.on("pageerror", lambda e: problems.append(f"lecturer: {e}"))
        lect.goto(server["lecturer"])
        expect(lect.locator("#room-code")).to_have_text(room, timeout=UI_TIMEOUT_MS)
        assert "#" not in lect.url  # the token is taken out of the address bar (the projector shows it)
        expect(lect.locator("#qr")).to_have_js_property("complete", True)
        assert lect.evaluate("document.getElementById('qr').naturalWidth") > 0

        students = {}
        for name in NAMES:
            ctx, page = _join(browser, base, room, name, problems)
            expect(page.locator("#me-name")).to_have_text(name, timeout=UI_TIMEOUT_MS)
            students[name] = (ctx, page)
        expect(lect.locator("#roster tbody tr")).to_have_count(len(NAMES), timeout=UI_TIMEOUT_MS)
        pins = {n: p.locator("#me-pin").inner_text() for n, (_, p) in students.items()}
        brands = {n: int(p.locator("#me-brand").inner_text()) for n, (_, p) in students.items()}
        assert sorted(brands.values()) == list(range(len(NAMES)))
        # an emptied timer box changes nothing (it is not "no timer"); End waits for a played round
        expect(lect.locator("#timer")).to_have_value("120")
        lect.fill("#timer", "")
        lect.locator("#timer").dispatch_event("change")
        lect.locator("#room-code").click()  # (the box is refilled once it has lost the focus)
        expect(lect.locator("#timer")).to_have_value("120", timeout=UI_TIMEOUT_MS)
        expect(lect.locator("#end-btn")).to_be_disabled()

        for rnd in range(1, ROUNDS + 1):
            lect.click("#open-btn")
            expect(lect.locator("#status")).to_contain_text(f"Round {rnd} of {ROUNDS}", timeout=UI_TIMEOUT_MS)
            if rnd == 1:
                expect(lect.locator("#end-btn")).to_be_disabled()  # (no round played yet: nothing to debrief)
            for name in NAMES:
                ctx, page = students[name]
                if rnd == 2 and name == "Chen":
                    # Chen's phone dies before choosing; on a new phone the name alone is refused,
                    # the name and the PIN give Chen's brand back
                    ctx.close()
                    ctx, page = _join(browser, base, room, "Chen", problems, refused=True)
                    expect(page.locator("#join-error")).to_contain_text("PIN", timeout=UI_TIMEOUT_MS)
                    ctx.close()
                    ctx, page = _join(browser, base, room, "Chen", problems, pin=pins["Chen"])
                    expect(page.locator("#me-brand")).to_have_text(str(brands["Chen"]), timeout=UI_TIMEOUT_MS)
                    expect(page.locator("#term-commission_rate")).to_have_value("0.12")  # last round's contract
                    students[name] = (ctx, page)
                if rnd == 1 and name == "Bo":  # Bo reloads the page: the same phone keeps the brand
                    page.reload()
                    expect(page.locator("#me-name")).to_have_text("Bo", timeout=UI_TIMEOUT_MS)
                    expect(page.locator("#join")).to_be_hidden()
                if rnd == 3 and name == "Emil":
                    continue  # Emil never presses Ready: the lecturer runs the round without him
                _choose(page, CHOICES[rnd][name], rnd, expect)
                if save and rnd == 3 and name == "Ann":
                    page.screenshot(path=str(ROOT / "docs" / "img" / "classroom_student.png"), full_page=True)
            if rnd == 3:
                expect(lect.locator("#status")).to_contain_text("5/6 ready", timeout=UI_TIMEOUT_MS)
                lect.click("#close-btn")
            for name in NAMES:
                page = students[name][1]
                expect(page.locator(f'#results tr[data-round="{rnd}"]')).to_have_count(1, timeout=UI_TIMEOUT_MS)
            if rnd < ROUNDS:
                expect(lect.locator("#leaderboard tbody tr")).to_have_count(len(NAMES), timeout=UI_TIMEOUT_MS)

        lect.wait_for_selector("body[data-debrief=ready]", timeout=UI_TIMEOUT_MS)
        rows = lect.locator("#debrief-table tbody tr")
        expect(rows).to_have_count(len(NAMES) * ROUNDS)
        shown = {
            (int(r.get_attribute("data-brand")), int(r.get_attribute("data-round"))): {
                k: float(r.get_attribute(f"data-{k.replace('_', '-')}"))
                for k in ("gmv", "profit", "brand_value", "commission", "paid", "agency")
            }
            for r in rows.all()
        }
        for chart in ("#chart-gmv svg polyline", "#chart-value svg polyline"):
            expect(lect.locator(chart)).to_have_count(len(NAMES))
        expect(lect.locator("#chart-scatter svg circle")).to_have_count(len(NAMES))
        expect(lect.locator("#replays tbody tr")).to_have_count(3)
        with lect.expect_download() as dl:
            lect.click("#csv-btn")
        downloaded = Path(dl.value.path()).read_text()
        if save:
            lect.locator("#debrief").screenshot(path=str(ROOT / "docs" / "img" / "classroom_debrief.png"))
        student_rows = students["Ann"][1].locator("#results tbody tr")
        expect(student_rows).to_have_count(ROUNDS)
        expect(students["Ann"][1].locator("#replays tbody tr")).to_have_count(3)  # the trap, on the phones too
        # after the game, on a new phone: name and PIN show Ann's results again (nothing to choose)
        ctx, page = _join(browser, base, room, "Ann", problems, pin=pins["Ann"])
        expect(page.locator("#results tbody tr")).to_have_count(ROUNDS, timeout=UI_TIMEOUT_MS)
        expect(page.locator("#contract")).to_be_hidden()
        ctx.close()
        browser.close()
    assert not problems, problems

    # the same contracts, built here from what the students chose, through simulate
    params = Params.preset("typical_tp", agency_policy="learning", n_brands=N_BRANDS, **MARKET)
    market = {name: getattr(params, name) for name in GAME_TERMS}
    schedule = {}
    for name in NAMES:
        last = market["commission_rate"]
        entries = []
        for rnd in range(1, ROUNDS + 1):
            last = CHOICES[rnd][name] if CHOICES[rnd][name] is not None else last
            entries.append(((rnd - 1) * W, {**market, "commission_rate": last}))
        entries.append((ROUNDS * W, entries[-1][1]))
        schedule[brands[name]] = entries
    run = simulate(params, steps=ROUNDS * W, seed=SEED, brand_terms=schedule).brands
    for (j, rnd), got in shown.items():
        weeks = run[(run.brand == j) & (run.week >= (rnd - 1) * W) & (run.week < rnd * W)]
        assert got["commission"] == schedule[j][rnd - 1][1]["commission_rate"]
        assert got["gmv"] == math.fsum(weeks.gmv)  # (the debrief sums exactly rounded: any order gives this)
        assert got["profit"] == math.fsum(weeks.profit)
        assert got["brand_value"] == weeks.brand_value.iloc[-1]
        assert got["agency"] == weeks.agency.iloc[-1]  # who ran the store at the round's end (-1: in-house)
        assert got["paid"] == math.fsum(weeks.paid_to_agency) / math.fsum(weeks.gmv)  # paid, not signed
    table = list(csv.DictReader(io.StringIO(downloaded)))
    assert len(table) == N_BRANDS * ROUNDS
    for row in table:
        key = (int(row["brand"]), int(row["round"]))
        if key in shown:
            assert float(row["gmv"]) == shown[key]["gmv"] and row["student"] in NAMES
        else:
            assert row["student"] == "" and float(row["commission_rate"]) == params.commission_rate
    log = server["log"].read_text()
    assert "Traceback" not in log and "error" not in log.lower(), log
