"""Artifacts from strangers, in both formats: each bad file is refused with one sentence."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gs import ARTIFACT_FORMAT_VERSION
from gs import artifacts as gs_artifact
from gs.artifacts import Artifact, torchscript
from gs.artifacts import onnx as onnx_runtime
from gs.errors import UserInputError
from gs.export import export_artifact

FORMATS = ("pt", "onnx")


@pytest.fixture(scope="module")
def artifacts(tiny_weights, tiny_artifacts, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    return {"pt": tiny_artifacts[1],
            "onnx": export_artifact(tiny_weights, folder / "tiny_c1.onnx", cut=1, model="dcgan")}


def load_any(path: Path) -> Artifact:
    return gs_artifact.load(path, device="cpu")


def rewrite_metadata(source: Path, target: Path, change: Callable[[dict], dict | None]) -> Path:
    """Copy artifact ``source`` to ``target`` with its gs.json replaced by ``change(meta)``.

    ``change`` returning ``None`` removes the metadata.
    """
    if source.suffix == ".onnx":
        import onnx

        proto = onnx.load(str(source))
        entry = next(p for p in proto.metadata_props if p.key == "gs")
        meta = change(json.loads(entry.value))
        props = [p for p in proto.metadata_props if p.key != "gs"]
        del proto.metadata_props[:]
        proto.metadata_props.extend(props)
        if meta is not None:
            added = proto.metadata_props.add()
            added.key, added.value = "gs", json.dumps(meta)
        onnx.save_model(proto, str(target))
        return target
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("extra/gs.json"):
                meta = change(json.loads(data))
                data = b"" if meta is None else json.dumps(meta).encode()
            dst.writestr(item, data)
    return target


def refused(path: Path, *fragments: str) -> None:
    with pytest.raises(UserInputError) as info:
        load_any(path)
    message = str(info.value)
    assert "\n" not in message and message.count(". ") == 0, message
    assert info.value.field == "artifact"
    for fragment in (path.name, *fragments):
        assert fragment in message, message


def future(meta: dict) -> dict:
    return {**meta, "format_version": ARTIFACT_FORMAT_VERSION + 1}


def bigger_images(meta: dict) -> dict:
    return {**meta, "image_shape": [3, 32, 32]}


def other_latent_shape(meta: dict) -> dict:
    latents = json.loads(json.dumps(meta["latents"]))
    latents[-1]["inputs"][0]["shape"] = [5, 7, 7]
    return {**meta, "latents": latents}


def renamed_input(meta: dict) -> dict:
    latents = json.loads(json.dumps(meta["latents"]))
    latents[-1]["inputs"][0]["name"] = "renamed"
    return {**meta, "latents": latents}


def deeper_cut(meta: dict) -> dict:
    latents = json.loads(json.dumps(meta["latents"]))
    latents.append({**latents[-1], "cut": len(latents)})
    return {**meta, "cut": meta["cut"] + 1, "latents": latents}


def latents_of_one_cut_only(meta: dict) -> dict:
    return {**meta, "latents": meta["latents"][:1]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_both_formats_satisfy_the_protocol(artifacts, fmt):
    art = load_any(artifacts[fmt])
    assert isinstance(art, Artifact) and art.device == "cpu"


# --- the ladder every loader climbs: unreadable, missing, wrong name, invalid ------------

UNREADABLE = {"pt": "is not a readable TorchScript artifact",
              "onnx": "is not a readable ONNX model"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_not_an_artifact_missing_or_truncated(artifacts, tmp_path, fmt):
    junk = tmp_path / f"junk.{fmt}"
    for content in (b"GIF89a not a model at all", b"\x01\x02garbage"):
        junk.write_bytes(content)
        refused(junk, f"{junk.name} {UNREADABLE[fmt]}")
    refused(tmp_path / f"missing.{fmt}", "does not exist")
    data = artifacts[fmt].read_bytes()
    truncated = tmp_path / f"truncated.{fmt}"
    truncated.write_bytes(data[: len(data) // 2])
    refused(truncated)
    empty = tmp_path / f"empty.{fmt}"
    empty.write_bytes(b"")
    refused(empty)


def test_each_backend_refuses_the_other_format_and_load_picks_by_suffix(artifacts, tmp_path):
    with pytest.raises(UserInputError, match="must end in .pt"):
        gs_artifact.load(tmp_path / "model.bin")
    with pytest.raises(UserInputError, match="load it with gs.artifacts.load"):
        torchscript.load(artifacts["onnx"])
    with pytest.raises(UserInputError, match="not an .onnx artifact"):
        onnx_runtime.load(tmp_path / "a.pt")
    assert isinstance(gs_artifact.load(artifacts["onnx"], "cpu"), onnx_runtime.OnnxArtifact)
    assert isinstance(gs_artifact.load(artifacts["pt"], "cpu"), torchscript.TorchScriptArtifact)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("change, fragments", [
    (future, ("format_version", "newer than this gs supports")),
    (lambda meta: None, ("carries no gs",)),
    (lambda meta: {"format_version": 1}, ("invalid gs.json metadata",)),
    (latents_of_one_cut_only, ("invalid gs.json metadata: latents must describe",)),
    (bigger_images, ("makes images of shape (3, 16, 16)", "(3, 32, 32)")),
    (other_latent_shape, ()),
    (deeper_cut, ("lacks the graph",)),
], ids=["future", "no-metadata", "fields-missing", "latents-too-few", "image-shape",
        "latent-shape", "cut"])
def test_metadata_that_is_invalid_or_that_the_file_contradicts(artifacts, tmp_path, fmt, change,
                                                               fragments):
    bad = rewrite_metadata(artifacts[fmt], tmp_path / f"bad.{fmt}", change)
    refused(bad, *fragments)


def test_onnx_input_names_are_checked(artifacts, tmp_path):
    bad = rewrite_metadata(artifacts["onnx"], tmp_path / "names.onnx", renamed_input)
    refused(bad, "lacks the graph 'tail'")


# --- hostile bytes -----------------------------------------------------------------------

FUZZ = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_outcome(path: Path) -> None:
    start = time.perf_counter()
    try:
        load_any(path)
    except UserInputError as error:
        message = str(error)
        assert "\n" not in message and path.name in message, message
    assert time.perf_counter() - start < 10.0


@FUZZ
@given(fmt=st.sampled_from(FORMATS), position=st.integers(0, 127),
       values=st.binary(min_size=1, max_size=8), cut=st.integers(0, 4096) | st.none())
def test_mutated_headers_never_raise_anything_else(artifacts, tmp_path, fmt, position, values,
                                                   cut):
    data = bytearray(artifacts[fmt].read_bytes())
    data[position : position + len(values)] = values
    if cut is not None:
        data = data[:cut]
    path = tmp_path / f"mutated.{fmt}"
    path.write_bytes(bytes(data))
    check_outcome(path)


@FUZZ
@given(fmt=st.sampled_from(FORMATS), key=st.sampled_from(
    ["format_version", "cut", "latents", "image_shape", "recommended", "model", "source",
     "inputs", "format"]),
       value=st.none() | st.integers(-3, 3) | st.text(max_size=4) | st.lists(st.integers(-1, 9),
                                                                           max_size=4))
def test_mutated_metadata_never_raises_anything_else(artifacts, tmp_path, fmt, key, value):
    path = rewrite_metadata(artifacts[fmt], tmp_path / f"meta.{fmt}",
                            lambda meta: {**meta, key: value})
    check_outcome(path)


# --- files gs reads besides artifacts ----------------------------------------------------


class _Payload:
    """Unpickling this would run code: it must never be unpickled by gs."""

    def __reduce__(self):
        return (Path.touch, (Path(__file__).with_name(".pickle-ran"),))


def test_checkpoints_with_pickled_objects_are_refused_without_running_them(tmp_path):
    import torch

    marker = Path(__file__).with_name(".pickle-ran")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.pth"
    torch.save({"netG_state_dict": {"main.0.weight": torch.zeros(1)}, "x": _Payload()}, evil)
    with pytest.raises(UserInputError, match="not a readable PyTorch checkpoint"):
        export_artifact(evil, tmp_path / "a.pt", model="dcgan")
    assert not marker.exists() and not (tmp_path / "a.pt").exists()


def test_lightning_checkpoints_are_written_atomically(tmp_path):
    import torch

    from gs.train.fit import AtomicCheckpointIO

    path = tmp_path / "run" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)
    assert torch.load(path, weights_only=True)["state_dict"]["w"].tolist() == [1.0, 1.0]
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]
