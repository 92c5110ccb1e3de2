"""``gs-serve``: a local web page and JSON API around cut-generator artifacts.

The page and any other client use the same HTTP API (see ``docs/serve.md``):
submit a job, stream or poll its progress, fetch its pictures and report,
cancel it. Every job runs through :func:`gs.jobs.run_job`, one at a time per
artifact, and writes only inside the server's temporary folder.
"""

from gs.serve.app import create_app

__all__ = ["create_app"]
