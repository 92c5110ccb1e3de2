"""``gs-serve``: a local web page and JSON API around cut-generator artifacts.

The page and any other client use the same HTTP API (see ``docs/serve.md``):
preview what a job starts from, submit it, stream or poll its progress, fetch its
pictures and report, cancel it. A job builds its problem once, in memory, and runs
every column's method on it (the classical answer, no surgery, surgery: what
``gs-invert --compare`` runs), one job at a time per artifact; everything is written
inside the server's temporary folder.
"""

from gs.serve.app import create_app

__all__ = ["create_app"]
