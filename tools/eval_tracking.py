"""Score tracker output against ground truth: HOTA, CLEAR, identity, detection mAP, speed mAP, delay.

    python tools/eval_tracking.py gt=data/MOT17/train pred=runs/tracker metrics=[hota,clear,identity] workers=4

Same as the ``vidzoo-eval-tracking`` command; see vidzoo/eval/cli.py for the arguments.
"""

from vidzoo.eval.cli import main

if __name__ == "__main__":
    main()
