"""Train the CPU recipes (``--train [--models a,b]``) or write MODEL_CARD.md; see ``vidzoo/model_card.py``.

    python tools/model_card.py --train --models c3d_small,r3d_small   # updates results/synthetic_cpu.json
    python tools/model_card.py                                        # writes MODEL_CARD.md
"""

from vidzoo.model_card import main

if __name__ == "__main__":
    raise SystemExit(main())
