"""Errors a user can cause; the CLIs turn them into exit code 2 and one sentence."""


class UserInputError(ValueError):
    """A file, flag or argument the user gave is not what was expected.

    The message is one sentence naming the file or flag and what was expected.
    """
