"""Loading a damaged or wrong artifact fails with one sentence naming the file, in both
formats: one ladder of cases, each format saying how to break its own file."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import pytest

from gs import artifact as gs_artifact
from gs import onnx_runtime
from gs.errors import UserInputError


def _rewrite_torchscript(source: Path, target: Path, meta: dict | None) -> Path:
    """``source`` with its gs.json replaced by ``meta`` (None: an empty gs.json)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("extra/gs.json"):
                data = b"" if meta is None else json.dumps(meta).encode()
            dst.writestr(item, data)
    return target


def _rewrite_onnx(source: Path, target: Path, meta: dict | None) -> Path:
    """``source`` with its gs metadata replaced by ``meta`` (None: none at all)."""
    proto = onnx.load(str(source))
    del proto.metadata_props[:]
    if meta is not None:
        entry = proto.metadata_props.add()
        entry.key, entry.value = "gs", json.dumps(meta)
    onnx.save_model(proto, str(target))
    return target


def _read_torchscript(path: Path) -> dict:
    with zipfile.ZipFile(path) as src:
        name = next(n for n in src.namelist() if n.endswith("extra/gs.json"))
        return json.loads(src.read(name))


def _read_onnx(path: Path) -> dict:
    return json.loads(next(p.value for p in onnx.load(str(path)).metadata_props
                           if p.key == "gs"))


@dataclass(frozen=True)
class Format:
    load: Callable[..., Any]
    suffix: str
    unreadable: str
    other_file: str
    other_file_error: str
    no_metadata: str
    read_metadata: Callable[[Path], dict]
    rewrite: Callable[[Path, Path, dict | None], Path]


FORMATS = {
    "torchscript": Format(gs_artifact.load, ".pt", "is not a readable TorchScript artifact",
                          "model.bin", "must end in .pt", "carries no gs.json metadata",
                          _read_torchscript, _rewrite_torchscript),
    "onnx": Format(lambda path: onnx_runtime.load(path, providers=["CPUExecutionProvider"]),
                   ".onnx", "is not a readable ONNX model", "a.pt", "not an .onnx artifact",
                   "carries no gs metadata", _read_onnx, _rewrite_onnx),
}


@pytest.fixture
def good(request, tiny_artifacts, onnx_c2) -> Path:
    return {"torchscript": tiny_artifacts[2], "onnx": onnx_c2}[request.param]


@pytest.mark.parametrize("fmt, good", [(name, name) for name in FORMATS], indirect=["good"])
def test_unreadable_and_invalid_artifacts_fail_with_one_sentence(fmt, good, tmp_path):
    spec = FORMATS[fmt]
    junk = tmp_path / f"junk{spec.suffix}"
    junk.write_bytes(b"\x01\x02garbage")
    with pytest.raises(UserInputError, match=f"junk{spec.suffix} {spec.unreadable}"):
        spec.load(junk)
    with pytest.raises(UserInputError, match=spec.other_file_error):
        spec.load(tmp_path / spec.other_file)
    with pytest.raises(UserInputError, match="does not exist"):
        spec.load(tmp_path / f"missing{spec.suffix}")
    with pytest.raises(UserInputError, match=spec.no_metadata):
        spec.load(spec.rewrite(good, tmp_path / f"bare{spec.suffix}", None))
    with pytest.raises(UserInputError, match="invalid gs.json metadata"):
        spec.load(spec.rewrite(good, tmp_path / f"old{spec.suffix}", {"format_version": 1}))
    meta = spec.read_metadata(good)
    meta["latents"] = meta["latents"][:1]
    with pytest.raises(UserInputError, match="invalid gs.json metadata: latents must describe"):
        spec.load(spec.rewrite(good, tmp_path / f"tampered{spec.suffix}", meta))


def test_an_onnx_artifact_is_refused_by_the_torch_loader(onnx_c2):
    with pytest.raises(UserInputError, match="load it with gs.onnx_runtime"):
        gs_artifact.load(onnx_c2)
