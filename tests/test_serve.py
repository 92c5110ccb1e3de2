"""gs-serve's JSON API through FastAPI's test client, its job board and its CLI."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gs.cli import main as invert_cli
from gs.errors import UserInputError
from gs.io import read_image, resize_image, to_uint8, write_image
from gs.jobs import OperatorOptions, Problem, simulated_problem
from gs.metrics import psnr
from gs.operators import OPTIONS
from gs.results import StepEvent
from gs.serve.catalog import Catalog
from gs.serve.job import Job
from gs.serve.page_jobs import classical_label
from gs.serve.page_request import MAX_STEPS, PageRequest, check_request
from gs.serve.queue import JobBoard
from gs.weights import get_pretrained

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    # starlette's TestClient announces a future switch of its HTTP client; not ours to fix.
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`"),
]

JOB = {"artifact": "tiny_c1", "task": "cs", "ratio": "0.3", "steps": "3", "restarts": "1",
       "seed": "3"}


@pytest.fixture(scope="module")
def catalog(tiny_artifacts: dict[int, Path]) -> Catalog:
    return Catalog.load([tiny_artifacts[1], tiny_artifacts[0]])


def serve(catalog: Catalog, root: Path, **options):
    from fastapi.testclient import TestClient

    from gs.serve import create_app

    root.mkdir()
    return TestClient(create_app(catalog, root=root, **options))


@pytest.fixture
def client(catalog: Catalog, tmp_path: Path):
    with serve(catalog, tmp_path / "root") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_client(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory):
    """One server for the tests that only send requests it refuses."""
    with serve(catalog, tmp_path_factory.mktemp("shared") / "root") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def photo16(photo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The astronaut at the tiny artifact's 16 px, so gs-invert reads the same truth."""
    path = tmp_path_factory.mktemp("photo16") / "face.png"
    write_image(path, resize_image(read_image(photo), (16, 16)))
    return path


def classical_recovery(problem: Problem, seed: int = 0) -> np.ndarray:
    """The page's classical column: the registry's ``classical`` method of the task."""
    from gs.methods import build_method

    method = build_method("classical", task=problem.operator.task)
    return method.solve([problem], seed=seed)[0].image


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def submit(client, image: Path | bytes | None, **fields):
    data = {**JOB, **fields}
    files = {}
    if image is not None:
        files["image"] = ("face.png", image.read_bytes() if isinstance(image, Path) else image,
                          "image/png")
    if "mask" in data:
        files["mask"] = ("mask.png", data.pop("mask"), "image/png")
    return client.post("/api/jobs", data=data, files=files)


def events(client, job_id: str) -> list[dict]:
    """Every server-sent event of a job until it ends."""
    out = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def wait(client, job_id: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def pixels(data: bytes | Path) -> np.ndarray:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    with Image.open(source) as img:
        return np.asarray(img)


def test_job_streams_progress_and_matches_gs_invert(client, photo16, tiny_artifacts, tmp_path):
    response = submit(client, photo16)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    seen = events(client, job_id)
    running = [e for e in seen if e["status"] == "running" and e["progress"]]
    assert seen[-1]["status"] == "done", seen[-1]["error"]
    # events may coalesce steps (a fast column can finish between two events); the trace
    # keeps every one (rows may stop before 3 steps), counted from 1 in each stage of a
    # progressive schedule
    assert running and {e["progress"]["column"] for e in running} <= {"no_surgery", "surgery"}
    trace = seen[-1]["trace"]
    assert {key for key, _, _, _ in trace} == {"no_surgery", "surgery"}
    for column in ("no_surgery", "surgery"):
        stages = sorted({stage for key, stage, _, _ in trace if key == column})
        assert stages == list(range(len(stages))) and stages
        for stage in stages:
            steps = [step for key, s, step, _ in trace if key == column and s == stage]
            assert steps == list(range(1, len(steps) + 1)) and 1 <= len(steps) <= 3
    assert all(np.isfinite(t[3]) and t[3] >= 0 for t in seen[-1]["trace"])
    current = client.get(f"/api/jobs/{job_id}/current.png")
    assert current.status_code == 200 and pixels(current.content).shape == (16, 16, 3)

    # every running event says which stage of how many, at which cut, and the held-out
    # residual the recommended settings stop by
    assert all(e["progress"]["stages"] == len(plan["schedule"]) and e["progress"]["cut"] ==
               plan["schedule"][e["progress"]["stage"]] and e["progress"]["score"] >= 0
               for e in running for plan in seen[-1]["plan"]
               if plan["key"] == e["progress"]["column"])
    assert [(p["key"], p["label"]) for p in seen[-1]["plan"]] == [
        ("classical", "classical: tv-cs"), ("no_surgery", "no surgery (c=0)"),
        ("surgery", "surgery (c=1)")]
    assert seen[-1]["source"] == "uploaded photo" and seen[-1]["request"]["ratio"] == 0.3

    result = seen[-1]["result"]
    assert [c["key"] for c in result["columns"]] == ["classical", "no_surgery", "surgery"]
    surgery = result["columns"][2]
    assert surgery["answer"] == surgery["details"]["answer"]
    assert surgery["settings"]["steps"] == 3 and result["columns"][0]["settings"] is not None
    assert result["columns"][1]["answer"] == "generator"  # no surgery: the generator alone
    files = {name: client.get(f"/api/jobs/{job_id}/files/{name}") for name in
             ("truth.png", "observation.png", "classical.png", "no_surgery.png", "surgery.png",
              "compare.png", "report.json")}
    assert all(r.status_code == 200 for r in files.values())
    assert files["report.json"].json()["columns"][2]["psnr"] == result["columns"][2]["psnr"]
    scores = {c["key"]: c["psnr"] for c in result["columns"]}
    assert result["best"]["psnr"] == max(scores, key=scores.get)
    # the classical column is TV on the very measurements the generator columns saw
    (tmp_path / "truth.png").write_bytes(files["truth.png"].content)
    truth = read_image(tmp_path / "truth.png")
    problem = simulated_problem(photo16, 0, truth, OperatorOptions(task="cs", ratio=0.3), 3)
    classical = classical_recovery(problem, seed=3)
    np.testing.assert_array_equal(pixels(files["classical.png"].content),
                                  to_uint8(classical).transpose(1, 2, 0))
    assert result["columns"][0]["psnr"] == pytest.approx(psnr(classical, truth), rel=1e-6)

    out = tmp_path / "cli"
    cli = CliRunner().invoke(invert_cli, [
        str(tiny_artifacts[1]), str(photo16), "--simulate", "--task", "cs", "--ratio", "0.3",
        "--steps", "3", "--restarts", "1", "--seed", "3", "-o", str(out),
        "--report", str(tmp_path / "r.json"), "--compare", str(tiny_artifacts[0])])
    assert cli.exit_code == 0, cli.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["images"][0]["psnr"] == pytest.approx(result["columns"][2]["psnr"], abs=0)
    np.testing.assert_array_equal(pixels(out / "face.png"), pixels(files["surgery.png"].content))
    np.testing.assert_array_equal(pixels(out / "compare" / "face.png"),
                                  pixels(files["no_surgery.png"].content))
    np.testing.assert_array_equal(pixels(out / "classical" / "face.png"),
                                  pixels(files["classical.png"].content))
    # The command line's side-by-side picture is the page's, pixel for pixel.
    np.testing.assert_array_equal(pixels(out / "face_compare.png"),
                                  pixels(files["compare.png"].content))


def test_painted_mask_runs_as_gs_invert_mask(client, photo16, tiny_artifacts, tmp_path):
    keep = np.full((64, 64), 255, dtype=np.uint8)
    keep[:, :32] = 0  # the page paints the left half: missing
    response = submit(client, photo16, task="inpaint", mask=png(keep), compare="false")
    assert response.status_code == 202, response.text
    job = wait(client, response.json()["id"])
    assert job["status"] == "done", job["error"]
    assert [c["key"] for c in job["result"]["columns"]] == ["classical", "surgery"]
    base = f"/api/jobs/{job['id']}/files"
    mask = pixels(client.get(f"{base}/mask.png").content)
    assert (mask[:, :8] == 0).all() and (mask[:, 8:] == 255).all()
    observed = tmp_path / "observed.png"
    observed.write_bytes(client.get(f"{base}/observation.png").content)
    mask_file = tmp_path / "mask.png"
    mask_file.write_bytes(client.get(f"{base}/mask.png").content)
    # observation.png shows dropped pixels grey; gs-invert reads only kept ones.
    cli = CliRunner().invoke(invert_cli, [
        str(tiny_artifacts[1]), str(observed), "--task", "inpaint", "--mask", str(mask_file),
        "--steps", "3", "--restarts", "1", "--seed", "3", "-o", str(tmp_path / "out")])
    assert cli.exit_code == 0, cli.output
    np.testing.assert_array_equal(pixels(tmp_path / "out" / "observed.png"),
                                  pixels(client.get(f"{base}/surgery.png").content))
    score = job["result"]["columns"][1]
    assert 0 < score["psnr"] < 100 and -1 <= score["ssim"] <= 1


@pytest.mark.parametrize(("fields", "image", "status", "words"), [
    ({}, b"this is not a picture", 400, "image: the uploaded file is not an image"),
    ({}, b"", 400, "image: the uploaded file is empty"),
    ({}, None, 400, "upload a photo or choose an example"),
    ({"artifact": "dcgan_c9"}, "photo", 400, "artifact 'dcgan_c9' is not served here"),
    ({"ratio": "lots"}, "photo", 400, "ratio must be a number, got 'lots'"),
    ({"seed": "2.5"}, "photo", 400, "seed must be an integer, got '2.5'"),
    ({"compare": "maybe"}, "photo", 400, "compare must be true or false, got 'maybe'"),
    # 16 x 16 x 3 = 768 values: round(0.02 * 768) = 15 measurements, one too few
    ({"ratio": "0.02"}, "photo", 400, "ratio 0.02 gives 15 of the 768 values of this artifact's "
                                      "images; at least 16 measurements are needed (ratio ≥ "
                                      "0.021)"),
    ({"ratio": "1e-9"}, "photo", 400, "gives 1 of the 768 values"),
    ({"task": "inpaint", "keep": "0.01"}, "photo", 400, "keep 0.01 keeps 3 of the 256 pixels"),
    ({"example": "chelsea"}, "photo", 400, "give either image (an uploaded photo) or example"),
    ({"ratio": "1.5"}, "photo", 400, "ratio must be a number in (0, 1], got 1.5"),
    ({"scale": "3", "task": "sr"}, "photo", 400, "scale must be one of 2, 4, 8"),
    ({"task": "raw"}, "photo", 400, "task must be one of cs, inpaint, sr, denoise, deblur"),
    ({"steps": "100000"}, "photo", 400, "steps must be an integer in [1, 500], got 100000"),
    ({"mask": png(np.zeros((8, 8), np.uint8))}, "photo", 400, "mask is only used by the inpaint"),
    ({"task": "inpaint", "mask": b"GIF89a broken"}, "photo", 400, "mask: the uploaded file is not"),
    ({"example": "moon"}, None, 400, "example must be one of"),
])
def test_bad_requests_get_one_sentence(shared_client, photo16, fields, image, status, words):
    response = submit(shared_client, photo16 if image == "photo" else image, **fields)
    assert response.status_code == status
    message = response.json()["error"]
    assert words in message and "\n" not in message and "Traceback" not in message


def test_upload_limits(catalog, photo16, tmp_path, monkeypatch):
    root = tmp_path / "root"
    noise = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    with serve(catalog, root, max_upload_mb=0.005) as small:
        response = submit(small, png(noise))
        assert response.status_code == 413
        assert "accepts at most 0.005 MB" in response.json()["error"]
        monkeypatch.setattr("gs.io.images.MAX_IMAGE_PIXELS", 100)
        response = submit(small, photo16)
        assert response.status_code == 400
        assert response.json()["error"] == ("image: the photo is 16x16 pixels; at most 100 "
                                            "pixels are accepted")
    assert list(root.iterdir()) == []  # refused uploads leave nothing behind


def test_job_errors_and_unknown_ids(client, photo16):
    black = np.zeros((32, 32), dtype=np.uint8)
    job = wait(client, submit(client, photo16, task="inpaint", mask=png(black)).json()["id"])
    assert job["status"] == "failed"
    assert job["error"] == "mask hides every pixel; leave some of the photo unpainted"
    assert client.get("/api/jobs/nope").status_code == 404
    assert "there is no job 'nope'" in client.get("/api/jobs/nope").json()["error"]
    assert client.get(f"/api/jobs/{job['id']}/files/../../etc/passwd").status_code == 404
    assert client.get(f"/api/jobs/{job['id']}/files/secret.txt").status_code == 404
    plain = client.post("/api/jobs", content=b"{}", headers={"content-type": "application/json"})
    assert plain.status_code == 400 and "multipart/form-data" in plain.json()["error"]
    broken = client.post("/api/jobs", content=b"garbage",
                         headers={"content-type": "multipart/form-data"})
    assert broken.status_code == 400
    assert broken.json()["error"] == "the form could not be read: Missing boundary in multipart."


def test_deblurring_is_a_page_task(client, photo16):
    job = submit(client, photo16, task="deblur", steps="2", restarts="1").json()
    done = wait(client, job["id"])
    assert done["status"] == "done", done
    assert done["plan"][0]["label"] == "classical: tv-deblur"
    assert "Gaussian blur" in done["result"]["observation"]


def test_cancel_a_queued_job_and_write_only_in_root(client, photo16, tmp_path):
    first = submit(client, photo16, steps="60", restarts="2").json()
    second = submit(client, photo16, task="denoise").json()
    assert second["status"] == "queued"
    cancelled = client.delete(f"/api/jobs/{second['id']}").json()
    assert cancelled["status"] == "cancelled"
    client.delete(f"/api/jobs/{first['id']}")
    assert wait(client, first["id"])["status"] in ("cancelled", "done")
    assert wait(client, second["id"])["status"] == "cancelled"
    escape = client.post("/api/jobs", data=JOB,
                         files={"image": ("../../escape.png", photo16.read_bytes(), "image/png")})
    assert wait(client, escape.json()["id"])["status"] == "done"
    root = tmp_path / "root"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]
    assert all(root in p.parents for p in root.rglob("*"))


def test_own_temp_folder_lives_as_long_as_the_server(catalog, photo16):
    from fastapi.testclient import TestClient

    from gs.serve import create_app

    app = create_app(catalog)
    assert app.state.board.root is None  # built but not started: nothing on disk
    with TestClient(app) as own:
        root = app.state.board.root
        assert root.is_dir() and root.name.startswith("gs-serve-")
        job = wait(own, submit(own, photo16, compare="false").json()["id"])
        assert job["status"] == "done" and (root / job["id"] / "compare.png").is_file()
    assert not root.exists()


def test_pages_and_examples(client):
    page = client.get("/")
    assert page.status_code == 200
    for element in ('id="file"', 'id="drop"', 'id="paint"', 'id="ratio"', 'id="run"',
                    'id="cancel"', 'id="error"', 'id="dl-report"', 'value="sr"',
                    'value="denoise"', 'aria-live="polite"', 'id="swipe-pos"', 'rel="icon"'):
        assert element in page.text
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.content.startswith(b"<svg")
    assert "EventSource" in client.get("/static/app.js").text
    info = client.get("/api/artifacts").json()
    assert {a["id"]: a["no_surgery"] for a in info["artifacts"]} == {"tiny_c1": "tiny_c0",
                                                                    "tiny_c0": None}
    names = client.get("/api/examples").json()["examples"]
    assert "astronaut" in names
    example = client.get(f"/api/examples/{names[0]}")
    assert pixels(example.content).shape == (256, 256, 3)
    assert client.get("/api/examples/moon").status_code == 404
    schema = client.get("/openapi.json").json()
    assert {"/api/jobs", "/api/jobs/{job_id}/events", "/api/artifacts"} <= set(schema["paths"])
    assert "cdn" not in page.text.lower()
    assert client.get("/docs").json() == {"error": "GET /docs: Not Found"}


@pytest.mark.parametrize(("fields", "observation"), [
    ({"task": "cs", "ratio": "0.25"}, "CS m/n = 25 %"),
    ({"task": "inpaint", "keep": "0.5"}, "50 % of pixels kept"),
    ({"task": "sr", "scale": "2"}, "SR x2"),
    ({"task": "denoise", "noise_std": "0.2"}, "noise std 0.2"),
])
def test_every_task_runs_on_an_example(shared_client, fields, observation):
    response = shared_client.post("/api/jobs", data={**JOB, "example": "chelsea",
                                                     "compare": "false", **fields})
    assert response.status_code == 202, response.text
    job = wait(shared_client, response.json()["id"])
    assert job["status"] == "done", job["error"]
    assert job["result"]["observation"] == observation
    assert job["result"]["columns"][0]["psnr"] > 0


def test_gs_invert_compare_refuses_before_any_work(tiny_artifacts, photo16, tmp_path):
    base = [str(tiny_artifacts[1]), str(photo16), "--simulate", "--task", "cs", "--ratio",
            "0.3", "--steps", "1", "--restarts", "1", "-o", str(tmp_path / "out")]
    bad = CliRunner().invoke(invert_cli, [*base, "--compare", str(tmp_path / "c0.pt")])
    assert bad.exit_code == 2 and "--compare" in bad.output and "does not exist" in bad.output
    sharded = CliRunner().invoke(invert_cli, [*base, "--compare", str(tiny_artifacts[0]),
                                              "--devices", "1"])
    assert sharded.exit_code == 2 and "leave out --devices" in sharded.output
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "face_compare.png").write_bytes(b"keep me")
    taken = CliRunner().invoke(invert_cli, [*base, "--compare", str(tiny_artifacts[0])])
    assert taken.exit_code == 2 and "face_compare.png already exists" in taken.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["face_compare.png"]


def _event(step: int, scores: np.ndarray | None = None) -> StepEvent:
    """A step of a long stage, as the engine reports it; ``scores`` only when held out."""
    return StepEvent(0, 1, step, 10**6, np.array([1.0 / step]),
                     lambda: np.zeros((1, 3, 4, 4), np.float32), scores)


def test_board_cancels_running_jobs_and_survives_bugs(catalog, tmp_path):
    started = threading.Event()

    def endless(folder, request, catalog, upload, mask, on_step, on_column):
        if request.seed == 1:
            raise RuntimeError("boom")
        step = 0
        while True:  # stops only when on_step raises (the cancel)
            step += 1
            on_step("surgery", _event(step, np.array([0.5]) if step > 1 else None))
            started.set()
            time.sleep(0.001)

    board = JobBoard(catalog, tmp_path, runner=endless)
    jobs = []
    for seed in (1, 0):
        job_id, folder = board.new_folder()
        jobs.append(board.submit(Job(job_id, PageRequest("tiny_c1", seed=seed), folder,
                                     folder / "upload", None, plan=[
                                         {"key": "surgery", "label": "surgery (c=1)",
                                          "schedule": [0, 1]}])))
    assert started.wait(30)
    board.cancel(jobs[1].id)
    end = time.monotonic() + 30
    while jobs[1].status == "running" and time.monotonic() < end:
        time.sleep(0.01)
    assert jobs[0].status == "failed"
    assert jobs[0].error == "the server failed on this job (RuntimeError: boom)"
    assert jobs[1].status == "cancelled" and jobs[1].progress["step"] >= 1
    assert jobs[1].progress["stages"] == 2
    assert jobs[1].progress["score"] == (0.5 if jobs[1].progress["step"] > 1 else None)
    assert jobs[1].current_png is not None
    board.close()


def test_event_streams_wait_on_the_board(catalog, tmp_path):
    board = JobBoard(catalog, tmp_path)
    job = Job("j", PageRequest("tiny_c1"), tmp_path, tmp_path / "upload", None)

    async def waits() -> None:
        assert await board.wait_for_change(job, job.version, 0.01) is False  # a keep-alive's
        assert await board.wait_for_change(job, job.version - 1, 30) is True  # seen: no wait
        # a change made on another thread (a worker's) wakes the waiter at once
        threading.Timer(0.05, board._update, (job,), {"status": "running"}).start()
        assert await asyncio.wait_for(board.wait_for_change(job, job.version, 30), 5) is True
        waiting = asyncio.ensure_future(board.wait_for_change(job, job.version, 30))
        await asyncio.sleep(0.05)
        threading.Thread(target=board.close).start()  # a closing server wakes every stream
        assert await asyncio.wait_for(waiting, 5) is False

    asyncio.run(waits())


async def _event_stream(app, job_id: str, leave: asyncio.Event, chunks: list[str]) -> list[str]:
    """``chunks``, filled with the body of ``GET /api/jobs/{job_id}/events`` as it is sent
    straight through ASGI to a client that leaves when ``leave`` is set (as uvicorn's HTTP
    protocols announce it)."""
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
             "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": f"/api/jobs/{job_id}/events", "raw_path": b"", "query_string": b"",
             "root_path": "", "headers": [(b"host", b"test")], "client": ("test", 1),
             "server": ("test", 80)}
    requested = False

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"].decode())

    await app(scope, receive, send)
    return chunks


def test_event_streams_hold_no_thread(catalog, tmp_path, monkeypatch):
    """Twenty streams wait while the server's one worker thread is busy, and a change made
    on another thread still reaches each of them; a client that leaves ends its stream at
    once, long before the stream's next keep-alive."""
    import anyio.to_thread

    from gs.serve import create_app

    monkeypatch.setattr("gs.serve.events.KEEPALIVE_S", 600.0)
    app = create_app(catalog, root=tmp_path)
    board = app.state.board
    job = Job("j", PageRequest("tiny_c1"), tmp_path, tmp_path / "upload", None)
    board.jobs[job.id] = job

    async def events_sent(sent: list[list[str]], count: int) -> None:
        async with asyncio.timeout(10):
            while min(map(len, sent)) < count:
                await asyncio.sleep(0.01)

    async def streams() -> list[list[str]]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        release = threading.Event()
        busy = asyncio.ensure_future(anyio.to_thread.run_sync(release.wait))
        try:
            stay = asyncio.Event()
            sent: list[list[str]] = [[] for _ in range(20)]
            staying = [asyncio.ensure_future(_event_stream(app, job.id, stay, chunks))
                       for chunks in sent]
            await events_sent(sent, 1)
            threading.Thread(target=board._update, args=(job,),
                             kwargs={"status": "running"}).start()
            await events_sent(sent, 2)
            stay.set()
            await asyncio.wait_for(asyncio.gather(*staying), 10)
        finally:
            release.set()
            await busy
        gone, left = asyncio.Event(), []
        leaving = asyncio.ensure_future(_event_stream(app, job.id, gone, left))
        await events_sent([left], 1)
        await asyncio.sleep(0.05)  # it waits for a change now
        gone.set()
        await asyncio.wait_for(leaving, 10)
        return [*sent, left]

    *stayed, left = asyncio.run(streams())
    for chunks in stayed:
        assert [chunk.split("\n")[0] for chunk in chunks] == ["event: queued", "event: running"]
    assert [chunk.split("\n")[0] for chunk in left] == ["event: running"]
    assert not board._waiters  # every stream took its waiter with it
    board.close()


def test_gs_serve_cli(tiny_artifacts, tmp_path, monkeypatch):
    from gs.serve.cli import main as serve_cli

    missing = CliRunner().invoke(serve_cli, [str(tmp_path / "none.pt")])
    assert missing.exit_code == 2
    assert "ARTIFACT" in missing.output and "does not exist" in missing.output
    assert "Traceback" not in missing.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = CliRunner().invoke(serve_cli, [str(tiny_artifacts[1]), "--port", str(port)])
    assert taken.exit_code == 2 and f"--port {port} on 127.0.0.1 is in use" in taken.output
    calls = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.update(app=app, **kw))
    ok = CliRunner().invoke(serve_cli, [str(tiny_artifacts[1]), str(tiny_artifacts[0]),
                                        "--port", "0"])
    assert ok.exit_code == 0, ok.output
    assert calls["host"] == "127.0.0.1" and calls["port"] == 0
    assert "http://127.0.0.1:0" in ok.output and "warning" not in ok.output
    exposed = CliRunner().invoke(serve_cli, [str(tiny_artifacts[1]), "--host", "0.0.0.0",
                                             "--port", "0"])
    assert exposed.exit_code == 0 and calls["host"] == "0.0.0.0"
    assert "warning: --host 0.0.0.0 makes this page reachable from the network" in exposed.output
    for flag, value, words in (("--max-upload-mb", "0", "--max-upload-mb must be positive"),
                               ("--max-queued", "0", "--max-queued must be at least 1"),
                               ("--port", "70000", "--port must be between 0 and 65535")):
        refused = CliRunner().invoke(serve_cli, [str(tiny_artifacts[1]), flag, value])
        assert refused.exit_code == 2 and words in refused.output


def test_a_full_queue_answers_429_and_missing_files_are_not_listed(catalog, photo16, tmp_path):
    gate = threading.Event()

    def held(folder, request, catalog, upload, mask, on_step, on_column):
        gate.wait(30)
        return {"columns": []}

    with serve(catalog, tmp_path / "root", max_queued=1) as small:
        small.app.state.board.runner = held
        first = submit(small, photo16).json()
        end = time.monotonic() + 30
        while small.get(f"/api/jobs/{first['id']}").json()["status"] == "queued":
            assert time.monotonic() < end
            time.sleep(0.01)
        second = submit(small, photo16)
        assert second.status_code == 202 and second.json()["status"] == "queued"
        third = submit(small, photo16)
        assert third.status_code == 429 and third.headers["retry-after"] == "10"
        assert third.json()["error"] == ("the queue of tiny_c1 is full (1 waiting); try again "
                                         "when a job has finished")
        missing = small.get(f"/api/jobs/{first['id']}/files/surgery.png")
        assert missing.status_code == 404
        assert missing.json()["error"] == (f"job {first['id']} has no file 'surgery.png' yet; "
                                           f"its files are none so far")
        gate.set()
        assert wait(small, second.json()["id"])["status"] == "done"
    # the refused job left no folder behind
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == sorted(
        [first["id"], second.json()["id"]])


def test_missing_file_lists_only_files_that_exist(shared_client, photo16):
    job = wait(shared_client, submit(shared_client, photo16, compare="false").json()["id"])
    answer = shared_client.get(f"/api/jobs/{job['id']}/files/secret.txt").json()["error"]
    assert answer == (f"job {job['id']} has no file 'secret.txt'; its files are classical.png, "
                      f"compare.png, observation.png, report.json, surgery.png, truth.png")
    assert "no_surgery.png" in shared_client.get(
        f"/api/jobs/{job['id']}/files/no_surgery.png").json()["error"].split(";")[0]


def test_form_values_sent_as_files_are_refused(shared_client, photo16):
    as_file = shared_client.post("/api/jobs", data=JOB, files={
        "example": ("chelsea", b"chelsea", "text/plain")})
    assert as_file.status_code == 400
    assert as_file.json()["error"] == ("example must be the name of an example photo (a text "
                                       "field, not a file); see /api/examples")
    ratio = shared_client.post("/api/jobs", data={k: v for k, v in JOB.items() if k != "ratio"},
                               files={"image": ("face.png", photo16.read_bytes(), "image/png"),
                                      "ratio": ("ratio.txt", b"0.3", "text/plain")})
    assert ratio.status_code == 400
    assert ratio.json()["error"] == "ratio must be a text field, not a file"


def test_the_minimum_number_of_measurements_is_the_stated_one(catalog):
    check_request(PageRequest("tiny_c1", ratio=0.021), catalog)  # the bound the error states
    check_request(PageRequest("tiny_c1", task="inpaint", keep=0.024), catalog)
    check_request(PageRequest("tiny_c1", task="inpaint", keep=1e-9), catalog, painted=True)
    with pytest.raises(UserInputError, match=r"keep 0.02 keeps 5 of the 256 pixels of this "
                                             r"artifact's images; at least 6 are needed "
                                             r"\(keep ≥ 0.024\)"):
        check_request(PageRequest("tiny_c1", task="inpaint", keep=0.02), catalog)
    check_request(PageRequest("tiny_c1", task="sr"), catalog)


#: (method, path) → the statuses it can answer; every error one is listed with its body.
API_ANSWERS = {
    ("get", "/api/artifacts"): {"200", "500"},
    ("get", "/api/examples"): {"200", "500"},
    ("get", "/api/examples/{name}"): {"200", "404", "500"},
    ("post", "/api/preview"): {"200", "400", "413", "500"},
    ("post", "/api/jobs"): {"202", "400", "413", "429", "500"},
    ("get", "/api/jobs/{job_id}"): {"200", "404", "500"},
    ("delete", "/api/jobs/{job_id}"): {"200", "404", "500"},
    ("get", "/api/jobs/{job_id}/events"): {"200", "404", "500"},
    ("get", "/api/jobs/{job_id}/current.png"): {"200", "404", "500"},
    ("get", "/api/jobs/{job_id}/files/{name}"): {"200", "404", "500"},
}


def test_openapi_lists_every_answer_and_the_form(shared_client):
    schema = shared_client.get("/openapi.json").json()
    listed = {(method, path): set(operation["responses"])
              for path, operations in schema["paths"].items()
              for method, operation in operations.items()}
    assert listed == API_ANSWERS
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                if status[0] in "45":
                    body = answer["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
    form = schema["paths"]["/api/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]
    properties = form["schema"]["properties"]
    assert {"image", "example", "mask", "artifact", "task", "ratio", "keep", "scale", "noise_std",
            "seed", "steps", "restarts", "quality", "compare", "classical"} == set(properties)
    assert properties["quality"]["enum"] == ["fast", "best"]
    assert properties["ratio"] == {"type": "number", "default": 0.1, "exclusiveMinimum": 0,
                                   "maximum": 1, "description": OPTIONS["ratio"].help}
    assert properties["steps"]["maximum"] == MAX_STEPS and "default" not in properties["steps"]
    assert properties["scale"]["enum"] == [2, 4, 8]
    assert properties["task"]["enum"] == ["cs", "inpaint", "sr", "denoise", "deblur"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_preview_is_what_the_job_starts_from(client, photo16, tmp_path):
    fields = {**JOB, "task": "inpaint", "keep": "0.5", "compare": "false", "classical": "false"}
    image = {"image": ("face.png", photo16.read_bytes(), "image/png")}
    shown = client.post("/api/preview", data=fields, files=image)
    assert shown.status_code == 200, shown.text
    shown = shown.json()
    assert shown["image_shape"] == [3, 16, 16] and shown["observation"] == "50 % of pixels kept"
    job = wait(client, client.post("/api/jobs", data=fields, files=image).json()["id"])
    assert job["status"] == "done", job["error"]
    for key in ("truth", "observation"):
        kind, data = shown["images"][key].split(",")
        assert kind == "data:image/png;base64"
        np.testing.assert_array_equal(
            pixels(base64.b64decode(data)),
            pixels(client.get(f"/api/jobs/{job['id']}/files/{key}.png").content))
    keep = np.full((16, 16), 255, dtype=np.uint8)
    keep[:, :4] = 0
    painted = client.post("/api/preview", data=fields, files={
        **image, "mask": ("mask.png", png(keep), "image/png")}).json()
    observation = pixels(base64.b64decode(painted["images"]["observation"].split(",")[1]))
    truth = pixels(base64.b64decode(painted["images"]["truth"].split(",")[1]))
    assert (observation[:, :4] == 128).all()
    np.testing.assert_array_equal(observation[:, 4:], truth[:, 4:])
    refused = client.post("/api/preview", data={**fields, "task": "cs", "ratio": "0.01"},
                          files=image)
    assert refused.status_code == 400 and "at least 16 measurements" in refused.json()["error"]
    # a preview leaves nothing on disk
    assert [p.name for p in (tmp_path / "root").iterdir()] == [job["id"]]


@pytest.mark.parametrize(("task", "options", "method"), [
    ("sr", {"scale": 4}, "bicubic"),
    ("inpaint", {"keep": 0.3}, "interpolation"),
    ("denoise", {"noise_std": 0.1}, "bm3d"),
    ("cs", {"ratio": 0.3}, "tv-cs"),
])
def test_classical_recovery_beats_what_was_observed(photo, task, options, method):
    truth = resize_image(read_image(photo), (32, 32))
    problem = simulated_problem(photo, 0, truth, OperatorOptions(task=task, **options), 0)
    image = classical_recovery(problem, seed=0)
    assert image.shape == truth.shape and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1
    assert psnr(image, truth) > psnr(problem.operator.preview(problem.y), truth) + 1
    assert classical_label(task) == f"classical: {method}"
    if task == "inpaint":  # interpolation passes through every kept pixel
        kept = problem.operator.mask
        np.testing.assert_allclose(image[:, kept], np.clip(problem.y[:, kept], 0, 1),
                                   rtol=0, atol=8 * np.finfo(np.float32).eps)
    from gs.methods import build_method  # the page's column is the registry's answer

    # BM3D's float32 aggregation sums are not in a fixed order from run to run; their
    # rounding grows at most like eps·√n for values in [0, 1] (n: the image's entries).
    np.testing.assert_allclose(image, build_method(method, task=task).solve([problem])[0].image,
                               rtol=0, atol=np.finfo(np.float32).eps * np.sqrt(image.size))


def test_classical_inpainting_of_a_few_pixels_on_a_line(photo):
    from gs.operators.inpainting import RandomInpainting

    keep = np.zeros((8, 8), dtype=bool)
    keep[3, 2] = keep[3, 6] = True  # two pixels: no triangle to interpolate in
    operator = RandomInpainting.from_mask(keep, (3, 8, 8))
    truth = resize_image(read_image(photo), (8, 8))
    image = classical_recovery(Problem(photo, 0, operator, operator.A(truth[None])[0], truth))
    assert np.isfinite(image).all()
    np.testing.assert_allclose(image[:, keep], truth[:, keep], rtol=0,
                               atol=8 * np.finfo(np.float32).eps)


def test_an_onnx_artifact_is_served_like_a_torchscript_one(onnx_c2, tmp_path, photo16):
    onnx_catalog = Catalog.load([onnx_c2], device="cpu")
    (served,) = onnx_catalog.describe()
    assert served["id"] == "tiny_c2" and served["file"] == "tiny_c2.onnx"
    with serve(onnx_catalog, tmp_path / "root") as onnx_client:
        response = submit(onnx_client, photo16, artifact="tiny_c2")
        assert response.status_code == 202, response.text
        job = wait(onnx_client, response.json()["id"])
    assert job["status"] == "done", job["error"]
    assert [c["key"] for c in job["result"]["columns"]] == ["classical", "surgery"]
    assert job["trace"] and all(key == "surgery" for key, _, _, _ in job["trace"])


@pytest.fixture(scope="module")
def mnist_artifacts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The shipped mnist-dcgan served by name: exported at its recommended cut and c = 0."""
    from gs.serve.cli import pretrained_artifacts

    return pretrained_artifacts(["mnist-dcgan"], tmp_path_factory.mktemp("artifact-cache"))


def test_each_artifact_offers_its_own_domains_examples(mnist_artifacts, tiny_artifacts,
                                                        tmp_path):
    from gs.serve.catalog import EXAMPLES_DIR

    shipped = json.loads((EXAMPLES_DIR / "mnist-dcgan" / "source.json").read_text())
    assert shipped["dataset"] == "mnist" and shipped["split"] == "test"
    digits = [f"mnist-dcgan-{index:05d}" for index in shipped["indices"]]
    cut = f"mnist-dcgan_c{get_pretrained('mnist-dcgan').cut}"
    assert len(digits) == 8
    catalog = Catalog.load([*mnist_artifacts, tiny_artifacts[1], tiny_artifacts[0]])
    described = {a["id"]: a for a in catalog.describe()}
    assert [path.name for path in mnist_artifacts] == [f"{cut}.pt", "mnist-dcgan_c0.pt"]
    assert described[cut]["no_surgery"] == "mnist-dcgan_c0"
    assert described[cut]["examples"] == described["mnist-dcgan_c0"]["examples"]
    assert described[cut]["examples"] == digits
    assert "astronaut" in described["tiny_c1"]["examples"]
    assert not set(digits) & set(described["tiny_c1"]["examples"])
    with serve(catalog, tmp_path / "root") as client:
        names = client.get("/api/examples").json()["examples"]
        assert set(digits) | {"astronaut"} <= set(names)
        digit = client.get(f"/api/examples/{digits[0]}")
        assert digit.status_code == 200 and pixels(digit.content).shape == (28, 28)
        response = client.post("/api/jobs", data={
            **JOB, "artifact": cut, "example": digits[0], "ratio": "0.1", "steps": "2",
            "compare": "true"})
        assert response.status_code == 202, response.text
        job = wait(client, response.json()["id"])
    assert job["status"] == "done", job["error"]
    assert [c["key"] for c in job["result"]["columns"]] == ["classical", "no_surgery",
                                                             "surgery"]


def test_gs_serve_pretrained_exports_once_into_its_cache(tmp_path, monkeypatch):
    from gs.serve.cli import main as serve_cli

    cut = get_pretrained("mnist-dcgan").cut
    calls = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.update(app=app, **kw))
    args = ["--pretrained", "mnist-dcgan", "--cache-dir", str(tmp_path / "cache"), "--port", "0"]
    first = CliRunner().invoke(serve_cli, args)
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["mnist-dcgan_c0.pt",
                                                                     f"mnist-dcgan_c{cut}.pt"]
    assert f"exporting mnist-dcgan at cut {cut}" in first.output and "2 artifact(s)" in first.output
    catalog = calls["app"].state.board.catalog
    assert catalog.get(f"mnist-dcgan_c{cut}").pretrained == "mnist-dcgan"
    again = CliRunner().invoke(serve_cli, args)
    assert again.exit_code == 0 and "exporting" not in again.output
    unknown = CliRunner().invoke(serve_cli, ["--pretrained", "mnist-gan", "--cache-dir",
                                             str(tmp_path / "cache"), "--port", "0"])
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output
    assert "'mnist-gan' is not a pretrained generator" in unknown.output
    assert "mnist-dcgan" in unknown.output
