"""Figures of a study as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gs.io import atomic_write, image_grid, write_image

#: Tiles of a recovery grid are enlarged (nearest neighbour) to at least this width.
MIN_TILE_WIDTH = 128


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    plt = _pyplot()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110,
                                                          bbox_inches="tight"), overwrite=True)
    finally:
        plt.close(fig)


def _panels(summary: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({row["group"] for row in summary}, key=lambda g: (g == "all images", g))


def curve_plot(summary: Sequence[dict[str, Any]], path: str | Path,
               xlabel: str = "measurement ratio m/n") -> Path:
    """PSNR against ``ratio`` per label: mean line, ± sd band; one panel per group."""
    plt = _pyplot()
    groups = _panels(summary)
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False,
                             sharey=True)
    labels = list(dict.fromkeys(row["label"] for row in summary))
    for ax, group in zip(axes[0], groups):
        for label in labels:
            rows = sorted((r for r in summary if r["label"] == label and r["group"] == group),
                          key=lambda r: r["ratio"])
            if not rows:
                continue
            x = np.array([r["ratio"] for r in rows])
            mean = np.array([r["psnr_mean"] for r in rows])
            sd = np.array([r["psnr_sd"] for r in rows])
            (line,) = ax.plot(x, mean, marker="o", markersize=3, label=label)
            ax.fill_between(x, mean - sd, mean + sd, alpha=0.2, color=line.get_color())
        ax.set_xscale("log")
        ticks = sorted({r["ratio"] for r in summary})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_title(f"{group} (n = {max(r['n'] for r in summary if r['group'] == group)})")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("PSNR (dB), mean ± sd")
    axes[0][-1].legend(fontsize=8)
    return _save(fig, path)


def cut_plot(summary: Sequence[dict[str, Any]], path: str | Path, best: int | None = None
             ) -> Path:
    """Mean PSNR ± sd against the cut index, one line per (task, group)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    keys = sorted({(r["task"], r["ratio"], r["group"]) for r in summary},
                  key=lambda k: (k[0], k[1] or 0, k[2]))
    for number, (task, ratio, group) in enumerate(keys):
        rows = sorted((r for r in summary if (r["task"], r["ratio"], r["group"]) ==
                       (task, ratio, group)), key=lambda r: r["cut"])
        name = task if ratio is None else f"{task} m/n={ratio:g}"
        shift = 0.04 * (number - (len(keys) - 1) / 2)  # keep error bars apart
        ax.errorbar([r["cut"] + shift for r in rows], [r["psnr_mean"] for r in rows],
                    yerr=[r["psnr_sd"] for r in rows], marker="o", capsize=3,
                    linestyle="--" if task == "raw" else "-", label=f"{name}, {group}")
    if best is not None:
        ax.axvline(best, color="k", linestyle=":", label=f"chosen c = {best}")
    ax.set_xlabel("cut index c (blocks removed)")
    ax.set_ylabel("PSNR (dB), mean ± sd")
    ax.set_xticks(sorted({r["cut"] for r in summary}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def box_plot(records: Sequence[dict[str, Any]], path: str | Path, by: str = "init") -> Path:
    """Box plot of per-image PSNR for each value of ``by``; one panel per group."""
    plt = _pyplot()
    groups = sorted({r["group"] for r in records})
    fig, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.6), squeeze=False,
                             sharey=True)
    names = list(dict.fromkeys(r[by] for r in records))
    for ax, group in zip(axes[0], groups):
        data = [[r["psnr"] for r in records if r[by] == name and r["group"] == group]
                for name in names]
        ax.boxplot(data, tick_labels=[str(n) for n in names], showmeans=True)
        ax.set_title(group)
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("PSNR (dB)")
    return _save(fig, path)


def recovery_grid(truths: Sequence[np.ndarray], observed: Sequence[np.ndarray] | None,
                  columns: dict[str, Sequence[np.ndarray]], path: str | Path,
                  row_names: Sequence[str] = ()) -> Path:
    """A PNG of rows = images; columns = original, observed (if given), then each method.

    Images are (C, H, W) in [0, 1]; a method's tiles are captioned with its PSNR. Drawn
    with :func:`gs.io.image_grid`, enlarged so that the captions fit.
    """
    from gs.metrics import psnr

    rows, captions = [], []
    for i, truth in enumerate(truths):
        name = row_names[i] if i < len(row_names) else ""
        rows.append([truth, *([observed[i]] if observed is not None else []),
                     *(images[i] for images in columns.values())])
        captions.append([f"original\n{name}", *(["observed"] if observed is not None else []),
                         *(f"{label}\n{psnr(images[i], truth):.1f} dB"
                           for label, images in columns.items())])
    scale = max(1, -(-MIN_TILE_WIDTH // truths[0].shape[2]))
    return write_image(path, image_grid(rows, captions=captions, scale=scale), overwrite=True)


#: Scatter markers of the photo groups and the characters that name them in a title.
_GROUP_MARKERS = ("oo", "s□", "^△", "D◇", "v▽")


def quality_plot(records: Sequence[dict[str, Any]], path: str | Path, *,
                 points: Sequence[str], methods: Sequence[str], marked: Sequence[str] = (),
                 labels: dict[str, str] | None = None) -> Path:
    """PSNR against seconds per image (the best-quality study's records: ``point``,
    ``group``, ``method``, ``psnr``, ``seconds``): one panel per point that has records,
    each method a point per photo group (mean PSNR, median seconds, log time axis),
    the ``marked`` methods outlined and labelled in bold."""
    import matplotlib.ticker

    plt = _pyplot()
    labels = labels or {}
    shown = [p for p in points if any(r["point"] == p for r in records)]
    groups = list(dict.fromkeys(r["group"] for r in records))
    markers = dict(zip(groups, _GROUP_MARKERS))  # the first two groups: o faces, □ other
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.6), squeeze=False)
    for ax, point in zip(axes[0], shown):
        for group in groups:
            for number, method in enumerate(methods):
                rows = [r for r in records
                        if (r["point"], r["group"], r["method"]) == (point, group, method)]
                if not rows:
                    continue
                seconds = max(float(np.median([r["seconds"] for r in rows])), 1e-2)
                value = float(np.mean([r["psnr"] for r in rows]))
                bold = method in marked
                ax.scatter(seconds, value, marker=markers.get(group, "ox")[0],
                           s=60 if bold else 30, c=f"C{number}",
                           edgecolors="black" if bold else "none")
                ax.annotate(method, (seconds, value), fontsize=7, xytext=(3, 3),
                            textcoords="offset points",
                            fontweight="bold" if bold else "normal")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        legend = ", ".join(f"{markers.get(g, 'ox')[1]} {g}" for g in groups)
        ax.set_title(f"{labels.get(point, point)} ({legend})", fontsize=9)
        ax.set_xlabel("seconds per image (median)")
        ax.set_ylabel("PSNR (dB, mean)")
    fig.tight_layout()
    return _save(fig, path)
