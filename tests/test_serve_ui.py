"""The page in a real browser: Debian's headless Chromium driven by Playwright.

``make test-ui`` runs it (not part of ``make test``); it also installs axe-core from
npm into ``tests/ui/node_modules`` for the accessibility checks. The page is served
with the tiny test artifacts unless ``GS_UI_ARTIFACTS`` lists others (comma-separated,
the one with the deepest cut is chosen); the painting test runs ``GS_UI_STEPS`` steps
(empty: the artifact's recommended settings) and saves screenshots to
``GS_UI_SCREENSHOT`` and ``<stem>_narrow.png`` beside it (``make serve-screenshot``
uses the face weights and writes docs/serve.png and docs/serve_narrow.png).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.usefixtures("one_thread")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
AXE = Path(__file__).parent / "ui" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: Seconds each optimisation step is made to last at least: a tiny artifact solves a whole
#: job within one 0.1 s event interval, and the page's live progress is under test.
STEP_PACE = 0.05


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Served:
    """The running server: its URL and the gate every optimisation step waits at."""

    url: str
    gate: threading.Event


@pytest.fixture(scope="module")
def server(tiny_artifacts, tmp_path_factory):
    """``gs-serve`` on a free local port in a background thread, every step paced and gated
    (clear ``gate`` to hold the running job at its next step)."""
    import uvicorn

    import gs.serve.page_jobs as page_runner
    from gs.serve import create_app
    from gs.serve.catalog import Catalog

    solve = page_runner.solve_column
    gate = threading.Event()
    gate.set()

    def paced(method, problem, seed, on_step):
        def step(event):
            assert gate.wait(120), "the test never opened the gate"
            time.sleep(STEP_PACE)
            on_step(event)

        return solve(method, problem, seed, step)

    listed = os.environ.get("GS_UI_ARTIFACTS")
    paths = listed.split(",") if listed else [tiny_artifacts[1], tiny_artifacts[0]]
    root = tmp_path_factory.mktemp("serve") / "root"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(page_runner, "solve_column", paced)
        app = create_app(Catalog.load(paths), root=root)
        port = free_port()
        uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        end = time.monotonic() + 30
        while not uv.started and time.monotonic() < end:
            time.sleep(0.05)
        assert uv.started, "gs-serve did not start"
        try:
            yield Served(f"http://127.0.0.1:{port}", gate)
        finally:
            gate.set()
            uv.should_exit = True
            thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile (empty local storage) at desktop size; page errors fail."""
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


def open_page(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator("#examples button")).not_to_have_count(0)


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus (fails if it never gets it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def serious_accessibility_violations(page) -> list[dict]:
    """axe-core's violations of impact serious or critical (WCAG 2.x A/AA and best practice)."""
    assert AXE.is_file(), f"{AXE} is missing: make test-ui installs it (npm ci in tests/ui)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document);
        return {passes: result.passes.length, violations: result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}))};
    }""")
    assert found["passes"] >= 20, found  # the rules ran on the page's content
    return [v for v in found["violations"] if v["impact"] in ("serious", "critical")]


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= "
                         "document.documentElement.clientWidth")


def job_id(page) -> str:
    return page.evaluate("new URLSearchParams(location.search).get('job')")


def run_example(page, example: str = "coffee", steps: str = "2") -> None:
    """Choose ``example``, ``steps`` steps, run, and wait for the result."""
    from playwright.sync_api import expect

    page.locator(f"#examples button[data-example={example}]").click()
    expect(page.locator("#photo-name")).to_have_text(f"example: {example}")
    if page.locator("details").get_attribute("open") is None:
        page.locator("details summary").click()
    page.fill("#steps", steps)
    page.click("#run")
    expect(page.locator("#results")).to_be_visible(timeout=60_000)


def test_keyboard_only_run_from_load_to_result(server, page, photo):
    from playwright.sync_api import expect

    # Playwright intercepts file dialogs once a listener exists; one registered only when
    # the dialog is expected can come too late for it.
    page.on("filechooser", lambda chooser: None)
    open_page(page, server.url)
    # the drop zone opens the file dialog from the keyboard
    tab_to(page, "#drop")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(photo))
    expect(page.locator("#photo-name")).to_have_text(
        f"astronaut.png ({photo.stat().st_size / 1024:.0f} kB)")
    expect(page.locator("#preview-truth")).to_be_visible()
    # the examples are buttons
    tab_to(page, "#examples button[data-example=chelsea]")
    page.keyboard.press("Enter")
    expect(page.locator("#photo-name")).to_have_text("example: chelsea")
    expect(page.locator("#examples button[data-example=chelsea]")).to_have_attribute(
        "aria-pressed", "true")
    expect(page.locator("#preview-observation-caption")).to_have_text(
        "observation: CS m/n = 10 %")
    tab_to(page, "details summary")
    page.keyboard.press("Enter")
    tab_to(page, "#steps")
    page.keyboard.type("3")
    tab_to(page, "#run")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#results")).to_be_visible(timeout=60_000)

    # the page scrolled to the result and moved the focus there
    assert page.evaluate("document.activeElement.id") == "h-results"
    top = page.evaluate("document.getElementById('results').getBoundingClientRect().top")
    assert -1 < top < DESKTOP["height"] / 2  # (sub-pixel layout)
    expect(page.locator("#status")).to_contain_text("Done in")
    job = page.request.get(f"{server.url}/api/jobs/{job_id(page)}").json()
    columns = {c["key"]: c for c in job["result"]["columns"]}
    assert list(columns) == ["classical", "no_surgery", "surgery"]
    classical = page.locator(".panel[data-column=classical]")
    expect(classical.locator(".label")).to_have_text("classical: tv-cs")
    expect(classical.locator(".score").first).to_have_text(
        f"PSNR {columns['classical']['psnr']:.2f} dB" + (
            " ★ best" if job["result"]["best"]["psnr"] == "classical" else ""))
    expect(page.locator(f".panel[data-column={job['result']['best']['psnr']}] .best")
           ).not_to_have_count(0)
    width = page.locator(".panel[data-column=surgery] img").bounding_box()["width"]
    assert width >= 256
    assert page.locator(".panel img").evaluate_all(
        "imgs => imgs.every(i => getComputedStyle(i).imageRendering === 'pixelated')")

    # zoom with the keyboard, Escape closes it
    tab_to(page, ".panel[data-column=surgery] button")
    page.keyboard.press("Enter")
    expect(page.locator("#zoom")).to_be_visible()
    assert page.locator("#zoom-img").bounding_box()["width"] > width
    page.keyboard.press("Escape")
    expect(page.locator("#zoom")).to_be_hidden()
    # before/after between any two columns: the divider moves with the arrow keys
    page.select_option("#swipe-a", "classical")
    tab_to(page, "#swipe-pos")
    page.keyboard.press("ArrowRight")
    assert page.input_value("#swipe-pos") == "51"
    assert page.get_attribute("#swipe-img-a", "src").endswith("/classical.png")
    assert "inset(0px 0px 0px 51%)" in page.get_attribute("#swipe-img-b", "style")
    # the larger picture size
    page.check("input[name=size][value='512']")
    assert page.locator(".panel[data-column=surgery] img").bounding_box()["width"] == 512
    assert serious_accessibility_violations(page) == []


def test_reload_brings_back_a_running_and_a_finished_job(server, page, browser):
    from playwright.sync_api import expect

    open_page(page, server.url)
    server.gate.clear()  # the job holds at its first optimisation step
    try:
        page.locator("#examples button[data-example=astronaut]").click()
        page.locator("details summary").click()
        page.fill("#steps", "3")
        page.click("#run")
        expect(page.locator("#status")).to_contain_text("Running no surgery (c=0), column 2 of 3")
        job = job_id(page)
        assert job
        page.reload()
        expect(page.locator("#live")).to_be_visible()
        expect(page.locator("#status")).to_contain_text("Running no surgery (c=0), column 2 of 3")
        expect(page.locator("#cancel")).to_be_enabled()
        expect(page.locator("#run")).to_be_disabled()
        expect(page.locator("#current-figure")).to_be_hidden()  # no broken image
        # meanwhile another visitor's job waits in the queue, and can be cancelled there
        visitor = browser.new_context(viewport=DESKTOP)
        queued = visitor.new_page()
        open_page(queued, server.url)
        queued.locator("#examples button[data-example=coffee]").click()
        expect(queued.locator("#photo-name")).to_have_text("example: coffee")
        queued.click("#run")
        expect(queued.locator("#status")).to_have_text("Waiting in the queue (position 1).")
        expect(queued.locator("#current-figure")).to_be_hidden()
        queued.click("#cancel")
        expect(queued.locator("#status")).to_have_text(
            "The job was cancelled before it started.")
        expect(queued.locator("#run")).to_be_enabled()
        visitor.close()
    finally:
        server.gate.set()
    expect(page.locator("#results")).to_be_visible(timeout=60_000)
    statuses = page.evaluate("document.getElementById('detail').textContent")
    assert statuses == ""
    expect(page.locator("#job-info")).to_contain_text(f"job {job}")
    page.reload()
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Done in")
    expect(page.locator("#recent-list a")).to_have_text(
        ["example: astronaut · CS m/n = 10 % · done"])
    # a shared link opens the job in a browser that never saw it
    other = browser.new_context(viewport=DESKTOP)
    try:
        shared = other.new_page()
        shared.goto(f"{server.url}/?job={job}")
        expect(shared.locator("#results")).to_be_visible()
        expect(shared.locator(".panel[data-column]")).to_have_count(3)
        shared.goto(f"{server.url}/?job=000000000000")
        expect(shared.locator("#error")).to_contain_text("Job 000000000000 is no longer on this "
                                                         "server")
        assert "job=" not in shared.url
    finally:
        other.close()


def test_a_new_photo_clears_the_old_result(server, page, tmp_path):
    from playwright.sync_api import expect

    open_page(page, server.url)
    run_example(page, "coffee")
    assert job_id(page)
    page.locator("#examples button[data-example=rocket]").click()
    expect(page.locator("#results")).to_be_hidden()
    expect(page.locator("#live")).to_be_hidden()
    expect(page.locator("#panels .panel")).to_have_count(0)
    assert job_id(page) is None
    expect(page.locator("#preview-truth")).to_be_visible()
    # a file that is not an image clears the photo (and its preview) with one sentence
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a photo")
    page.set_input_files("#file", str(not_an_image))
    expect(page.locator("#error")).to_have_text(
        "notes.png is not an image the browser can read (png, jpg, webp…); choose another photo.")
    expect(page.locator("#photo-name")).to_have_text("no photo yet")
    expect(page.locator("#preview-truth")).to_be_hidden()
    assert page.locator("#examples button[aria-pressed=true]").count() == 0
    page.click("#run")
    expect(page.locator("#error")).to_have_text(
        "Choose a photo first: upload one or pick an example.")


def test_phone_width_without_horizontal_scroll_and_accessible(server, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        open_page(page, server.url)
        assert no_horizontal_scroll(page)
        assert serious_accessibility_violations(page) == []
        page.check("input[name=task][value=inpaint]")
        assert no_horizontal_scroll(page)
        page.locator("#examples button[data-example=astronaut]").click()
        page.click("#run")
        expect(page.locator("#error")).to_have_text(
            "Paint the missing region on the photo first, or choose random pixels.")
        page.check("input[name=inpaint-mode][value=random]")
        run_example(page, "astronaut")
        assert no_horizontal_scroll(page)
        assert serious_accessibility_violations(page) == []
        page.locator(".panel[data-column=classical] button").click()
        expect(page.locator("#zoom")).to_be_visible()
        assert no_horizontal_scroll(page)
    finally:
        context.close()


DROP = """([bytes, name, kind]) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/png'}));
    const event = kind === 'paste'
        ? new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true})
        : new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true});
    (kind === 'paste' ? document : document.getElementById('drop')).dispatchEvent(event);
}"""
PAINTED = """() => {
    const paint = document.getElementById('paint').getContext('2d');
    const data = paint.getImageData(0, 0, 256, 256).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) n += data[i] >= 64;
    return n;
}"""


def test_drop_paste_paint_undo_erase_run_and_screenshot(server, page, photo, tmp_path):
    from playwright.sync_api import expect

    steps = os.environ.get("GS_UI_STEPS", "5")
    shot = Path(os.environ.get("GS_UI_SCREENSHOT", tmp_path / "serve.png"))
    narrow = shot.with_name(f"{shot.stem}_narrow{shot.suffix}")
    open_page(page, server.url)
    data = list(photo.read_bytes())
    page.evaluate(DROP, [data, "dropped.png", "drop"])
    expect(page.locator("#photo-name")).to_contain_text("dropped.png")
    page.evaluate(DROP, [data, "pasted.png", "paste"])
    expect(page.locator("#photo-name")).to_contain_text("pasted.png")

    page.check("input[name=task][value=inpaint]")
    box = page.locator("#paint").bounding_box()

    def stroke(y: float, x0: int = 50, x1: int = 210) -> None:
        page.mouse.move(box["x"] + x0, box["y"] + y)
        page.mouse.down()
        for x in range(x0, x1, 10):
            page.mouse.move(box["x"] + x, box["y"] + y + (x % 20))
        page.mouse.up()

    # a band over the eyes: those pixels are what the recovery never sees
    stroke(128)
    band = page.evaluate(PAINTED)
    stroke(200)
    assert page.evaluate(PAINTED) > band
    page.click("#undo")
    assert page.evaluate(PAINTED) == band
    expect(page.locator("#undo")).to_be_enabled()  # the first stroke can still be undone
    page.check("input[name=tool][value=erase]")
    stroke(128, 170, 230)
    erased = page.evaluate(PAINTED)
    assert 0 < erased < band
    page.keyboard.press("Control+z")
    assert page.evaluate(PAINTED) == band
    page.check("input[name=tool][value=paint]")
    # the preview shows the painted band grey: what the model will observe
    expect(page.locator("#preview-observation-caption")).to_contain_text("% of pixels kept")

    page.locator("details summary").click()
    page.fill("#steps", steps)
    page.evaluate("""() => { window.details = [];
        new MutationObserver(() => window.details.push(
            document.getElementById('detail').textContent))
        .observe(document.getElementById('detail'), {childList: true}); }""")
    page.click("#run")
    expect(page.locator("#results")).to_be_visible(timeout=600_000)
    details = [d for d in page.evaluate("window.details") if d]
    assert details and all(d.startswith("step ") and "measurement loss" in d for d in details)
    job = page.request.get(f"{server.url}/api/jobs/{job_id(page)}").json()
    assert job["result"]["mask"] == "painted"
    surgery = job["result"]["columns"][-1]
    shown = page.locator(".panel[data-column=surgery] .score").first.text_content()
    assert shown.startswith(f"PSNR {surgery['psnr']:.2f} dB")
    assert float(page.get_attribute(".panel[data-column=surgery]", "data-psnr")) == (
        pytest.approx(surgery["psnr"], rel=1e-12))
    report = page.request.get(f"{server.url}{page.get_attribute('#dl-report', 'href')}")
    assert report.ok and report.json()["columns"][-1]["psnr"] == surgery["psnr"]
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size(PHONE)  # what a phone shows once the page scrolled to the result
    page.evaluate("document.getElementById('results').scrollIntoView()")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(narrow))
    assert shot.stat().st_size > 10_000 and narrow.stat().st_size > 10_000


TASK_CONTROLS = [
    ("cs", "#ratio", "0.25", "CS m/n = 25 %"),
    ("sr", "#scale", "8", "SR x8"),
    ("denoise", "#noise", "0.3", "noise std 0.3"),
    ("inpaint", "#keep", "0.4", "40 % of pixels kept"),
]


def test_page_sends_each_task_s_controls(server, page):
    from playwright.sync_api import expect

    open_page(page, server.url)
    page.locator("#examples button[data-example=coffee]").click()
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
            page.locator(control).dispatch_event("change")
        expect(page.locator("#preview-observation-caption")).to_have_text(
            f"observation: {observation}")
        page.click("#run")
        # each task's observation label differs, so this waits for this job's result
        expect(page.locator(".panel").nth(1)).to_contain_text(observation, timeout=60_000)
        expect(page.locator("#run")).to_be_enabled()
        expect(page.locator("#error")).to_be_hidden()
        assert page.locator(".panel[data-column]").count() == 2  # classical and surgery
