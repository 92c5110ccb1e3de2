"""The FastAPI application: the page, its static files and the JSON API.

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
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

import gs.io
from gs.errors import UserInputError
from gs.operators import get_task
from gs.serve.catalog import Catalog
from gs.serve.forms import (
    UploadTooLarge,
    form_body,
    read_form,
    request_from_form,
    save_image,
)
from gs.serve.page_jobs import column_plan, preview
from gs.serve.page_request import (
    MAX_RESTARTS,
    MAX_STEPS,
    MIN_MEASUREMENTS,
    PAGE_TASKS,
    PageRequest,
    check_request,
)
from gs.serve.queue import FINISHED, Job, JobBoard, JobNotFound, QueueFull

STATIC = Path(__file__).parent / "static"
#: Files every job may hand out besides its columns' ``<key>.png``.
JOB_FILES = ("truth.png", "observation.png", "mask.png", "compare.png", "report.json")
#: Seconds a client is asked to wait after a 429 (a short job's duration).
RETRY_AFTER_S = 10
#: Seconds an event stream waits for a change before it sends a keep-alive comment
#: (and notices a client that has gone).
KEEPALIVE_S = 5.0


class ErrorBody(BaseModel):
    """Every error answer: one sentence that says what was wrong and what is expected."""

    error: str


#: What each error status means, for the OpenAPI schema.
ERROR_MEANINGS = {
    400: "a bad request: a field, photo or mask the server cannot use (one sentence says which)",
    404: "no such job, example or file (finished jobs are kept for a while)",
    413: "the request body is over the server's upload limit",
    429: "this artifact's queue is full; try again when a job has finished",
    500: "the server failed on this request (a bug; the log has the traceback)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses=`` entries for ``codes`` (500 is always possible)."""
    return {code: {"model": ErrorBody, "description": ERROR_MEANINGS[code]}
            for code in sorted({*codes, 500})}


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

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(UserInputError)
    async def user_error(request: Request, exc: UserInputError) -> JSONResponse:
        if isinstance(exc, QueueFull):
            return error(429, str(exc), {"Retry-After": str(RETRY_AFTER_S)})
        return error(413 if isinstance(exc, UploadTooLarge) else 400, str(exc))

    @app.exception_handler(JobNotFound)
    async def no_job(request: Request, exc: JobNotFound) -> JSONResponse:
        return error(404, f"there is no job {exc.args[0]!r} (finished jobs are kept for a while)")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error(400, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        return error(500, f"the server failed on this request ({type(exc).__name__})")

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
                "limits": {"max_upload_bytes": max_bytes, "max_pixels": gs.io.MAX_IMAGE_PIXELS,
                           "max_steps": MAX_STEPS, "max_restarts": MAX_RESTARTS,
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

    async def read_inputs(request: Request, folder: Path) -> tuple[PageRequest, Path, Path | None,
                                                                   str]:
        """The form of a job or preview, its photo and mask written into ``folder``."""
        form = await read_form(request, max_bytes, max_upload_mb)
        page_request = request_from_form(form)
        mask = form.get("mask")
        painted = isinstance(mask, UploadFile) and bool(mask.filename)
        check_request(page_request, catalog, painted=painted)
        upload = folder / "upload"
        image, chosen = form.get("image"), form.get("example")
        has_image = isinstance(image, UploadFile) and bool(image.filename)
        if isinstance(chosen, UploadFile):
            raise UserInputError("example must be the name of an example photo (a text field, "
                                 "not a file); see /api/examples")
        if has_image and chosen:
            raise UserInputError("give either image (an uploaded photo) or example (a name), "
                                 "not both")
        if has_image:
            save_image(await image.read(), upload, "image")
            source = "uploaded photo"
        elif chosen:
            name = str(chosen)
            if name not in examples:
                raise UserInputError(f"example must be one of {', '.join(sorted(examples))}, "
                                     f"got {name!r}")
            upload.write_bytes(examples[name])
            source = f"example: {name}"
        else:
            raise UserInputError("image: upload a photo or choose an example")
        mask_path = None
        if painted:
            if get_task(page_request.task).observation != "masked":
                raise UserInputError("mask is only used by the inpaint task")
            mask_path = folder / "mask_upload"
            save_image(await mask.read(), mask_path, "mask")
        return page_request, upload, mask_path, source

    @app.post("/api/preview", responses=errors(400, 413),
              openapi_extra={"requestBody": form_body(sorted(examples))})
    async def preview_job(request: Request) -> dict[str, Any]:
        """What a job with this form would start from, without running it: ``image_shape``,
        ``observation`` (its caption) and ``images`` (``truth``: the photo centre-cropped
        and resized to the artifact, ``observation``: what the job observes), PNG data URLs."""
        _, folder = board.new_folder(prefix="preview-")
        try:
            page_request, upload, mask, _ = await read_inputs(request, folder)
            shown = await run_in_threadpool(preview, page_request, catalog, upload, mask)
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
            page_request, upload, mask, source = await read_inputs(request, folder)
            job = board.submit(Job(job_id, page_request, folder, upload, mask,
                                   plan=column_plan(page_request, catalog), source=source))
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

        async def stream() -> AsyncGenerator[str, None]:
            seen = -1
            while True:
                if job.version != seen:
                    seen = job.version
                    data = json.dumps(job.snapshot(board.position(job)))
                    yield f"event: {job.status}\ndata: {data}\n\n"
                    if job.status in FINISHED:
                        return
                elif await request.is_disconnected() or board.closed:
                    return
                else:  # a comment line keeps proxies from closing a quiet stream
                    yield ": keep-alive\n\n"
                await run_in_threadpool(board.wait_for_change, job, seen, KEEPALIVE_S)

        return StreamingResponse(stream(), media_type="text/event-stream",
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

    def openapi() -> dict[str, Any]:
        # Validation errors answer 400 (see bad_request), never FastAPI's default 422.
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 routes=app.routes)
            for operations in schema["paths"].values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for unused in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _job_files(job: Job) -> dict[str, Path]:
    """The files ``job`` has now, by the name the API gives them."""
    names = [*JOB_FILES, *(f"{column['key']}.png" for column in job.plan)]
    files = {name: job.folder / name for name in names}
    return {name: path for name, path in files.items() if path.is_file()}


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
