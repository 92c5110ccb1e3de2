"""``python -m gs``: the ``gs`` command (:mod:`gs.commands`)."""

from gs.commands import main

if __name__ == "__main__":
    main()
