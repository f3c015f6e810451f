"""One process-pool helper for the library's parallel loops (tracking evaluation, video indexing, flow extraction).

:func:`pool_map` runs ``fn`` over ``items`` inline when one process suffices, else in a ``multiprocessing`` pool
that is terminated when the loop ends, also when the caller stops reading early or raises: no worker outlives it.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def pool_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    *,
    ordered: bool = True,
    chunksize: int | None = None,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
    start_method: str | None = None,
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item: in this process when ``workers <= 1`` or there is one item, else from
    ``workers`` processes (``ordered=False``: as they finish). ``fn`` must be picklable (a module-level function
    or a ``functools.partial`` of one). ``chunksize`` defaults to a quarter of each worker's share;
    ``start_method`` (``"spawn"``, ``"fork"``, ...) defaults to the platform's; ``initializer(*initargs)`` runs once
    in each worker process (never in this one)."""
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    chunk = chunksize or max(1, len(items) // (4 * workers))
    with mp.get_context(start_method).Pool(workers, initializer, initargs) as pool:  # __exit__ terminates
        yield from (pool.imap if ordered else pool.imap_unordered)(fn, items, chunksize=chunk)
