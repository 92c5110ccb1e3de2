"""Align face photos to a generator's framing by the eyes (the benchmark of CelebA framing).

CelebA's aligned crops put the eyes at fixed positions; a generator trained on them
expects the same framing. :func:`find_eyes` finds the two eyes of a photo with OpenCV's
Haar cascades (``haarcascade_frontalface_default.xml`` and ``haarcascade_eye.xml``, which
ship inside the ``opencv-python-headless`` 4.x wheel: no download at run time), and
:func:`align` warps the photo by the similarity (rotation, uniform scale, translation)
that puts those eyes at target positions, filling outside the photo with the mean colour
of its border. :func:`eye_targets` measures the targets on a generator's own samples.

Only the detection needs OpenCV (``pip install --no-deps opencv-python-headless==4.14.0.94``;
not a dependency of gs); the geometry needs numpy and Pillow.

    python benchmarks/align_faces.py SRC_DIR OUT_DIR --targets 20.1,26.7,43.9,26.7 [--size 64]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

Point = tuple[float, float]
#: Longest side a photo is upscaled to before detection (the cascades miss small faces).
DETECT_SIZE = 256


def similarity(src: tuple[Point, Point], dst: tuple[Point, Point]) -> np.ndarray:
    """2×3 matrix of the similarity mapping points ``src`` (left eye, right eye) to ``dst``."""
    (x0, y0), (x1, y1) = src
    (u0, v0), (u1, v1) = dst
    s = complex(u1 - u0, v1 - v0) / complex(x1 - x0, y1 - y0)  # rotation and scale
    t = complex(u0, v0) - s * complex(x0, y0)
    return np.array([[s.real, -s.imag, t.real], [s.imag, s.real, t.imag]])


def align(image: np.ndarray, eyes: tuple[Point, Point], targets: tuple[Point, Point],
          size: int = 64) -> np.ndarray:
    """Warp (H, W, 3) uint8 ``image`` so that ``eyes`` (pixel x, y in the photo) land on
    ``targets`` (pixel x, y in a ``size``×``size`` crop); outside the photo is the mean
    colour of its border pixels."""
    forward = np.vstack([similarity(eyes, targets), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(forward)[:2]  # crop pixel -> photo pixel, as PIL expects
    pad = 2 * max(image.shape[:2])
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    padded = np.empty((image.shape[0] + 2 * pad, image.shape[1] + 2 * pad, 3), np.uint8)
    padded[:] = np.round(border.mean(axis=0)).astype(np.uint8)
    padded[pad:-pad, pad:-pad] = image
    inverse[:, 2] += pad + inverse[:, :2] @ [0.5, 0.5] - 0.5  # pixel centres, padding
    warped = Image.fromarray(padded).transform(
        (size, size), Image.Transform.AFFINE, tuple(inverse.ravel()),
        resample=Image.Resampling.BICUBIC)
    return np.asarray(warped)


def find_eyes(image: np.ndarray) -> tuple[tuple[Point, Point], str] | None:
    """The eyes (left, right in the picture, pixel x, y) of the largest face in
    (H, W[, 3]) uint8 ``image``, and how they were found: ``"eyes"`` (both eyes detected
    inside the face), ``"face"`` (a face but not both eyes: the eyes' usual place in the
    face box) or None (no face)."""
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    scale = DETECT_SIZE / max(grey.shape)
    big = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    big = cv2.equalizeHist(big)
    cascades = cv2.data.haarcascades
    face_cascade = cv2.CascadeClassifier(cascades + "haarcascade_frontalface_default.xml")
    eye_cascade = cv2.CascadeClassifier(cascades + "haarcascade_eye.xml")
    faces = face_cascade.detectMultiScale(big, 1.05, 3, minSize=(DETECT_SIZE // 4,) * 2)
    if len(faces) == 0:
        return None
    fx, fy, fw, fh = max(faces, key=lambda f: f[2] * f[3])
    # Eyes lie in the face box's upper half, one in each half of its width.
    roi = big[fy: fy + fh // 2 + fh // 8, fx: fx + fw]
    found = eye_cascade.detectMultiScale(roi, 1.05, 3, minSize=(fw // 8,) * 2,
                                         maxSize=(fw // 3,) * 2)
    centres = [(fx + x + w / 2, fy + y + h / 2, w * h) for x, y, w, h in found]
    # A plausible pair: one eye in each half of the face, level within 15 degrees, apart by
    # a quarter to 0.6 of the face's width; of those, the largest detections.
    pairs = [(a, b) for a in centres for b in centres
             if a[0] < fx + fw / 2 <= b[0] and abs(b[1] - a[1]) < 0.27 * (b[0] - a[0])
             and 0.25 * fw <= b[0] - a[0] <= 0.6 * fw]
    if pairs:
        (lx, ly, _), (rx, ry, _) = max(pairs, key=lambda p: p[0][2] + p[1][2])
        how = "eyes"
    else:  # the eyes' usual place in the cascade's face box
        lx, ly, rx, ry = fx + 0.31 * fw, fy + 0.39 * fh, fx + 0.69 * fw, fy + 0.39 * fh
        how = "face"
    # Back to pixel coordinates of the original photo (pixel centres).
    to = lambda v: (v + 0.5) / scale - 0.5  # noqa: E731
    return ((to(lx), to(ly)), (to(rx), to(ry))), how


def eye_targets(samples: np.ndarray) -> tuple[tuple[Point, Point], int]:
    """Median eye positions (pixels) over generator samples (N, 3, S, S) in [0, 1] where
    both eyes were detected, and how many samples that was."""
    found = []
    for sample in samples:
        image = (np.clip(sample.transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)
        result = find_eyes(image)
        if result is not None and result[1] == "eyes":
            found.append(np.ravel(result[0]))
    if not found:
        raise ValueError("no sample with both eyes detected")
    lx, ly, rx, ry = np.median(np.array(found), axis=0)
    return ((float(lx), float(ly)), (float(rx), float(ry))), len(found)


def align_folder(src: Path, out: Path, targets: tuple[Point, Point], size: int = 64
                 ) -> dict[str, str]:
    """Align every PNG of ``src`` into ``out`` (same names); photos without a face are
    centre-cropped as gs does. Return how each photo was aligned."""
    from gs.io import resize_image

    out.mkdir(parents=True, exist_ok=True)
    how = {}
    for path in sorted(src.glob("*.png")):
        image = np.asarray(Image.open(path).convert("RGB"))
        result = find_eyes(image)
        if result is None:
            square = resize_image(image.transpose(2, 0, 1).astype(np.float32) / 255.0, (size, size))
            crop = (np.clip(square.transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)
            how[path.name] = "centre crop"
        else:
            crop = align(image, result[0], targets, size)
            how[path.name] = result[1]
        Image.fromarray(crop).save(out / path.name)
    return how


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--targets", required=True,
                        help="left x, left y, right x, right y in the output crop (pixels)")
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    lx, ly, rx, ry = (float(v) for v in args.targets.split(","))
    how = align_folder(args.src, args.out, ((lx, ly), (rx, ry)), args.size)
    print(json.dumps(how, indent=1))


if __name__ == "__main__":
    main()
