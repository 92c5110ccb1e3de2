"""Tidy tables of per-image results and their mean ± sd per condition.

A condition is every column but the image (method, cut, init, task, ratio,
group, seed pooled); each is summarised over its images per group and over all
groups (group ``all images``). sd is the sample standard deviation (n - 1 in the
denominator; 0 for a single image).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gs.io import atomic_write, write_json

#: Columns that name a condition (the summary's grouping keys), in table order.
CONDITION = ("label", "method", "cut", "init", "task", "ratio")
#: Group name of the summary rows pooled over every group.
ALL_GROUPS = "all images"
RESULT_COLUMNS = (*CONDITION, "group", "image", "index", "seed", "psnr", "ssim", "seconds",
                  "measurement_loss")


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for one value)."""
    if not values:
        raise ValueError("mean_sd needs at least one value")
    mean = math.fsum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarise(records: Sequence[dict[str, Any]], metrics: Sequence[str] = ("psnr", "ssim",
                                                                            "seconds")
              ) -> list[dict[str, Any]]:
    """One row per (condition, group) and per condition over all groups.

    Each row holds the condition's columns, ``group``, ``n`` (images × seeds) and
    ``<metric>_mean`` / ``<metric>_sd`` for each metric.
    """
    buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        condition = tuple(record.get(c) for c in CONDITION)
        buckets.setdefault((*condition, record["group"]), []).append(record)
        buckets.setdefault((*condition, ALL_GROUPS), []).append(record)
    groups = {r["group"] for r in records}
    rows = []
    for key, members in buckets.items():
        if key[-1] == ALL_GROUPS and len(groups) == 1:
            continue  # identical to the single group's row
        row: dict[str, Any] = dict(zip((*CONDITION, "group"), key))
        row["n"] = len(members)
        for metric in metrics:
            mean, sd = mean_sd([float(m[metric]) for m in members])
            row[f"{metric}_mean"], row[f"{metric}_sd"] = mean, sd
        rows.append(row)
    return rows


def _csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _cell(row.get(c)) for c in columns})
    return buffer.getvalue()


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: a non-finite score is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else value


def write_tables(out_dir: str | Path, records: Sequence[dict[str, Any]],
                 summary: Sequence[dict[str, Any]], extra: dict[str, Any] | None = None
                 ) -> list[Path]:
    """Write ``results.csv`` (one row per image), ``summary.csv`` and ``results.json``
    (both, plus ``extra``) into ``out_dir``, each atomically."""
    out = Path(out_dir)
    summary_columns = list(summary[0]) if summary else [*CONDITION, "group", "n"]
    written = []
    for name, text in (("results.csv", _csv_text(records, RESULT_COLUMNS)),
                       ("summary.csv", _csv_text(summary, summary_columns))):
        written.append(atomic_write(out / name, lambda tmp, t=text: tmp.write_text(t),
                                    overwrite=True))
    data = {**(extra or {}), "summary": [_finite(r) for r in summary],
            "results": [_finite(r) for r in records]}
    written.append(write_json(out / "results.json", data, overwrite=True))
    return written
