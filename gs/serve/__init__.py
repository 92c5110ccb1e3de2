"""``gs-serve``: a local web page and JSON API around cut-generator artifacts.

The page and any other client use the same HTTP API (see ``docs/serve.md``):
preview what a job starts from, submit it, stream or poll its progress, fetch its
pictures and report, cancel it. Every generator column runs through
:func:`gs.jobs.run_job`, one job at a time per artifact, beside a classical recovery
of the same measurements; everything is written inside the server's temporary folder.
"""

from gs.serve.app import create_app

__all__ = ["create_app"]
