"""vidzoo.eval: scores for video object detection, multi-object tracking and action tubes (numpy + scipy).

    from vidzoo.eval.load import load_sequences          # MOTChallenge text or vidzoo JSON -> Sequences
    from vidzoo.eval.tracking import evaluate_tracking   # HOTA, CA-HOTA, CLEAR (MOTA...), IDF1
    from vidzoo.eval.detection import detection_map      # frame AP / mAP (all-point, VOC 11, COCO 101)
    from vidzoo.eval.speed import speed_map              # mAP on slow / medium / fast objects
    from vidzoo.eval.delay import average_delay          # frames until an object is first detected
    from vidzoo.eval.track_map import track_map          # track-level mAP on 3D IoU
    from vidzoo.eval.tubes import frame_map, video_map   # action tubes, UCF101-24 / J-HMDB protocol

Nothing here imports torch or the rest of vidzoo; ``vidzoo-eval-tracking`` is the command line.
"""
