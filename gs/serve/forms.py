"""A job's form as it arrives over HTTP: size caps, each field read as its type, the
uploaded images checked before they are kept, and the form's OpenAPI description."""

from __future__ import annotations

import io
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

import gs.io.files
import gs.io.images
from gs.errors import UserInputError
from gs.params import declared_params
from gs.serve.page_request import PageRequest


class UploadTooLarge(UserInputError):
    """The request body is over the server's upload limit."""


class InMemoryParser(MultiPartParser):
    """Starlette's multipart parser, keeping files in memory (the body is size-capped)."""

    spool_max_size = 1 << 62


def form_body(examples: list[str]) -> dict[str, Any]:
    """The OpenAPI description of a job's form (the handlers read it themselves); the
    request's fields as :class:`PageRequest` declares them."""
    properties: dict[str, Any] = {
        "image": {"type": "string", "format": "binary", "description": "the photo"},
        "example": {"type": "string", "enum": examples,
                    "description": "an example photo instead of image"},
        "mask": {"type": "string", "format": "binary",
                 "description": "inpaint: white = kept pixel, black = missing"},
    }
    for declared in declared_params(PageRequest).values():
        properties[declared.name] = declared.json_schema()
    schema = {"type": "object", "required": ["artifact"], "properties": properties}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema},
                                          "application/x-www-form-urlencoded": {"schema": schema}}}


async def read_form(request: Request, max_bytes: int, limit_mb: float) -> Any:
    """The form, refusing bodies over ``max_bytes`` (``limit_mb`` MiB) before and while reading."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise UploadTooLarge(f"the upload is {int(declared) / 1024 / 1024:.3g} MB; this server "
                             f"accepts at most {limit_mb:g} MB")
    content_type = request.headers.get("content-type", "")
    multipart = content_type.startswith("multipart/form-data")
    if not multipart and not content_type.startswith("application/x-www-form-urlencoded"):
        raise UserInputError(f"{request.url.path} takes a multipart/form-data form "
                             f"(image, task, ...)")

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
    parser = InMemoryParser(request.headers, capped(), max_files=2, max_fields=32,
                             max_part_size=64 * 1024)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise UserInputError(f"the form could not be read: {exc.message}") from None


#: How a value of each field type is described when it cannot be read.
_EXPECTED = {"bool": "true or false", "int": "an integer", "float": "a number"}


def request_from_form(form: Any) -> PageRequest:
    """Form fields → :class:`PageRequest`, each value converted to its field's type."""
    values: dict[str, Any] = {}
    for spec in declared_params(PageRequest).values():
        raw = form.get(spec.name)
        if isinstance(raw, UploadFile):
            raise UserInputError(f"{spec.name} must be a text field, not a file")
        if raw is None or str(raw).strip() == "":
            continue
        text = str(raw).strip()
        kind = spec.type.__name__
        try:
            if kind == "bool":
                if text.lower() not in ("true", "false", "1", "0", "on", "off"):
                    raise ValueError
                values[spec.name] = text.lower() in ("true", "1", "on")
            elif kind == "int":
                values[spec.name] = int(text)
            elif kind == "float":
                value = float(text)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError
                values[spec.name] = value
            else:
                values[spec.name] = text
        except ValueError:
            raise UserInputError(f"{spec.name} must be {_EXPECTED[kind]}, got {text!r}") from None
    if "artifact" not in values:
        raise UserInputError("artifact: choose one of the served artifacts (GET /api/artifacts)")
    return PageRequest(**values)


def save_image(data: bytes, path: Path, field_name: str) -> None:
    """Check that ``data`` is a decodable image of sane size, then write it to ``path``."""
    from PIL import Image

    if not data:
        raise UserInputError(f"{field_name}: the uploaded file is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > gs.io.images.MAX_IMAGE_PIXELS:
                raise UserInputError(
                    f"{field_name}: the photo is {width}x{height} pixels; at most "
                    f"{gs.io.images.MAX_IMAGE_PIXELS:,} pixels are accepted")
            img.load()
    except UserInputError:
        raise
    except Exception:
        raise UserInputError(f"{field_name}: the uploaded file is not an image "
                             f"(png, jpg, webp...)") from None
    gs.io.files.atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=True,
                             field=field_name)
