"""User-facing error types shared across layers (the CLI prints them as one line and exits 2)."""


class ConfigValueError(ValueError):
    """A config value that passed the schema but cannot work; the message names the key and the fix."""


class OutputError(RuntimeError):
    """A file or folder the library must write cannot be written (a file in the way, read-only, disk full, in use
    by another run, or not the library's to replace); the message names the path and the fix."""


class EmptyResultsError(RuntimeError):
    """Nothing could be scored or trained on (every video failed to load); the message says what to check."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete, unsafe or does not fit the model; the message says which and how to fix it."""


def checkpoint_not_found(path: object) -> str:
    """The one line for a checkpoint path that does not exist, as the library and every command line say it."""
    return f"checkpoint not found: {path} (pass a run directory, a checkpoint directory or its model.safetensors)"


def weights_not_found(path: object) -> str:
    """The one line for a published-weights file that does not exist."""
    return f"weights file not found: {path}; pass the .pth/.pickle file you downloaded"
