"""A job's inputs off its form: the request, and the photo (uploaded or an example) and
painted mask written into the job's folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.datastructures import UploadFile

from gs.errors import UserInputError
from gs.operators import get_task
from gs.serve.catalog import Catalog
from gs.serve.forms import read_form, request_from_form, save_image
from gs.serve.page_request import PageRequest, check_request


@dataclass(frozen=True)
class JobInputs:
    """What a job or a preview runs on.

    Attributes:
        request: the form's fields, checked against the catalog.
        upload: the photo's file in the job's folder.
        mask: the painted mask's file (white = kept), or None.
        source: what the photo was (``uploaded photo``, ``example: NAME``).
    """

    request: PageRequest
    upload: Path
    mask: Path | None
    source: str


async def read_job_inputs(request: Request, folder: Path, catalog: Catalog,
                          examples: dict[str, bytes], max_bytes: int,
                          max_upload_mb: float) -> JobInputs:
    """The form of a job or preview, its photo and mask written into ``folder``.

    Args:
        request: the HTTP request (multipart or url-encoded form).
        folder: the job's folder; ``upload`` and ``mask_upload`` are written there.
        catalog: the served artifacts the request is checked against.
        examples: example images by name (PNG bytes), for the ``example`` field.
        max_bytes, max_upload_mb: the body's limit, in bytes and as the message says it.

    Raises:
        UserInputError: a bad field, photo or mask (one sentence naming it).
    """
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
    return JobInputs(page_request, upload, mask_path, source)
