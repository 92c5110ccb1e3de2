"""Errors a user can cause, named by the library's own fields.

The library raises :class:`UserInputError` naming the *field* that was wrong
(``measurements``, ``device``, ``batch_size``, ``image``...), never a command-line
flag. A command-line tool renders the same error with its own names for those
fields (``--measurements``, ``IMAGES``) through :mod:`gs.clitools`, and only these
errors become exit code 2: anything else is a bug and surfaces as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class UserInputError(ValueError):
    """A file, flag or argument the user gave is not what was expected.

    Args:
        problem: what is wrong, one sentence without the subject, e.g.
            ``"must be between 1 and 768, got 0"``. It may name other fields as
            ``{field}`` placeholders listed in ``refs`` (``"needs {init} progressive"``).
        field: the library's name of the wrong input (a function argument, a
            request-object or settings field). ``None`` for a message that is
            already a whole sentence (``problem`` is then shown as it is).
        value: shown after the field's name, for files: ``image a.png is not...``.
        refs: other fields named by placeholders in ``problem``.

    ``str(error)`` names fields as the library does; :meth:`describe` with a
    mapping of field → flag gives the command-line wording.
    """

    def __init__(self, problem: str, *, field: str | None = None, value: Any = None,
                 refs: tuple[str, ...] = ()) -> None:
        self.problem = problem
        self.field = field
        self.value = value
        self.refs = tuple(refs)
        super().__init__(self.describe())

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """The one-sentence message with every field called as ``names`` says."""
        names = names or {}
        problem = self.problem
        for ref in self.refs:
            problem = problem.replace("{" + ref + "}", names.get(ref, ref))
        if self.field is None:
            return problem
        subject = names.get(self.field, self.field)
        if self.value is not None:
            subject = f"{subject} {self.value}"
        return f"{subject} {problem}"

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only arguments survive pickling (errors cross process boundaries)
        return (_rebuild, (self.problem, self.field, self.value, self.refs))


def _rebuild(problem: str, field: str | None, value: Any, refs: tuple[str, ...]) -> UserInputError:
    return UserInputError(problem, field=field, value=value, refs=refs)
