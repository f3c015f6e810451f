"""The one error type of vidzoo.eval for bad input: its message names the file (and line) and the fix."""


class EvalInputError(ValueError):
    """Input a user can fix: a malformed file, a missing sequence, an unknown option."""
