"""The FastAPI application: the page, its static files and the JSON API's routes.

API (every error is JSON ``{"error": "<one sentence>"}`` with a 4xx status, listed per
call in the OpenAPI schema at ``/openapi.json``):

* ``GET  /api/artifacts``          served artifacts (each with its examples' names), tasks
  and limits
* ``GET  /api/examples``           every example image's name; ``/api/examples/{name}`` the PNG
* ``POST /api/preview``            the same form as a job → what the job would start from:
  the photo at the artifact's size and the observation (PNG data URLs)
* ``POST /api/jobs``               multipart form: ``image`` (file) or ``example``, optional
  ``mask`` (file, white = kept), and the fields of :class:`PageRequest` → 202 + the job
  (a url-encoded form does for an ``example`` job); 429 when the queue is full
* ``GET  /api/jobs/{id}``          status, plan, progress, result (poll)
* ``GET  /api/jobs/{id}/events``   the same as server-sent events, until the job ends
* ``GET  /api/jobs/{id}/current.png``   the best current image while it runs
* ``GET  /api/jobs/{id}/files/{name}``  truth.png, observation.png, mask.png,
  classical.png, no_surgery.png, surgery.png, compare.png, report.json
* ``DELETE /api/jobs/{id}``        cancel

The error shape lives in :mod:`gs.serve.errors`, the event stream in
:mod:`gs.serve.events`, a job's photo and mask off its form in :mod:`gs.serve.uploads`.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

import gs.io.images
from gs.serve.catalog import Catalog
from gs.serve.errors import error, errors, handle_errors
from gs.serve.events import job_events
from gs.serve.forms import form_body
from gs.serve.job import FINISHED, Job
from gs.serve.page_jobs import column_plan, preview
from gs.serve.page_request import MAX_RESTARTS, MAX_STEPS, MIN_MEASUREMENTS, PAGE_TASKS
from gs.serve.queue import JobBoard
from gs.serve.uploads import read_job_inputs

STATIC = Path(__file__).parent / "static"
#: Files every job may hand out besides its columns' ``<key>.png``.
JOB_FILES = ("truth.png", "observation.png", "mask.png", "compare.png", "report.json")


def create_app(catalog: Catalog, root: Path | None = None, max_upload_mb: float = 10.0,
               max_queued: int = 8) -> FastAPI:
    """The server for ``catalog``; job files go under ``root`` (a new temp dir if None)."""
    owns_root = root is None
    # A server of its own makes its temp folder at startup (not at construction), so an
    # app that is never started leaves nothing behind.
    board = JobBoard(catalog, None if root is None else Path(root), max_queued=max_queued)
    max_bytes = int(max_upload_mb * 1024 * 1024)
    examples = catalog.example_images()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
        if owns_root:
            board.root = Path(tempfile.mkdtemp(prefix="gs-serve-"))
        try:
            yield
        finally:
            board.close()
            if owns_root:
                shutil.rmtree(board.root, ignore_errors=True)

    # No Swagger/ReDoc pages: they load scripts from a CDN, and this page stays offline.
    app = FastAPI(title="gs-serve", summary="Generator Surgery: recover an image with a cut "
                  "generator artifact", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.board = board

    handle_errors(app)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/artifacts", responses=errors())
    async def artifacts() -> dict[str, Any]:
        """The served artifacts, the page's tasks and the server's limits."""
        return {"artifacts": catalog.describe(), "tasks": list(PAGE_TASKS),
                "limits": {"max_upload_bytes": max_bytes,
                           "max_pixels": gs.io.images.MAX_IMAGE_PIXELS, "max_steps": MAX_STEPS,
                           "max_restarts": MAX_RESTARTS,
                           "min_measurements": MIN_MEASUREMENTS}}

    @app.get("/api/examples", responses=errors())
    async def example_list() -> dict[str, list[str]]:
        """The names of every artifact's example images."""
        return {"examples": sorted(examples)}

    @app.get("/api/examples/{name}", responses={200: {"content": {"image/png": {}}},
                                                **errors(404)})
    async def example(name: str) -> Response:
        """One example image as a PNG: a 256 px photo, or a test image of a pretrained
        generator's domain at the dataset's size."""
        if name.removesuffix(".png") not in examples:
            return error(404, f"there is no example {name!r}; see /api/examples")
        return Response(examples[name.removesuffix(".png")], media_type="image/png")

    @app.post("/api/preview", responses=errors(400, 413),
              openapi_extra={"requestBody": form_body(sorted(examples))})
    async def preview_job(request: Request) -> dict[str, Any]:
        """What a job with this form would start from, without running it: ``image_shape``,
        ``observation`` (its caption) and ``images`` (``truth``: the photo centre-cropped
        and resized to the artifact, ``observation``: what the job observes), PNG data URLs."""
        _, folder = board.new_folder(prefix="preview-")
        try:
            inputs = await read_job_inputs(request, folder, catalog, examples, max_bytes,
                                           max_upload_mb)
            shown = await run_in_threadpool(preview, inputs.request, catalog, inputs.upload,
                                            inputs.mask)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return {"image_shape": shown["image_shape"], "observation": shown["observation"],
                "images": {key: _data_url(shown[f"{key}_png"])
                           for key in ("truth", "observation")}}

    @app.post("/api/jobs", status_code=202, responses={
        202: {"description": "the job, as GET /api/jobs/{job_id} returns it"},
        **errors(400, 413, 429)}, openapi_extra={"requestBody": form_body(sorted(examples))})
    async def submit(request: Request) -> JSONResponse:
        """Queue a job; follow it with ``/api/jobs/{job_id}`` or its ``/events``."""
        job_id, folder = board.new_folder()
        try:
            inputs = await read_job_inputs(request, folder, catalog, examples, max_bytes,
                                           max_upload_mb)
            job = board.submit(Job(job_id, inputs.request, folder, inputs.upload, inputs.mask,
                                   plan=column_plan(inputs.request, catalog),
                                   source=inputs.source))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return JSONResponse(job.snapshot(board.position(job)), status_code=202)

    @app.get("/api/jobs/{job_id}", responses=errors(404))
    async def status(job_id: str) -> dict[str, Any]:
        """The job: status, plan, progress, trace, result."""
        job = board.get(job_id)
        return job.snapshot(board.position(job))

    @app.delete("/api/jobs/{job_id}", responses=errors(404))
    async def cancel(job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (a finished one is left as it is)."""
        job = board.cancel(job_id)
        return job.snapshot(board.position(job))

    @app.get("/api/jobs/{job_id}/events", responses={
        200: {"content": {"text/event-stream": {}}}, **errors(404)})
    async def events(job_id: str, request: Request) -> StreamingResponse:
        """The job as server-sent events (event name = status), one per change, until it ends."""
        job = board.get(job_id)

        return StreamingResponse(job_events(board, job, request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @app.get("/api/jobs/{job_id}/current.png", responses={
        200: {"content": {"image/png": {}}}, **errors(404)})
    async def current(job_id: str) -> Response:
        """The running column's best image now."""
        job = board.get(job_id)
        if job.current_png is None:
            return error(404, f"job {job_id} has no current image yet")
        return Response(job.current_png, media_type="image/png",
                        headers={"Cache-Control": "no-store"})

    @app.get("/api/jobs/{job_id}/files/{name}", responses={
        200: {"content": {"image/png": {}, "application/json": {}}}, **errors(404)})
    async def job_file(job_id: str, name: str) -> Response:
        """A file of the job (see the module's list)."""
        job = board.get(job_id)
        files = _job_files(job)
        if name not in files:
            yet = "" if job.status in FINISHED else " yet"
            return error(404, f"job {job_id} has no file {name!r}{yet}; its files are "
                              f"{', '.join(sorted(files)) or 'none so far'}")
        media = "application/json" if name.endswith(".json") else "image/png"
        return FileResponse(files[name], media_type=media, filename=f"gs_{job_id}_{name}")

    return app


def _job_files(job: Job) -> dict[str, Path]:
    """The files ``job`` has now, by the name the API gives them."""
    names = [*JOB_FILES, *(f"{column['key']}.png" for column in job.plan)]
    files = {name: job.folder / name for name in names}
    return {name: path for name, path in files.items() if path.is_file()}


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
