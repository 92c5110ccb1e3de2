"""A job as server-sent events: one event per change (event name = status), until it ends.

The stream waits on the job board (:meth:`~gs.serve.queue.JobBoard.wait_for_change`),
which holds no thread, so open streams cost nothing while their jobs are quiet, and a
client that leaves ends its stream at once: Starlette cancels a streaming response whose
client disconnects (ASGI HTTP before spec 2.4, as uvicorn serves it), and a cancelled
wait leaves nothing behind. Otherwise the next keep-alive finds the client gone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

from fastapi import Request

from gs.serve.job import FINISHED, Job
from gs.serve.queue import JobBoard

#: Seconds an event stream waits for a change before it sends a keep-alive comment
#: (and checks that its client is still there).
KEEPALIVE_S = 5.0


async def job_events(board: JobBoard, job: Job, request: Request
                     ) -> AsyncGenerator[str, None]:
    """The text of ``job``'s event stream: ``event: <status>`` with the job's snapshot as
    ``data`` (JSON) at every change, a ``: keep-alive`` comment after :data:`KEEPALIVE_S`
    quiet seconds; it ends after the job's last event, when the client has gone or the
    board closes."""
    seen = -1
    while True:
        if job.version != seen:
            seen = job.version
            data = json.dumps(job.snapshot(board.position(job)))
            yield f"event: {job.status}\ndata: {data}\n\n"
            if job.status in FINISHED:
                return
        elif await request.is_disconnected() or board.closed:
            return
        else:  # a comment line keeps proxies from closing a quiet stream
            yield ": keep-alive\n\n"
        await board.wait_for_change(job, seen, KEEPALIVE_S)
