"""vidzoo's Hydra sweeper plugin (``hydra/sweeper=vidzoo``, the default of configs/config.yaml).

Hydra instantiates sweepers only from the ``hydra_plugins`` namespace package, hence this module outside
``vidzoo/`` (pyproject.toml installs both). It is Hydra's basic sweeper that also hands every job's ``JobReturn``
to :class:`vidzoo.sweep.SweepSummary`: a launcher that runs jobs in other processes (hydra-submitit-launcher,
locally or on SLURM) pickles the ``JobReturn`` back here, while the callback's ``on_job_end`` ran over there.
"""

from __future__ import annotations

import itertools
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class SummarySweeper(BasicSweeper):
    """:class:`BasicSweeper` (same keys: ``max_batch_size`` caps how many jobs are launched at once) that gives the
    summary table the result of every job, whichever process ran it."""

    def sweep(self, arguments: list[str]) -> Any:
        from vidzoo.sweep import SweepSummary

        returns = super().sweep(arguments)
        assert self.hydra_context is not None
        summaries = [c for c in self.hydra_context.callbacks.callbacks if isinstance(c, SweepSummary)]
        for job_return in itertools.chain.from_iterable(returns):
            for summary in summaries:
                summary.add(job_return.hydra_cfg.hydra, job_return)
        return returns
