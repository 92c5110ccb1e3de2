"""A page job and everything the API reports about it (``GET /api/jobs/{id}``)."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gs.serve.page_request import PageRequest

#: The statuses a job ends in.
FINISHED = ("done", "failed", "cancelled")


class JobNotFound(KeyError):
    """No job with this id (never existed, or cleaned up)."""


@dataclass
class Job:
    """A submitted job and everything the API reports about it.

    ``plan`` lists the columns the job will show (key, label, schedule: the cut of
    each stage); ``source`` says what the photo was (``example: coffee`` or
    ``uploaded photo``; a client's file name is never kept). ``progress`` is the
    latest step (column, stage, stages, cut, step, steps, loss, score: the held-out
    residual when the settings hold measurements out, else None; ``steps`` is the
    stage's step budget, which a stop rule usually ends early); ``trace`` every
    step's lowest measurement loss so far, for a loss curve.
    """

    id: str
    request: PageRequest
    folder: Path
    upload: Path
    mask: Path | None
    plan: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""
    status: str = "queued"
    column: str | None = None
    progress: dict[str, Any] | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    current_png: bytes | None = None
    trace: list[tuple[str, int, int, float]] = field(default_factory=list)
    version: int = 0
    created: float = field(default_factory=time.time)
    seconds: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def snapshot(self, position: int | None = None) -> dict[str, Any]:
        """The JSON the API returns for ``GET /api/jobs/{id}``."""
        return {
            "id": self.id,
            "status": self.status,
            "artifact": self.request.artifact,
            "task": self.request.task,
            "request": asdict(self.request),
            "source": self.source,
            "plan": self.plan,
            "created": self.created,
            "queue_position": position,
            "column": self.column,
            "progress": self.progress,
            "trace": self.trace,
            "error": self.error,
            "seconds": self.seconds,
            "result": self.result,
            "version": self.version,
        }
