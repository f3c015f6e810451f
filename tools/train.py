"""Train any registered model with Hydra overrides, e.g.

    python tools/train.py model=r2plus1d_small data.num_frames=8 optim.lr=0.01 trainer.epochs=3
"""

from vidzoo.cli import train_main

if __name__ == "__main__":
    train_main()
