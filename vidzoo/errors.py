"""User-facing error types shared across layers (the CLI prints them as one line and exits 2)."""


class ConfigValueError(ValueError):
    """A config value that passed the schema but cannot work; the message names the key and the fix."""
