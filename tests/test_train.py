"""gs-train: data module, DCGAN LightningModule, resuming, CLI errors (tiny and CPU-only)."""

from __future__ import annotations

import csv
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gs.errors import UserInputError
from gs.latent import InitSpec, InputSpec
from gs.models.dcgan import DCGANGenerator
from gs.train.config import TrainConfig
from gs.train.data import ImageFolderDataModule, is_validation, split_files, to_tensor
from gs.train.dcgan import DCGANModule
from gs.train.fit import fit, make_grid
from gs.train.module import sample_init
from gs.train.networks import DCGANDiscriminator
from helpers import FAST_TRAINER, invoke_train, smoke_train, write_images

MODEL = ["--image-size", "16", "--nz", "8", "--ngf", "8", "--ndf", "8"]
TRAINER = FAST_TRAINER
TINY = MODEL + TRAINER
SMOKE_STEPS = 3
SMOKE_RUN = ("dcgan", SMOKE_STEPS, MODEL)  # the conftest's smoke_run


pytestmark = pytest.mark.usefixtures("one_thread")


def first_losses(log_dir: Path) -> tuple[float, float]:
    with open(log_dir / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("loss_d")]
    return float(rows[0]["loss_d"]), float(rows[0]["loss_g"])


def load_checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


# --- data --------------------------------------------------------------------------------


def test_data_module_serves_scaled_center_crops(images):
    data = ImageFolderDataModule(images, image_size=8, batch_size=4, val_fraction=0.25, seed=0)
    scan = data.scan()
    assert len(scan.files) == 16 and not scan.unreadable
    assert sorted(data.train_files + data.val_files) == list(scan.files)
    batch = next(iter(data.train_dataloader()))
    assert batch.shape == (4, 3, 8, 8) and batch.dtype == torch.float32
    assert batch.min() >= -1 and batch.max() <= 1


def test_split_rule_is_seeded_and_stable_when_files_are_added():
    files = [f"dir/{i:03d}.png" for i in range(400)]
    train, val = split_files(files, seed=0, val_fraction=0.1)
    assert 20 < len(val) < 60
    assert split_files(files, seed=0, val_fraction=0.1) == (train, val)
    assert split_files(files, seed=1, val_fraction=0.1)[1] != val
    more = split_files(files + [f"new/{i}.png" for i in range(50)], seed=0, val_fraction=0.1)[1]
    assert [f for f in more if not f.startswith("new/")] == val
    assert all(is_validation(f, 0, 0.1) for f in val)


def test_unreadable_files_are_skipped_with_one_warning(tmp_path):
    folder = write_images(tmp_path / "mixed", count=6)
    (folder / "broken.png").write_bytes(b"not a png at all")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    data = ImageFolderDataModule(folder, image_size=8, batch_size=2, val_fraction=0.0)
    with pytest.warns(UserWarning, match="skipping 2 unreadable") as record:
        data.scan()
    assert len(record) == 1
    assert len(data.train_files) == 6
    assert sum(b.shape[0] for b in data.train_dataloader()) == 6


def test_a_read_only_image_array_becomes_a_tensor_of_its_own():
    array = np.asarray(Image.fromarray(np.full((4, 4), 255, np.uint8)))[..., None]
    assert not array.flags.writeable  # what PIL hands out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = to_tensor(array, (-1.0, 1.0))
    assert not [str(w.message) for w in caught]
    assert x.shape == (1, 4, 4) and x.dtype == torch.float32 and bool((x == 1).all())
    assert x.numpy().flags.writeable and not np.shares_memory(x.numpy(), array)


def test_a_training_run_warns_of_no_read_only_array_and_no_deprecation(tmp_path):
    # grey images: the channel-first view of a PIL array is contiguous, so nothing copies it
    data = tmp_path / "grey"
    data.mkdir()
    for i in range(8):
        Image.fromarray(np.full((32, 32), 30 * i, np.uint8)).save(data / f"{i}.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        smoke_train("dcgan", data, tmp_path / "run", 2, *MODEL, "--channels", "1", *TRAINER)
    unwanted = [f"{w.category.__name__}: {w.message}" for w in caught
                if issubclass(w.category, (DeprecationWarning, FutureWarning))
                or "not writable" in str(w.message)]
    assert not unwanted, unwanted


# --- networks ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 16, 32, 64, 128])
def test_discriminator_mirrors_generator(size):
    g = DCGANGenerator(nz=4, ngf=4, nc=3, image_size=size)
    d = DCGANDiscriminator(nc=3, ndf=4, image_size=size)
    logits = d(g(torch.randn(2, 4, 1, 1)))
    assert logits.shape == (2,)
    strided = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == g.num_blocks - 1


def test_discriminator_keys_match_pytorch_examples():
    keys = {k.rsplit(".", 1)[0] for k in DCGANDiscriminator(3, 64, 64).state_dict()}
    assert keys == {"main.0", "main.2", "main.3", "main.5", "main.6", "main.8", "main.9", "main.11"}


def test_weights_init_is_seeded_and_follows_dcgan():
    config = {"nz": 8, "ngf": 8, "nc": 3, "image_size": 16}
    a, b = DCGANModule(model_config=config, seed=5), DCGANModule(model_config=config, seed=5)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    weight = a.generator.main[0].weight
    assert abs(weight.mean().item()) < 0.01 and abs(weight.std().item() - 0.02) < 0.005
    assert abs(a.generator.main[1].weight.mean().item() - 1) < 0.02


def test_sample_init_matches_the_init_spec():
    gen = torch.Generator().manual_seed(0)
    draw = sample_init(InputSpec("h1", (4, 4, 4), InitSpec("clamped_normal", 1.0, 0.5)), 8, gen)
    assert draw.shape == (8, 4, 4, 4) and draw.abs().max() <= 0.5
    assert (draw.abs() == 0.5).any()


def test_make_grid_layout():
    grid = make_grid(torch.rand(6, 1, 8, 8), nrow=4, padding=2)
    assert grid.shape == (2 * 10 + 2, 4 * 10 + 2, 3) and grid.dtype == np.uint8


# --- training runs -----------------------------------------------------------------------


def test_smoke_run_records_dcgan_settings_samples_and_the_pytorch_examples_layout(smoke_run):
    """gs-train dcgan from the command line (the checkpoint contract itself is the
    conformance suite's): the flags' values, DCGAN's two optimiser steps per iteration, a
    sample grid at the last step too, and a generator file in the pytorch-examples layout."""
    ck = load_checkpoint(smoke_run / "last.ckpt")
    hp = ck["hyper_parameters"]
    assert hp["model_config"] == {"nz": 8, "ngf": 8, "nc": 3, "image_size": 16}
    assert hp["seed"] == 0 and hp["lr"] == 2e-4
    assert ck["global_step"] == 2 * SMOKE_STEPS and ck["gs"]["iterations"] == SMOKE_STEPS
    generator = {k.removeprefix("generator."): v for k, v in ck["state_dict"].items()
                 if k.startswith("generator.")}
    assert "main.0.weight" in generator
    assert any(k.startswith("discriminator.main.") for k in ck["state_dict"])
    grids = sorted(p.name for p in (smoke_run / "samples").glob("*.png"))
    assert grids == ["step_000000.png", "step_000002.png", "step_000003.png"]
    assert Image.open(smoke_run / "samples" / grids[-1]).size == (2 * 18 + 2, 2 * 18 + 2)
    loss_d, loss_g = first_losses(smoke_run / "logs" / "version_0")
    assert np.isfinite([loss_d, loss_g]).all()
    # The generator-only state dict loads as a pytorch-examples DCGAN.
    g = DCGANGenerator(nz=8, ngf=8, nc=3, image_size=16)
    g.load_pytorch_examples(torch.load(smoke_run.parent / "G.pth", weights_only=True))
    for key, value in g.state_dict().items():
        assert torch.equal(value, generator[key]), key


def test_resume_continues_the_step_count(smoke_run, images, tmp_path):
    out = tmp_path / "resumed"
    shutil.copytree(smoke_run, out)
    result = invoke_train("dcgan", "--data", images, "--out", out, "--resume", out / "last.ckpt",
                    "--max-steps", SMOKE_STEPS + 2, "--sample-every", 100,
                    *TRAINER)  # the model options come from the checkpoint
    assert result.exit_code == 0, result.output
    ck = load_checkpoint(out / "last.ckpt")
    assert ck["gs"]["iterations"] == SMOKE_STEPS + 2
    assert ck["global_step"] == 2 * (SMOKE_STEPS + 2)
    assert ck["hyper_parameters"]["model_config"]["nz"] == 8
    with open(out / "logs" / "version_1" / "metrics.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f) if r.get("loss_d")]
    assert steps == [SMOKE_STEPS, SMOKE_STEPS + 1]
    assert (out / "samples" / f"step_{SMOKE_STEPS + 2:06d}.png").exists()


def test_resume_rejects_contradicting_model_options(smoke_run, images, tmp_path):
    result = invoke_train("dcgan", "--data", images, "--out", tmp_path / "r", "--resume",
                    smoke_run / "last.ckpt", "--nz", 16, "--max-steps", 5)
    assert result.exit_code == 2
    assert "--nz 16 differs from the resumed checkpoint's 8" in result.output
    assert not (tmp_path / "r").exists()


def test_fixed_seeds_give_identical_first_losses(smoke_run, images, tmp_path):
    def run(seed: int, name: str) -> tuple[float, float]:
        config = TrainConfig(
            data=images, out=tmp_path / name, image_size=16, batch_size=4, max_steps=1,
            num_workers=0, seed=seed, accelerator="cpu", devices=1, log_every=1,
            num_samples=4, progress_bar=False,
        )
        result = fit("dcgan", config, nz=8, ngf=8, ndf=8)
        return first_losses(result.log_dir)

    reference = first_losses(smoke_run / "logs" / "version_0")  # seed 0, through the CLI
    assert run(0, "again") == reference
    assert run(1, "other") != reference


def test_cut_before_training_trains_the_tail_only(images, tmp_path):
    out = tmp_path / "cut"
    result = invoke_train("dcgan", "--data", images, "--out", out, "--max-epochs", 2,
                    "--limit-train-batches", 1, "--cut-before-training", 1, *TINY)
    assert result.exit_code == 0, result.output
    ck = load_checkpoint(out / "last.ckpt")
    assert ck["gs"]["iterations"] == 2 and ck["epoch"] == 2
    assert ck["hyper_parameters"]["cut_before_training"] == 1
    fresh = DCGANModule(model_config=ck["hyper_parameters"]["model_config"], seed=0)
    head = fresh.generator.main[0].weight
    assert torch.equal(ck["state_dict"]["generator.main.0.weight"], head)  # never trained
    tail = fresh.generator.main[3].weight
    assert not torch.equal(ck["state_dict"]["generator.main.3.weight"], tail)

    from gs.export import export_artifact

    with pytest.raises(UserInputError, match="cut-before-training"):
        export_artifact(out / "last.ckpt", tmp_path / "x.pt", cut=1)


# --- user errors -------------------------------------------------------------------------


def test_bad_inputs_exit_2_with_one_sentence(images, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("hello")
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    (fakes / "a.png").write_bytes(b"garbage")
    (fakes / "b.jpg").write_bytes(b"\xff\xd8 garbage")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("a file the user owns")
    cases = [
        (["dcgan", "--data", empty], "contains no image files"),
        (["dcgan", "--data", texts], "contains no image files"),
        (["dcgan", "--data", fakes], "none of its 2 image files could be read"),
        (["dcgan", "--data", images, "--image-size", "48"], "--image-size 48 is not allowed"),
        (["dcgan", "--data", images, "--image-size", "16", "--cut-before-training", "3"],
         "--cut-before-training 3 is not allowed"),
        (["dcgan", "--data", images, "--image-size", "16", "--cut-before-training", "1",
          "--export-generator", tmp_path / "G.pth"], "--export-generator is not available"),
        (["dcgan", "--data", tmp_path / "missing"], "does not exist"),
        (["dcgan", "--data", images, "--accelerator", "quantum"], "Lightning rejected"),
        (["nosuchmodel", "--data", images], "No such command 'nosuchmodel'"),
    ]
    for args, message in cases:
        out = tmp_path / "out"
        result = invoke_train(*args, "--out", out, "--max-steps", 1)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert not out.exists(), args
    result = invoke_train("dcgan", "--data", images, "--out", busy, "--max-steps", 1)
    assert result.exit_code == 2 and "--out" in result.output and "--overwrite" in result.output
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]


def test_validation_scores_without_touching_running_statistics():
    module = DCGANModule(model_config={"nz": 8, "ngf": 8, "nc": 3, "image_size": 16}, seed=0)
    module.eval()
    before = {k: v.clone() for k, v in module.discriminator.state_dict().items()}
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    logits = module.discriminate_as_in_training(images)
    module.discriminator.train()
    torch.testing.assert_close(logits, module.discriminator(images))  # batch statistics
    module.discriminator.load_state_dict(before)
    module.eval()
    module.discriminate_as_in_training(images)
    for key, value in module.discriminator.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not module.discriminator.training


@pytest.mark.parametrize("model, args, message", [
    ("began", ["--image-size", "24"], "--image-size 24 is not allowed for began"),
    ("began", ["--image-size", "16", "--cut-before-training", "3"],
     "--cut-before-training 3 is not allowed for a 16 px began with 3 blocks; expected an "
     "integer from 0 to 2"),
    ("began", ["--cut-before-training", "9"], "for a 128 px began"),  # the paper's size
    ("began", ["--gamma", "0"], "--gamma"),
    ("vae", ["--image-size", "12"], "--image-size 12 is not allowed for vae"),
    ("vae", ["--image-size", "16", "--cut-before-training", "1"],
     "--cut-before-training 1 is not available for vae"),
    ("vae", ["--lr-gamma", "0"], "--lr-gamma"),
])
def test_model_options_are_checked_before_anything_is_written(images, tmp_path, model, args,
                                                              message):
    out = tmp_path / "out"
    result = invoke_train(model, "--data", images, "--out", out, "--max-steps", 1, *args)
    assert result.exit_code == 2, (args, result.output)
    assert message in result.output, (args, result.output)
    assert "Traceback" not in result.output
    assert not out.exists(), args


def test_the_python_api_checks_declared_ranges_and_names_the_field(images, tmp_path):
    config = TrainConfig(data=images, out=tmp_path / "out", image_size=16, max_steps=1)
    with pytest.raises(UserInputError, match=r"lambda_k must be a number ≥ 0, got -1"):
        fit("began", config, lambda_k=-1)
    with pytest.raises(UserInputError, match="nef is not an option of dcgan"):
        fit("dcgan", config, nef=4)
    assert not (tmp_path / "out").exists()


def test_train_config_checks_its_declared_ranges_on_construction(images, tmp_path):
    with pytest.raises(UserInputError, match=r"channels must be one of 1, 3, got 2"):
        TrainConfig(data=images, out=tmp_path / "out", channels=2)
    with pytest.raises(UserInputError, match=r"val_fraction must be a number in \[0, 1\), got 1"):
        TrainConfig(data=images, out=tmp_path / "out", val_fraction=1)
    assert TrainConfig(data=images, out=tmp_path / "out", channels=1).channels == 1


def test_resume_refuses_what_it_cannot_continue(smoke_run, images, tmp_path):
    text = tmp_path / "notes.ckpt"
    text.write_text("not a checkpoint")
    cases = [
        (["dcgan", "--resume", text], "--resume " + str(text) + " is not a readable Lightning"),
        (["dcgan", "--resume", smoke_run.parent / "G.pth"], "is not a checkpoint written by"),
        (["began", "--resume", smoke_run / "last.ckpt"],
         "was trained by gs-train dcgan, not began"),
        (["dcgan", "--resume", smoke_run / "last.ckpt", "--overwrite"],
         "--overwrite cannot be combined with --resume, which continues the run in --out"),
    ]
    for args, message in cases:
        out = tmp_path / "out"
        result = invoke_train(*args, "--data", images, "--out", out, "--max-steps", 1, *TRAINER)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, result.output
        assert not out.exists(), args
