"""Command-line parsing shared by the tools: a usage error is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NoReturn, Sequence

from vidzoo.errors import ConfigValueError


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
