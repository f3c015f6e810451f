"""Engine: trainer, evaluation, checkpoints, metrics, distributed, plots."""
