"""User-facing error types shared across layers (the CLI prints them as one line and exits 2)."""


class ConfigValueError(ValueError):
    """A config value that passed the schema but cannot work; the message names the key and the fix."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete, unsafe or does not fit the model; the message says which and how to fix it."""
