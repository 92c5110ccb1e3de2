"""The FastAPI application: the page, its static files and the JSON API.

API (every error is JSON ``{"error": "<one sentence>"}`` with a 4xx status):

* ``GET  /api/artifacts``          served artifacts, tasks and limits
* ``GET  /api/examples``           example photo names; ``/api/examples/{name}`` the PNG
* ``POST /api/jobs``               multipart form: ``image`` (file) or ``example``, optional
  ``mask`` (file, white = kept), and the fields of :class:`PageRequest` → 202 + the job
  (a url-encoded form does for an ``example`` job)
* ``GET  /api/jobs/{id}``          status, progress, result (poll)
* ``GET  /api/jobs/{id}/events``   the same as server-sent events, until the job ends
* ``GET  /api/jobs/{id}/current.png``   the best current image while it runs
* ``GET  /api/jobs/{id}/files/{name}``  truth.png, observation.png, mask.png,
  no_surgery.png, surgery.png, compare.png, report.json
* ``DELETE /api/jobs/{id}``        cancel
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

import gs.io
from gs.errors import UserInputError
from gs.operators import get_task
from gs.serve.catalog import Catalog, example_photos
from gs.serve.queue import FINISHED, Job, JobBoard, JobNotFound
from gs.serve.runner import MAX_RESTARTS, MAX_STEPS, PAGE_TASKS, PageRequest

STATIC = Path(__file__).parent / "static"
#: Files a job may hand out, by API name → name inside the job folder.
JOB_FILES = {"truth.png": "truth.png", "observation.png": "observation.png",
             "mask.png": "mask.png", "compare.png": "compare.png", "report.json": "report.json"}


class UploadTooLarge(UserInputError):
    """The request body is over the server's upload limit."""


class _InMemoryParser(MultiPartParser):
    """Starlette's multipart parser, keeping files in memory (the body is size-capped)."""

    spool_max_size = 1 << 62


def create_app(catalog: Catalog, root: Path | None = None, max_upload_mb: float = 10.0,
               max_queued: int = 8) -> FastAPI:
    """The server for ``catalog``; job files go under ``root`` (a new temp dir if None)."""
    owns_root = root is None
    # A server of its own makes its temp folder at startup (not at construction), so an
    # app that is never started leaves nothing behind.
    board = JobBoard(catalog, None if root is None else Path(root), max_queued=max_queued)
    max_bytes = int(max_upload_mb * 1024 * 1024)
    examples = example_photos()

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

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(UserInputError)
    async def user_error(request: Request, exc: UserInputError) -> JSONResponse:
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

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/artifacts")
    async def artifacts() -> dict[str, Any]:
        return {"artifacts": catalog.describe(), "tasks": list(PAGE_TASKS),
                "limits": {"max_upload_bytes": max_bytes, "max_pixels": gs.io.MAX_IMAGE_PIXELS,
                           "max_steps": MAX_STEPS, "max_restarts": MAX_RESTARTS}}

    @app.get("/api/examples")
    async def example_list() -> dict[str, list[str]]:
        return {"examples": sorted(examples)}

    @app.get("/api/examples/{name}")
    async def example(name: str) -> Response:
        if name.removesuffix(".png") not in examples:
            return error(404, f"there is no example {name!r}; see /api/examples")
        return Response(examples[name.removesuffix(".png")], media_type="image/png")

    @app.post("/api/jobs", status_code=202)
    async def submit(request: Request) -> JSONResponse:
        form = await _read_form(request, max_bytes, max_upload_mb)
        page_request = _page_request(form)
        job_id, folder = board.new_folder()
        try:
            upload = folder / "upload"
            image = form.get("image")
            if isinstance(image, UploadFile) and image.filename:
                _save_image(await image.read(), upload, "image")
            elif form.get("example"):
                name = str(form["example"])
                if name not in examples:
                    raise UserInputError(f"example must be one of {', '.join(sorted(examples))}, "
                                         f"got {name!r}")
                upload.write_bytes(examples[name])
            else:
                raise UserInputError("image: upload a photo or choose an example")
            mask = form.get("mask")
            mask_path = None
            if isinstance(mask, UploadFile) and mask.filename:
                if get_task(page_request.task).observation != "masked":
                    raise UserInputError("mask is only used by the inpaint task")
                mask_path = folder / "mask_upload"
                _save_image(await mask.read(), mask_path, "mask")
            job = board.submit(Job(job_id, page_request, folder, upload, mask_path))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return JSONResponse(job.snapshot(board.position(job)), status_code=202)

    @app.get("/api/jobs/{job_id}")
    async def status(job_id: str) -> dict[str, Any]:
        job = board.get(job_id)
        return job.snapshot(board.position(job))

    @app.delete("/api/jobs/{job_id}")
    async def cancel(job_id: str) -> dict[str, Any]:
        job = board.cancel(job_id)
        return job.snapshot(board.position(job))

    @app.get("/api/jobs/{job_id}/events")
    async def events(job_id: str, request: Request) -> StreamingResponse:
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
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.1)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @app.get("/api/jobs/{job_id}/current.png")
    async def current(job_id: str) -> Response:
        job = board.get(job_id)
        if job.current_png is None:
            return error(404, f"job {job_id} has no current image yet")
        return Response(job.current_png, media_type="image/png",
                        headers={"Cache-Control": "no-store"})

    @app.get("/api/jobs/{job_id}/files/{name}")
    async def job_file(job_id: str, name: str) -> Response:
        job = board.get(job_id)
        path = _job_file(job, name)
        if path is None or not path.is_file():
            return error(404, f"job {job_id} has no file {name!r} (yet); its files are "
                              f"{', '.join(sorted(JOB_FILES) + ['no_surgery.png', 'surgery.png'])}")
        media = "application/json" if name.endswith(".json") else "image/png"
        return FileResponse(path, media_type=media,
                            filename=f"gs_{job_id}_{name}" if name != "current.png" else None)

    return app


def _job_file(job: Job, name: str) -> Path | None:
    if name in JOB_FILES:
        return job.folder / JOB_FILES[name]
    if job.result is not None and name.endswith(".png"):
        for column in job.result["columns"]:
            if name == f"{column['key']}.png":
                output = Path(column["job"]["images"][0]["output"])
                return output if output.parent.parent == job.folder else None
    return None


async def _read_form(request: Request, max_bytes: int, limit_mb: float) -> Any:
    """The form, refusing bodies over ``max_bytes`` (``limit_mb`` MiB) before and while reading."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise UploadTooLarge(f"the upload is {int(declared) / 1024 / 1024:.3g} MB; this server "
                             f"accepts at most {limit_mb:g} MB")
    content_type = request.headers.get("content-type", "")
    multipart = content_type.startswith("multipart/form-data")
    if not multipart and not content_type.startswith("application/x-www-form-urlencoded"):
        raise UserInputError("POST /api/jobs takes a multipart/form-data form (image, task, ...)")

    async def capped() -> AsyncGenerator[bytes, None]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_bytes:
                raise UploadTooLarge(f"the upload is over {limit_mb:g} MB, the most this "
                                     f"server accepts")
            yield chunk

    if not multipart:
        return await FormParser(request.headers, capped()).parse()
    parser = _InMemoryParser(request.headers, capped(), max_files=2, max_fields=32,
                             max_part_size=64 * 1024)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise UserInputError(f"the form could not be read: {exc.message}") from None


def _page_request(form: Any) -> PageRequest:
    """Form fields → :class:`PageRequest`, each value converted to its field's type."""
    values: dict[str, Any] = {}
    for spec in fields(PageRequest):
        raw = form.get(spec.name)
        if raw is None or isinstance(raw, UploadFile) or str(raw).strip() == "":
            continue
        text = str(raw).strip()
        kind = str(spec.type)
        try:
            if "bool" in kind:
                if text.lower() not in ("true", "false", "1", "0", "on", "off"):
                    raise ValueError
                values[spec.name] = text.lower() in ("true", "1", "on")
            elif "int" in kind:
                values[spec.name] = int(text)
            elif "float" in kind:
                value = float(text)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError
                values[spec.name] = value
            else:
                values[spec.name] = text
        except ValueError:
            expected = kind.split(" ")[0].replace("|", "").strip()
            raise UserInputError(f"{spec.name} must be a {expected}, got {text!r}") from None
    if "artifact" not in values:
        raise UserInputError("artifact: choose one of the served artifacts (GET /api/artifacts)")
    return PageRequest(**values)


def _save_image(data: bytes, path: Path, field_name: str) -> None:
    """Check that ``data`` is a decodable image of sane size, then write it to ``path``."""
    import io

    from PIL import Image

    if not data:
        raise UserInputError(f"{field_name}: the uploaded file is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > gs.io.MAX_IMAGE_PIXELS:
                raise UserInputError(
                    f"{field_name}: the photo is {width}x{height} pixels; at most "
                    f"{gs.io.MAX_IMAGE_PIXELS:,} pixels are accepted")
            img.load()
    except UserInputError:
        raise
    except Exception:
        raise UserInputError(f"{field_name}: the uploaded file is not an image "
                             f"(png, jpg, webp...)") from None
    gs.io.atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=True, field=field_name)
