"""Shard an inversion job over many devices and nodes with Lightning.

``Trainer.predict`` (inference mode off, since inversion needs gradients) hands
each process its share of image indices; every process loads the artifact on
its own device, inverts and writes its images, and leaves its report entries
in a per-rank file that rank 0 merges into one report. Process management,
device placement and sharding are Lightning's. Only this module imports
Lightning, and only ``gs-invert --devices`` imports this module.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from torch.utils.data import DataLoader, Dataset

from gs.artifact import load
from gs.io import write_json
from gs.jobs import (
    JobReport,
    OperatorOptions,
    check_outputs,
    load_problems,
    output_paths,
    solve_problems,
)
from gs.latent import InitSpec
from gs.settings import InversionSettings


@dataclass(frozen=True)
class ShardedJob:
    """Everything a worker process needs to rebuild its part of the job."""

    artifact_path: str
    images: tuple[str, ...]
    options: OperatorOptions
    settings: InversionSettings
    out_dir: str
    simulate_mode: bool
    seed: int
    init: InitSpec | None
    mask: str | None
    batch_size: int
    overwrite: bool
    save_observations: bool
    image_shape: tuple[int, int, int]


def cpu_threads_per_process(processes: int) -> int:
    """Intra-op threads for each of ``processes`` CPU workers on this machine.

    Every worker defaulting to all cores would oversubscribe them ``processes``
    times over; each gets its share of the cores this process may run on.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, processes))


class _Indices(Dataset):
    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> int:
        return index


class _InversionModule(L.LightningModule):
    """Each predict batch is a list of image indices; the result, their report entries."""

    def __init__(self, job: ShardedJob) -> None:
        super().__init__()
        self.job = job
        self.artifact: Any = None

    def on_predict_start(self) -> None:
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads_per_process(self.trainer.num_devices))
        self.artifact = load(self.job.artifact_path, device=str(self.device))

    def predict_step(self, batch: torch.Tensor, batch_idx: int) -> list[dict[str, Any]]:
        job = self.job
        problems = load_problems(job.image_shape, job.images, job.options,
                                 simulate_mode=job.simulate_mode, seed=job.seed, mask=job.mask,
                                 indices=[int(i) for i in batch])
        outputs = output_paths([Path(p) for p in job.images], Path(job.out_dir))
        return solve_problems(self.artifact, problems, outputs, job.settings, seed=job.seed,
                              init=job.init, batch_size=job.batch_size, overwrite=job.overwrite,
                              save_observations=job.save_observations)


class _RankWriter(BasePredictionWriter):
    """Writes each rank's entries to ``folder/rank<R>.json``, then waits for all ranks."""

    def __init__(self, folder: Path) -> None:
        super().__init__(write_interval="epoch")
        self.folder = folder

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           predictions: Any, batch_indices: Any) -> None:
        entries = [entry for batch in predictions for entry in batch]
        path = self.folder / f"rank{trainer.global_rank}.json"
        path.write_text(json.dumps(entries))
        trainer.strategy.barrier()


def run_sharded(
    job: ShardedJob,
    *,
    devices: int,
    num_nodes: int = 1,
    accelerator: str = "auto",
    strategy: str = "auto",
    report_path: str | Path | None = None,
) -> JobReport | None:
    """Run ``job`` over ``devices`` × ``num_nodes`` processes; rank 0 returns the report.

    Inputs and outputs are checked in the calling process before any worker
    starts. Other ranks (under an external launcher) return ``None``.
    """
    check_outputs(job.images, job.out_dir, report_path, job.overwrite)
    load_problems(job.image_shape, job.images, job.options, simulate_mode=job.simulate_mode,
                  seed=job.seed, mask=job.mask)
    if strategy == "auto" and devices * num_nodes > 1:
        strategy = "ddp_spawn"  # works from any entry point, tests and notebooks included
    with tempfile.TemporaryDirectory(prefix="gs-shards-") as tmp:
        folder = Path(tmp)
        trainer = L.Trainer(accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                            strategy=strategy, inference_mode=False, logger=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            callbacks=[_RankWriter(folder)])
        loader = DataLoader(_Indices(len(job.images)), batch_size=job.batch_size,
                            shuffle=False, collate_fn=torch.tensor)
        trainer.predict(_InversionModule(job), dataloaders=loader, return_predictions=False)
        if not trainer.is_global_zero:
            return None
        merged: dict[int, dict[str, Any]] = {}
        for part in sorted(folder.glob("rank*.json")):
            for entry in json.loads(part.read_text()):
                merged[entry["index"]] = entry  # a padded sampler may repeat an image
    report = JobReport(job.artifact_path, job.options.task, job.seed, job.settings.to_json(),
                       images=[merged[i] for i in sorted(merged)])
    if report_path is not None:
        write_json(report_path, report.to_json(), overwrite=job.overwrite)
    return report
