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
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from torch.utils.data import DataLoader, Dataset

from gs.artifacts import Artifact, load
from gs.devices import resolve_device, usable_cores
from gs.io import atomic_write, write_json
from gs.jobs import (
    InversionJob,
    JobReport,
    list_inputs,
    load_problems,
    new_report,
    prepare_job,
    solve_problems,
    surgery_for,
)
from gs.jobs.report import method_settings
from gs.settings import InversionSettings


@dataclass(frozen=True)
class _Shard:
    """What every worker process needs: the job, its resolved settings, the images to do."""

    job: InversionJob
    settings: InversionSettings
    image_shape: tuple[int, int, int]
    todo: tuple[int, ...]


def cpu_threads_per_process(processes: int) -> int:
    """Intra-op threads for each of ``processes`` CPU workers on this machine.

    Every worker defaulting to all cores would oversubscribe them ``processes``
    times over; each gets its share of the cores this process may run on.
    """
    return max(1, usable_cores() // max(1, processes))


class _Indices(Dataset):
    def __init__(self, indices: tuple[int, ...]) -> None:
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> int:
        return self.indices[position]


class _InversionModule(L.LightningModule):
    """Each predict batch is a list of image indices; the result, their report entries."""

    def __init__(self, shard: _Shard) -> None:
        super().__init__()
        self.shard = shard
        self.artifact: Artifact | None = None

    def on_predict_start(self) -> None:
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads_per_process(self.trainer.num_devices))
        self.artifact = load(self.shard.job.artifact, device=str(self.device))
        self.method = surgery_for(replace(self.shard.job, settings=self.shard.settings),
                                  self.artifact)

    def predict_step(self, batch: torch.Tensor, batch_idx: int) -> list[dict[str, Any]]:
        shard, job = self.shard, self.shard.job
        inputs = list_inputs(job)  # checked by run_sharded; outputs may exist by now
        wanted = {int(i) for i in batch}
        chosen = [item for item in inputs if item.index in wanted]
        problems = load_problems(job, shard.image_shape, chosen)
        outputs = {item.index: item.output for item in inputs}
        return solve_problems(self.method, job, problems, outputs)


class _RankWriter(BasePredictionWriter):
    """Writes each rank's entries to ``folder/rank<R>.json``, then waits for all ranks."""

    def __init__(self, folder: Path) -> None:
        super().__init__(write_interval="epoch")
        self.folder = folder

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           predictions: Any, batch_indices: Any) -> None:
        entries = [entry for batch in predictions for entry in batch]
        path = self.folder / f"rank{trainer.global_rank}.json"
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps(entries)), overwrite=True)
        trainer.strategy.barrier()


def run_sharded(
    job: InversionJob,
    *,
    devices: int,
    num_nodes: int = 1,
    accelerator: str = "auto",
    strategy: str = "auto",
) -> JobReport | None:
    """Run ``job`` over ``devices`` × ``num_nodes`` processes; rank 0 returns the report.

    Inputs and outputs are checked in the calling process before any worker
    starts (``job.resume`` skips the images its report records as done). Other
    ranks (under an external launcher) return ``None``.
    """
    artifact = load(job.artifact, device="cpu" if job.device == "auto" else
                    resolve_device(job.device))
    method = surgery_for(job, artifact)
    image_shape = tuple(artifact.metadata.image_shape)
    prepared = prepare_job(job, method_settings(method))
    load_problems(job, image_shape, prepared.todo)  # refuse bad inputs before any worker starts
    shard = _Shard(job, method.settings, image_shape,
                   tuple(item.index for item in prepared.todo))
    report = new_report(job, method)
    if job.report is not None:  # before any output, as run_job does (see prepare_job)
        report.images = [prepared.done[i] for i in sorted(prepared.done)]
        write_json(job.report, report.to_json(), overwrite=True)
    if strategy == "auto" and devices * num_nodes > 1:
        strategy = "ddp_spawn"  # works from any entry point, tests and notebooks included
    merged: dict[int, dict[str, Any]] = dict(prepared.done)
    with tempfile.TemporaryDirectory(prefix="gs-shards-") as tmp:
        folder = Path(tmp)
        trainer = L.Trainer(accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                            strategy=strategy, inference_mode=False, logger=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            callbacks=[_RankWriter(folder)])
        loader = DataLoader(_Indices(shard.todo), batch_size=job.batch_size, shuffle=False,
                            collate_fn=torch.tensor)
        trainer.predict(_InversionModule(shard), dataloaders=loader, return_predictions=False)
        if not trainer.is_global_zero:
            return None
        for part in sorted(folder.glob("rank*.json")):
            for entry in json.loads(part.read_text()):
                merged[entry["index"]] = entry  # a padded sampler may repeat an image
    report.images = [merged[i] for i in sorted(merged)]
    if job.report is not None:
        write_json(job.report, report.to_json(), overwrite=True)
    return report
