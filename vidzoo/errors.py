"""User-facing errors shared across layers: the command lines print them as one line and exit with status 2."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NoReturn, Sequence


class ConfigValueError(ValueError):
    """A config value that passed the schema but cannot work; the message names the key and the fix."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose usage errors are one line on stderr (``prog: error: ... (see --help)``), exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)

    def parse_checked(self, argv: Sequence[str] | None, check: Callable[[Any], None]) -> argparse.Namespace:
        """Parse ``argv``, then run ``check(args)``; a ConfigValueError it raises is reported like a usage error."""
        args = self.parse_args(argv)
        try:
            check(args)
        except ConfigValueError as exc:
            self.error(str(exc))
        return args
