"""Jobs of a server: one queue and one worker thread per artifact, cancel, clean-up.

A job that also runs the no-surgery artifact holds that artifact too while it
runs (locks are taken in a fixed order), so no artifact ever runs two jobs at
once. Every file of a job lives in its own folder under the server's root.

Event streams wait on the board without a thread: each waiter is a future of its
event loop, which a change (made on a worker thread) resolves through
``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gs.errors import UserInputError
from gs.io import encode_image
from gs.serve.catalog import Catalog
from gs.serve.job import FINISHED, Job, JobNotFound
from gs.serve.page_jobs import columns, run_page_job

log = logging.getLogger("gs.serve")

#: Seconds between two snapshots of the current image (each costs a generator pass).
CURRENT_IMAGE_INTERVAL = 0.25
#: Loss points kept per job for the page's curve ((column, stage, step, loss) each).
MAX_TRACE = 4000


class QueueFull(UserInputError):
    """An artifact's queue holds ``max_queued`` waiting jobs (the API answers 429)."""


class JobCancelled(Exception):
    """Raised inside the step hook to stop a job's inversion."""


class JobBoard:
    """Submits, runs, reports and cancels jobs.

    Args:
        catalog: the served artifacts.
        root: the server's temporary folder; every job writes only below it (None until
            the server starts and sets it).
        max_queued: jobs waiting per artifact before new ones are refused.
        keep_finished: finished jobs kept (with their files) before the oldest go.
        runner: the job function (``run_page_job``'s signature).
    """

    def __init__(self, catalog: Catalog, root: Path | None, max_queued: int = 8,
                 keep_finished: int = 32, runner: Callable[..., dict] = run_page_job) -> None:
        self.catalog = catalog
        self.root = root
        self.max_queued = max_queued
        self.keep_finished = keep_finished
        self.runner = runner
        self.jobs: dict[str, Job] = {}
        self.mutex = threading.Lock()  # guards jobs, queues and waiters
        # each event stream's future, with its loop and the job it waits on
        self._waiters: dict[asyncio.Future[None], tuple[asyncio.AbstractEventLoop, Job]] = {}
        self.locks = {key: threading.Lock() for key in catalog.by_id}
        self.queues: dict[str, queue.Queue[Job | None]] = {}
        self.workers: dict[str, threading.Thread] = {}
        self.closed = False

    # ------------------------------------------------------------------ API
    def new_folder(self, prefix: str = "") -> tuple[str, Path]:
        """A new id and its empty folder under ``root`` (``prefix`` + the id)."""
        if self.root is None:
            raise RuntimeError("the job board has no folder yet: start the server first")
        job_id = uuid.uuid4().hex[:12]
        folder = self.root / f"{prefix}{job_id}"
        folder.mkdir()
        return job_id, folder

    def submit(self, job: Job) -> Job:
        self.catalog.get(job.request.artifact)
        waiting = sum(1 for j in self.jobs.values()
                      if j.status == "queued" and j.request.artifact == job.request.artifact)
        if waiting >= self.max_queued:
            raise QueueFull(f"the queue of {job.request.artifact} is full ({self.max_queued} "
                            f"waiting); try again when a job has finished")
        with self.mutex:
            self.jobs[job.id] = job
        self._queue(job.request.artifact).put(job)
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    def position(self, job: Job) -> int | None:
        """0 = next to run; None when not waiting."""
        if job.status != "queued":
            return None
        return sum(1 for j in self.jobs.values() if j.status == "queued"
                   and j.request.artifact == job.request.artifact and j.created < job.created)

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel_event.set()
        if job.status == "queued":
            self._update(job, status="cancelled", error="cancelled before it started")
        return job

    async def wait_for_change(self, job: Job, version: int, timeout: float) -> bool:
        """Wait until ``job.version`` differs from ``version``, the board closes or
        ``timeout`` seconds pass; True when the job changed.

        The wait holds no thread: a change wakes it from whichever thread made it, and
        cancelling it (a client that left) ends it at once.
        """
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        with self.mutex:
            if job.version != version or self.closed:
                return job.version != version
            self._waiters[woken] = (loop, job)
        try:
            await asyncio.wait_for(woken, timeout)
        except TimeoutError:
            pass
        finally:
            with self.mutex:
                self._waiters.pop(woken, None)
        return job.version != version

    def close(self) -> None:
        """Cancel everything and stop the workers (the caller removes ``root``)."""
        with self.mutex:
            self.closed = True
            self._wake(None)
        for job in list(self.jobs.values()):
            job.cancel_event.set()
        for q in self.queues.values():
            q.put(None)
        for worker in self.workers.values():
            worker.join(timeout=30)

    def _wake(self, job: Job | None) -> None:
        """Resolve the futures waiting for ``job`` (None: every one); hold ``mutex``."""
        for woken, (loop, awaited) in list(self._waiters.items()):
            if job is None or awaited is job:
                del self._waiters[woken]
                try:
                    loop.call_soon_threadsafe(_resolve, woken)
                except RuntimeError:  # its loop has closed: nobody waits any more
                    pass

    # -------------------------------------------------------------- workers
    def _queue(self, artifact_id: str) -> queue.Queue[Job | None]:
        with self.mutex:
            if artifact_id not in self.queues:
                self.queues[artifact_id] = queue.Queue()
                worker = threading.Thread(target=self._work, args=(artifact_id,),
                                          name=f"gs-serve-{artifact_id}", daemon=True)
                self.workers[artifact_id] = worker
                worker.start()
        return self.queues[artifact_id]

    def _update(self, job: Job, **changes: Any) -> None:
        with self.mutex:
            for key, value in changes.items():
                setattr(job, key, value)
            job.version += 1
            self._wake(job)

    def _work(self, artifact_id: str) -> None:
        q = self.queues[artifact_id]
        while True:
            job = q.get()
            if job is None:
                return
            if job.status != "queued":
                continue
            used = sorted({col.served.id for col in columns(job.request, self.catalog)
                           if col.served is not None})
            locks = [self.locks[key] for key in used]
            for lock in locks:
                lock.acquire()
            try:
                self._run(job)
            finally:
                for lock in reversed(locks):
                    lock.release()
                self._forget_old()

    def _run(self, job: Job) -> None:
        if job.cancel_event.is_set():
            self._update(job, status="cancelled", error="cancelled before it started")
            return
        start = time.perf_counter()
        self._update(job, status="running")
        last_image = [0.0]

        def on_step(column: str, event: Any) -> None:
            if job.cancel_event.is_set():
                raise JobCancelled
            now = time.perf_counter()
            loss = float(np.min(event.losses))
            scores = event.scores  # held-out residuals (None: nothing held out)
            stages = next((len(c["schedule"]) for c in job.plan if c["key"] == column), None)
            changes: dict[str, Any] = {"progress": {
                "column": column, "stage": int(event.stage), "stages": stages,
                "cut": int(event.cut), "step": int(event.step), "steps": int(event.steps),
                "loss": loss, "score": None if scores is None else float(np.min(scores)),
            }}
            if len(job.trace) < MAX_TRACE:
                job.trace.append((column, int(event.stage), int(event.step), loss))
            if now - last_image[0] >= CURRENT_IMAGE_INTERVAL or event.step >= event.steps:
                changes["current_png"] = encode_image(np.asarray(event.current())[0])
                last_image[0] = time.perf_counter()
            self._update(job, **changes)

        def on_column(key: str) -> None:
            # a new column has no progress and no current image until its first step
            last_image[0] = 0.0
            self._update(job, column=key, progress=None, current_png=None)

        try:
            result = self.runner(job.folder, job.request, self.catalog, job.upload, job.mask,
                                 on_step, on_column)
        except JobCancelled:
            self._update(job, status="cancelled", error="cancelled while running",
                         seconds=time.perf_counter() - start)
        except UserInputError as exc:
            self._update(job, status="failed", error=str(exc),
                         seconds=time.perf_counter() - start)
        except Exception as exc:  # a bug must fail this job, never the server
            log.exception("job %s failed", job.id)
            self._update(job, status="failed",
                         error=f"the server failed on this job ({type(exc).__name__}: {exc})",
                         seconds=time.perf_counter() - start)
        else:
            self._update(job, status="done", result=result, seconds=time.perf_counter() - start)

    def _forget_old(self) -> None:
        with self.mutex:
            finished = sorted((j for j in self.jobs.values() if j.status in FINISHED),
                              key=lambda j: j.created)
            stale = finished[: max(0, len(finished) - self.keep_finished)]
            for job in stale:
                del self.jobs[job.id]
        for job in stale:
            if job.folder.parent == self.root:
                shutil.rmtree(job.folder, ignore_errors=True)


def _resolve(woken: asyncio.Future[None]) -> None:
    """Wake a waiter on its own loop (a cancelled or timed-out one is left as it is)."""
    if not woken.done():
        woken.set_result(None)
