"""The page in a real browser: Debian's headless Chromium driven by Playwright.

``make test-ui`` runs it (not part of ``make test``). It serves the tiny test
artifacts unless ``GS_UI_ARTIFACTS`` lists others (comma-separated, the one with
the deepest cut is chosen), runs ``GS_UI_STEPS`` steps (empty: the artifact's
recommended settings) and saves a screenshot to ``GS_UI_SCREENSHOT``
(``make serve-screenshot`` uses the face weights and writes docs/serve.png).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.usefixtures("one_thread")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(tiny_artifacts, tmp_path, monkeypatch):
    """``gs-serve`` on a free local port in a background thread; yields its URL.

    Each optimisation step is paced to last at least 50 ms: a tiny artifact solves a
    whole job within one 0.1 s event interval, and the page's live progress is what
    is under test.
    """
    import uvicorn

    import gs.serve.runner as page_runner
    from gs.serve import create_app
    from gs.serve.catalog import Catalog

    solve = page_runner.run_job

    def paced(job, artifact, on_step, **options):
        def step(event):
            time.sleep(0.05)
            on_step(event)

        return solve(job, artifact, on_step=step, **options)

    monkeypatch.setattr(page_runner, "run_job", paced)

    listed = os.environ.get("GS_UI_ARTIFACTS")
    paths = listed.split(",") if listed else [tiny_artifacts[1], tiny_artifacts[0]]
    root = tmp_path / "root"
    root.mkdir()
    app = create_app(Catalog.load(paths), root=root)
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not uv.started and time.monotonic() < end:
        time.sleep(0.05)
    assert uv.started, "gs-serve did not start"
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=30)


def test_page_upload_paint_run_and_score(server, photo, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    steps = os.environ.get("GS_UI_STEPS", "5")
    shot = Path(os.environ.get("GS_UI_SCREENSHOT", tmp_path / "serve.png"))
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a photo")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server)
            expect(page.locator("#artifact option")).not_to_have_count(0)

            page.set_input_files("#file", str(not_an_image))
            expect(page.locator("#error")).to_be_visible()
            expect(page.locator("#error")).to_contain_text("not an image")

            page.set_input_files("#file", str(photo))
            expect(page.locator("#error")).to_be_hidden()
            page.check("input[name=task][value=inpaint]")
            box = page.locator("#paint").bounding_box()
            # Paint a band over the eyes: those pixels are what the recovery never sees.
            page.mouse.move(box["x"] + 50, box["y"] + 128)
            page.mouse.down()
            for x in range(50, 210, 10):
                page.mouse.move(box["x"] + x, box["y"] + 128 + (x % 20))
            page.mouse.up()
            page.locator("details summary").click()
            page.fill("#steps", steps)
            page.evaluate("""() => { window.statuses = [];
                new MutationObserver(() => window.statuses.push(
                    document.getElementById('status').textContent))
                .observe(document.getElementById('status'), {childList: true}); }""")
            page.click("#run")
            expect(page.locator("#results")).to_be_visible(timeout=600_000)

            statuses = page.evaluate("window.statuses")
            assert any(" · step " in s and "measurement loss" in s for s in statuses), statuses
            expect(page.locator("#current")).to_have_attribute("src", re.compile(r"/current\.png"))
            panels = page.locator(".panel[data-column]")
            scores = [float(panels.nth(i).get_attribute("data-psnr"))
                      for i in range(panels.count())]
            shown = panels.last.locator(".score").text_content()
            job_id = page.get_attribute("#dl-report", "href").split("/")[3]
            job = page.request.get(f"{server}/api/jobs/{job_id}").json()
            surgery = job["result"]["columns"][-1]
            assert job["result"]["mask"] == "painted"
            assert shown.startswith(f"PSNR {surgery['psnr']:.2f} dB")
            assert scores[-1] == pytest.approx(surgery["psnr"], rel=1e-12)
            assert 5 < surgery["psnr"] < 60
            report = page.request.get(f"{server}{page.get_attribute('#dl-report', 'href')}")
            assert report.ok and report.json()["columns"][-1]["psnr"] == surgery["psnr"]
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


TASK_CONTROLS = [
    ("cs", "#ratio", "0.25", "CS m/n = 25 %"),
    ("sr", "#scale", "8", "SR x8"),
    ("denoise", "#noise", "0.3", "noise std 0.3"),
    ("inpaint", "#keep", "0.4", "40 % of pixels kept"),
]


def test_page_sends_each_task_s_controls(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(server)
            page.locator("#examples img[data-example=coffee]").click()
            expect(page.locator("#photo-name")).to_have_text("example: coffee")
            page.locator("details summary").click()
            page.fill("#steps", "2")
            page.uncheck("#compare")
            for task, control, value, observation in TASK_CONTROLS:
                page.check(f"input[name=task][value={task}]")
                if task == "inpaint":
                    page.check("input[name=inpaint-mode][value=random]")
                if control == "#scale":
                    page.select_option(control, value)
                else:
                    page.locator(control).fill(value)
                page.click("#run")
                # each task's observation label differs, so this waits for this job's result
                expect(page.locator(".panel").nth(1)).to_contain_text(observation,
                                                                      timeout=120_000)
                expect(page.locator("#run")).to_be_enabled()
                expect(page.locator("#error")).to_be_hidden()
                assert page.locator(".panel[data-column]").count() == 1
        finally:
            browser.close()
