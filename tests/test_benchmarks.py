"""The demo and benchmark scripts run end to end on a tiny generator (smoke)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from gs.weights import get_pretrained

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_demo_runs_and_writes_a_grid(tmp_path, tiny_weights):
    import demo

    table = demo.run(tiny_weights, tmp_path, n_faces=2, n_other=1, seed=0, steps=1)
    assert set(table) == {label for label, _, _ in demo.TASKS}
    for scores in table.values():
        assert set(scores) == {"classical", "no-surgery", "surgery"}
        assert all(len(values) == 3 and np.isfinite(values).all() for values in scores.values())
    assert (tmp_path / "demo_grid.png").stat().st_size > 0


def test_demo_runs_a_pretrained_generator_on_its_test_images(tmp_path):
    import demo

    from gs.io import write_image

    folder = tmp_path / "test"
    rng = np.random.default_rng(0)
    for index in range(2):
        write_image(folder / f"{index:05d}.png", rng.random((1, 28, 28), dtype=np.float32))
    tasks = ["CS m=100", "SR x2"]
    table = demo.run_pretrained("mnist-dcgan", folder, tmp_path / "out", n=2, seed=0, steps=1,
                                tasks=tasks, grid_images=1)
    assert list(table) == tasks
    for scores in table.values():
        assert set(scores) == {"classical", "no-surgery", "surgery"}
        assert all(len(values) == 2 and np.isfinite(values).all() for values in scores.values())
    cut = get_pretrained("mnist-dcgan").cut
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "mnist-dcgan_c0.pt", f"mnist-dcgan_c{cut}.pt", "demo_grid.png"}
    assert {label for label, _, _ in demo.IN_DOMAIN_TASKS} == {
        "CS m=100", "CS m=200", "inpainting 10 %", "SR x2", "denoising 0.2"}


def test_photos_are_real_and_normalised():
    import photos

    for _, image in photos.faces(3) + photos.non_faces(3):
        assert image.shape == (3, 64, 64) and image.dtype.name == "float32"
        assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.02
    assert len({image.tobytes() for _, image in photos.faces(4)}) == 4


def test_memory_benchmark_measures_one_solve(tiny_artifacts):
    import argparse

    import memory

    args = argparse.Namespace(artifact=tiny_artifacts[1], batch=2, device="cpu", threads=1,
                              precision="fp32")
    result = memory.measure(args)
    assert result["batch"] == 2 and result["latent_size"] > 0
    assert result["peak_mib"] >= 0 and result["operators_mib"] > 0
    assert result["peak_mib_per_image"] == result["peak_mib"] / 2


def test_speed_benchmark_counts_the_flops_of_one_evaluation(tiny_artifacts):
    import speed

    from gs.artifacts import load
    from gs.operators import GaussianCS
    from gs.problems import simulate
    from gs.seeding import Stream, problem_rng

    art = load(tiny_artifacts[1])
    shape = tuple(art.metadata.image_shape)
    op = GaussianCS(50, shape, problem_rng(0, 0, Stream.OPERATOR))
    y = simulate(np.full(shape, 0.5, np.float32), op, problem_rng(0, 0, Stream.NOISE))
    flops = speed.flops_per_evaluation(art, op, y)
    n = int(np.prod(shape))
    assert flops > 4 * 50 * n  # at least A and its adjoint, 2 flops per multiply-add


def test_speed_benchmark_times_both_protocols_on_the_same_images(tiny_artifacts):
    import speed

    from gs.artifacts import load

    art = load(tiny_artifacts[1])
    truths = [np.full(tuple(art.metadata.image_shape), value, np.float32)
              for value in (0.3, 0.6)]
    rows = speed.measure(art, truths, 40, seed=0, changes={"restarts": 1}, group=2)
    for protocol in ("paper", "defaults"):
        assert len(rows[protocol]) == 2
        for row in rows[protocol]:
            assert row["seconds"] > 0 and row["evaluations"] > 0 and np.isfinite(row["psnr"])


def test_soak_runs_whole_jobs_back_to_back(tiny_artifacts):
    import soak

    result = soak.soak(tiny_artifacts[1], runs=3, warmup=1, steps=1, threads=1, ratio=0.1)
    assert result["runs"] == 3 and result["median_seconds_per_job"] > 0
    assert result["peak_rss_end_mib"] >= result["peak_rss_after_warmup_mib"] > 0


def test_cached_artifact_is_exported_again_when_the_defaults_change(tmp_path, tiny_weights,
                                                                    monkeypatch):
    import cache

    from gs.settings import recommended_settings

    path = tmp_path / "dcgan_c1.pt"
    cache.cached_artifact(tiny_weights, 1, path=path)
    exported = path.stat().st_mtime_ns
    assert cache.cached_artifact(tiny_weights, 1, path=path) == path
    assert path.stat().st_mtime_ns == exported  # current defaults: kept as it is
    monkeypatch.setattr(cache, "recommended_settings",
                        lambda task, cut: recommended_settings(task, cut).override(steps=3))
    cache.cached_artifact(tiny_weights, 1, path=path)
    assert path.stat().st_mtime_ns != exported  # stale defaults: exported again


def test_classical_benchmark_measures_every_method_on_the_same_problems(tiny_artifacts):
    import classical
    import photos as bundled

    from gs.artifacts import load
    from gs.io import resize_image

    art = load(tiny_artifacts[1])
    photos = [(name, resize_image(image, (16, 16)), group) for (name, image), group in zip(
        bundled.faces(2) + bundled.non_faces(1), ("faces", "faces", "other"))]
    for label, task, options in (("SR x4", "sr", {"scale": 4}), ("CS", "cs", {"ratio": 0.3})):
        row = classical.measure(art, label, task, options, photos, seed=0)
        assert row["groups"] == ["faces", "faces", "other"]
        for name in classical.METHODS:
            assert len(row[name]["psnr"]) == 3 and np.isfinite(row[name]["psnr"]).all()
        if task == "sr":  # the measured default returns the classical answer
            assert set(row["surgery"]["answers"]) == {"classical"}
        classical.print_row(row)


def test_classical_benchmark_reads_observations_back_from_files(tiny_artifacts):
    """The "from a file" points: the PNG round trip keeps the operator and changes y by
    at most 8-bit rounding; a brush point paints strokes and keeps the other pixels."""
    import classical
    import photos as bundled

    from gs.io import resize_image
    from gs.problems import OperatorOptions, simulated_problem

    image = resize_image(bundled.faces(1)[0][1], (16, 16))
    half_step = 0.5 / 255 + 4 * np.finfo(np.float32).eps  # PNG rounding + float32 arithmetic
    for task, options in (("sr", {"scale": 4}), ("denoise", {"noise_std": 0.1})):
        simulated = simulated_problem(Path("x"), 3, image, OperatorOptions(task, **options), 0)
        with_file = classical.problems_for(task, {**options, "file": True},
                                           [("x", image, "faces")] * 4, seed=0)[3]
        assert with_file.operator.spec() == simulated.operator.spec()
        assert np.abs(with_file.y - np.clip(simulated.y, 0, 1)).max() <= half_step
        assert with_file.truth is image

    keep = classical.brush_mask(64, 0, 0)
    assert keep.shape == (64, 64) and 0.05 < 1 - keep.mean() < 0.4
    assert not np.array_equal(keep, classical.brush_mask(64, 1, 0))  # keyed by the index
    (brushed,) = classical.problems_for("inpaint", {"brush": True, "file": True},
                                        [("x", image, "faces")], seed=0)
    painted = ~classical.brush_mask(16, 0, 0)
    seen = brushed.operator.A(np.ones((1, *image.shape), np.float32))[0]
    assert np.array_equal(seen[0] == 0, painted)
    assert np.abs(brushed.operator.A_adjoint(brushed.y[None])[0] - image * ~painted).max() \
        <= half_step


def _digit_folder(folder: Path, count: int, side: int = 28) -> tuple[Path, np.ndarray]:
    """``count`` grey PNGs named by index (``00000.png``…): class 0 a bright horizontal bar,
    class 1 a vertical one, at a random place; and their labels as an idx1 file."""
    from PIL import Image

    rng = np.random.default_rng(count)
    folder.mkdir(parents=True)
    labels = np.arange(count) % 2
    for i, label in enumerate(labels):
        pixels = np.zeros((side, side), np.uint8)
        at, start = rng.integers(4, side - 4), rng.integers(0, side // 3)
        bar = (slice(at - 2, at + 2), slice(start, start + side // 2))
        pixels[bar if label == 0 else bar[::-1]] = 255
        Image.fromarray(pixels).save(folder / f"{i:05d}.png")
    path = folder.parent / f"{folder.name}-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01" + count.to_bytes(4, "big") + labels.astype(np.uint8)
                     .tobytes())
    return path, labels


def test_classifier_learns_two_easy_classes(tmp_path):
    import classifier

    labels_path, labels = _digit_folder(tmp_path / "train", 64)
    assert np.array_equal(classifier.read_labels(labels_path), labels)
    files = classifier.image_files(tmp_path / "train", 3)
    as_fetched = tmp_path / "labels.json"  # what gs data fetch writes
    as_fetched.write_text(json.dumps({f"train/{i:05d}.png": int(k) for i, k in enumerate(labels)}))
    for path in (labels_path, as_fetched):
        assert np.array_equal(classifier.labels_of(files, path), labels[:3])
    options = classifier.TrainOptions(epochs=20, batch_size=16, lr=3e-3)
    model = classifier.cached_classifier(tmp_path / "train", labels_path, (1, 16, 16),
                                         tmp_path / "cnn.pt", options)
    test_labels, truth = _digit_folder(tmp_path / "test", 20)
    images = classifier.read_images(classifier.image_files(tmp_path / "test"), (1, 16, 16))
    assert images.shape == (20, 1, 16, 16) and 0 <= images.min() and images.max() <= 1
    assert np.mean(classifier.classify(model, images) == truth) >= 0.9
    again = classifier.cached_classifier(tmp_path / "train", labels_path, (1, 16, 16),
                                         tmp_path / "cnn.pt", options)  # loaded, not trained
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 again.state_dict().values()))


def test_in_domain_benchmark_runs_and_resumes_from_its_cache(tmp_path, tiny_artifacts):
    import in_domain

    labels_path, _ = _digit_folder(tmp_path / "train", 8)
    test_labels, _ = _digit_folder(tmp_path / "test", 2)
    argv = ["--artifact", str(tiny_artifacts[1]), "--uncut", str(tiny_artifacts[0]),
            "--images", str(tmp_path / "test"), "--n", "2", "--labels", str(test_labels),
            "--train-images", str(tmp_path / "train"), "--train-labels", str(labels_path),
            "--classifier", str(tmp_path / "cnn.pt"), "--classifier-epochs", "1",
            "--points", "CS m=50", "--methods", "lasso-pixel", "tv-cs", "no-surgery",
            "surgery", "--steps", "1", "--threads", "1", "--cache", str(tmp_path / "c.jsonl"),
            "--json", str(tmp_path / "s.json"), "--plot", str(tmp_path / "cs.png")]
    printed = []
    summary = in_domain.main(argv, output=printed.append)
    rows = {row["method"]: row for row in summary["rows"]}
    assert set(rows) == {"lasso-pixel", "tv-cs", "no-surgery", "surgery"}
    for row in rows.values():
        assert row["n"] == 2 and np.isfinite(row["psnr"]).all() and 0 <= row["accuracy"] <= 1
        # Bora et al.'s per-pixel error is the MSE that PSNR = 10 log10(1/MSE) is made of
        assert np.allclose(10 * np.log10(1 / np.array(row["mse"])), row["psnr"], atol=1e-6)
    assert "| Lasso (pixel basis) (2) |" in printed[0] and "classifier accuracy" in printed[0]
    assert (tmp_path / "cs.png").stat().st_size > 0
    assert json.loads((tmp_path / "s.json").read_text())["rows"][0]["point"] == "CS m=50"

    cached = (tmp_path / "c.jsonl").read_text()
    assert len(cached.splitlines()) == 8  # 4 methods × 2 images
    with open(tmp_path / "c.jsonl", "a") as handle:
        handle.write('{"key": "cut off mid-wri')  # what a killed run may leave
    again = in_domain.main(argv, output=printed.append)  # every result from the cache
    assert [r["psnr"] for r in again["rows"]] == [r["psnr"] for r in summary["rows"]]
    assert (tmp_path / "c.jsonl").read_text().startswith(cached)
    assert len((tmp_path / "c.jsonl").read_text().splitlines()) == 9  # nothing recomputed


def test_in_domain_sizes_the_untrained_networks_to_the_image():
    import in_domain

    from gs.methods.presets import auto_preset

    assert in_domain.dip_settings(64) == auto_preset("dip")
    assert in_domain.deep_decoder_settings((3, 64, 64)) == auto_preset("deep-decoder",
                                                                       image_side=64)
    assert len(in_domain.dip_settings(32).channels) == 4  # deepest scale 2×2 px
    small = in_domain.deep_decoder_settings((1, 32, 32))
    assert small.output_side == 32 and small.steps == auto_preset("deep-decoder").steps


def test_align_faces_puts_the_eyes_on_their_targets():
    import align_faces

    # A photo with two bright dots as "eyes", tilted and off-centre.
    photo = np.zeros((112, 92, 3), np.uint8)
    eyes = ((30.0, 50.0), (62.0, 56.0))
    for x, y in eyes:
        photo[int(y) - 1: int(y) + 2, int(x) - 1: int(x) + 2] = 255
    targets = ((23.75, 32.375), (38.25, 32.375))
    matrix = align_faces.similarity(eyes, targets)
    for (x, y), target in zip(eyes, targets):
        assert np.allclose(matrix @ [x, y, 1.0], target)
    crop = align_faces.align(photo, eyes, targets, size=64)
    assert crop.shape == (64, 64, 3)
    grey = crop[..., 0].astype(float)
    for tx, ty in targets:  # each eye's brightest pixel is where its target is
        window = grey[int(ty) - 3: int(ty) + 4, int(tx) - 3: int(tx) + 4]
        row, col = np.unravel_index(window.argmax(), window.shape)
        assert abs(int(ty) - 3 + row - ty) <= 1.5 and abs(int(tx) - 3 + col - tx) <= 1.5
    assert crop[0, 0, 0] == 0  # outside the photo: its border's mean colour


def test_align_faces_finds_the_astronauts_eyes():
    import pytest

    pytest.importorskip("cv2")
    import align_faces
    from skimage import data

    photo = data.astronaut()[0:300, 70:370]  # her face is at rows 30…150, columns 90…210
    (left, right), how = align_faces.find_eyes(photo)
    assert how == "eyes"
    assert 90 < left[0] < right[0] < 210 and 30 < left[1] < 120 and 30 < right[1] < 120
    assert abs(left[1] - right[1]) < 0.27 * (right[0] - left[0])
