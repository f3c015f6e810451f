"""Dense optical-flow extraction for a whole dataset: TV-L1 (OpenCV or PyTorch), Farneback or DIS, into JPEGs.

One video -> one directory ``flow_root/<relpath without extension>/`` (layout and quantisation:
:mod:`vidzoo.flow.storage`). A video is written into a sibling ``.<name>.partial`` directory that
is renamed into place only after its last file and ``meta.json`` are written, so an interrupted
run never leaves a directory that looks finished; a re-run skips finished videos and redoes the
rest. ``--shard i/N`` takes every N-th video of the sorted list, so N machines split a dataset
without talking to each other.

    vidzoo-extract-flow data/ucf101/videos --flow-root data/ucf101/flow --algorithm tvl1 --workers 2
    vidzoo-extract-flow data/ucf101/videos --flow-root data/ucf101/flow --algorithm tvl1_torch --device auto --batch 32

``tvl1_torch`` (:mod:`vidzoo.flow.tvl1`) computes ``--batch`` frame pairs of a video at once on
``--device``, while a thread decodes the following frames.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import cv2
import numpy as np

from vidzoo.arguments import OneLineArgumentParser
from vidzoo.flow import storage

PROG = "vidzoo-extract-flow"
ALGORITHMS = ("tvl1", "farneback", "dis", "tvl1_torch")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v")
FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (H, W) uint8 x 2 -> (H, W, 2) float32
BatchFlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (B, H, W) uint8 x 2 -> (B, H, W, 2) float32


class FlowExtractionError(RuntimeError):
    """Flow cannot be computed for a video or with this OpenCV build; the message says why and what to do."""


def make_flow_fn(algorithm: str, **params: Any) -> FlowFn:
    """Return ``fn(prev_gray, next_gray) -> (H, W, 2) float32`` displacements for ``algorithm``.

    ``tvl1``: OpenCV's Dual TV-L1 (Zach et al. 2007) with OpenCV defaults, the algorithm of the
    two-stream papers (needs ``opencv-contrib-python-headless``). ``farneback``: polynomial
    expansion, pyramid 0.5 x 3 levels, window 15. ``dis``: Dense Inverse Search, ``preset``
    ultrafast | fast | medium (default medium). ``tvl1_torch``: :mod:`vidzoo.flow.tvl1` on the
    default device, eager (see :func:`make_batch_flow_fn` for batches). Extra ``params``
    override those settings.
    """
    if algorithm == "tvl1_torch":
        batch_fn = make_batch_flow_fn(ExtractionOptions(algorithm, compile=False, params=params))
        return lambda a, b: batch_fn(a[None], b[None])[0]
    if algorithm == "tvl1":
        factory = getattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create", None) or getattr(
            cv2, "DualTVL1OpticalFlow_create", None
        )
        if factory is None:
            raise FlowExtractionError(
                f"TV-L1 needs OpenCV's contrib modules, missing in cv2 {cv2.__version__}; install "
                f"'opencv-contrib-python-headless=={cv2.__version__}.*' or use --algorithm farneback|dis"
            )
        tvl1 = factory(**params)
        return lambda a, b: tvl1.calc(a, b, None)
    if algorithm == "farneback":
        opts = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
        opts.update(params)
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, **opts)
    if algorithm == "dis":
        presets = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }
        preset = params.pop("preset", "medium")
        if preset not in presets or params:
            raise ValueError(f"dis takes only preset=ultrafast|fast|medium, got preset={preset!r} {params}")
        dis = cv2.DISOpticalFlow_create(presets[preset])
        return lambda a, b: dis.calc(a, b, None)
    raise ValueError(f"unknown flow algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")


def make_batch_flow_fn(options: ExtractionOptions) -> BatchFlowFn:
    """``fn(prev (B, H, W), next (B, H, W)) -> (B, H, W, 2)`` float32 flow for ``options.algorithm``.

    ``tvl1_torch`` runs the batch at once on ``options.device``; the OpenCV algorithms run pair by pair.
    """
    if options.algorithm != "tvl1_torch":
        pair_fn = make_flow_fn(options.algorithm, **options.params)
        return lambda prev, nxt: np.stack([pair_fn(a, b) for a, b in zip(prev, nxt)])
    from vidzoo.flow.torch_backend import make_tvl1_torch_fn

    try:
        return make_tvl1_torch_fn(options.device, options.batch, options.compile, **options.params)
    except (TypeError, ValueError) as exc:
        raise FlowExtractionError(f"tvl1_torch: {exc}") from None


def resize_short_side(image: np.ndarray, short_side: int | None) -> np.ndarray:
    """Resize so the shorter side is ``short_side`` (area interpolation); None keeps the size."""
    if not short_side:
        return image
    h, w = image.shape[:2]
    scale = short_side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image if size == (w, h) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def probe_fps(path: str | Path) -> float:
    """Average frame rate of a video's first video stream (0.0 when the container does not say)."""
    import av

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate if container.streams.video else None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise FlowExtractionError(f"{path}: cannot open ({exc})") from exc
    return float(rate) if rate else 0.0


def iter_rgb_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decode every frame of a video in order as RGB ``(H, W, 3)`` uint8 (PyAV, one thread)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise FlowExtractionError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "NONE"
            for frame in container.decode(stream):
                yield frame.reformat(format="rgb24", threads=1).to_ndarray()
    except (av.FFmpegError, OSError, ValueError) as exc:  # av errors subclass these
        raise FlowExtractionError(f"{path}: cannot decode ({exc})") from exc


@dataclass
class ExtractionOptions:
    """Everything that determines the bytes written for a video (so it goes into meta.json)."""

    algorithm: str = "tvl1"
    bound: float = storage.DEFAULT_BOUND
    quality: int = storage.DEFAULT_QUALITY
    resize: int | None = None  # short side in pixels, None = native size
    dump_rgb: bool = False
    params: dict[str, Any] = field(default_factory=dict)  # algorithm parameters, see make_flow_fn
    device: str = "auto"  # tvl1_torch only: auto | cpu | cuda[:N]
    batch: int = 1  # frame pairs computed at once (tvl1_torch)
    compile: bool = True  # tvl1_torch: torch.compile the solver's inner loops


def is_finished(out_dir: Path) -> bool:
    """A video is finished when its directory exists with ``meta.json`` (written last, then renamed in)."""
    return (out_dir / storage.META_FILE).is_file()


def _partial_dir(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.partial"


def extract_video(video_path: str | Path, out_dir: str | Path, options: ExtractionOptions) -> int:
    """Extract one video into ``out_dir`` (atomically); return the number of frame pairs written.

    Skips (returns 0) when ``out_dir`` is already finished. Raises :class:`FlowExtractionError`
    for an undecodable video or one with fewer than two frames.
    """
    out_dir = Path(out_dir)
    if is_finished(out_dir):
        return 0
    if out_dir.exists():
        raise FlowExtractionError(
            f"{out_dir} exists without {storage.META_FILE} (flow from another tool?), so it is not replaced; "
            "move it away to re-extract, or use it as it is"
        )
    tmp = _partial_dir(out_dir)
    if tmp.exists():  # left over by an interrupted run
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    flow_fn = make_batch_flow_fn(options)
    frames = _prepared_frames(video_path, options.resize)
    if options.algorithm == "tvl1_torch":
        from vidzoo.flow.torch_backend import prefetch

        frames = prefetch(frames)
    grays: list[np.ndarray] = []  # the last frame of the previous batch, then this batch's frames
    pairs, height, width = 0, 0, 0

    def flush() -> int:
        flows = flow_fn(np.stack(grays[:-1]), np.stack(grays[1:]))
        for k, flow in enumerate(flows, start=pairs + 1):
            storage.write_flow(tmp, k, flow, options.bound, options.quality)
        return len(flows)

    try:
        for n, (rgb, gray) in enumerate(frames, start=1):
            height, width = rgb.shape[:2]
            if options.dump_rgb:
                storage.write_rgb(tmp, n, rgb, options.quality)
            grays.append(gray)
            if len(grays) == options.batch + 1:
                pairs += flush()
                grays = grays[-1:]
        if len(grays) > 1:
            pairs += flush()
        if pairs == 0:
            raise FlowExtractionError(f"{video_path}: fewer than two decodable frames, no flow to compute")
        meta = asdict(options) | {
            "num_pairs": pairs, "num_frames": pairs + 1, "height": height, "width": width, "fps": probe_fps(video_path)
        }
        storage.write_meta(tmp, meta)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return pairs


def _prepared_frames(video_path: str | Path, resize: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(rgb (H, W, 3), gray (H, W))`` uint8 per frame, resized so the short side is ``resize``."""
    for rgb in iter_rgb_frames(video_path):
        rgb = resize_short_side(rgb, resize)
        yield rgb, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def list_videos(video_root: str | Path, extensions: Sequence[str] = VIDEO_EXTENSIONS) -> list[Path]:
    """Every video file under ``video_root`` (recursive), sorted by relative path."""
    root = Path(video_root)
    if not root.is_dir():
        raise FileNotFoundError(f"video root {root} is not a directory; pass the folder that holds the videos")
    exts = {e.lower() for e in extensions}
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in exts and p.is_file())


def read_video_list(list_file: str | Path, video_root: str | Path) -> list[Path]:
    """Videos named in a list file (first column of each line, relative to ``video_root``; UCF101 split files work)."""
    lines = Path(list_file).read_text().splitlines()
    return sorted(Path(video_root) / ln.split()[0] for ln in lines if ln.strip())


def parse_shard(text: str) -> tuple[int, int]:
    """``"1/4"`` -> ``(1, 4)``: shard index (0-based) and shard count."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shard must look like i/N (e.g. 0/4), got {text!r}") from None
    if not (count >= 1 and 0 <= index < count):
        raise argparse.ArgumentTypeError(f"shard {text!r}: need N >= 1 and 0 <= i < N")
    return index, count


def shard_videos(videos: Sequence[Path], index: int, count: int) -> list[Path]:
    """Shard ``index`` of ``count``: every ``count``-th video of the sorted list, starting at ``index``."""
    return sorted(videos)[index::count]


@dataclass
class ExtractionSummary:
    done: int = 0  # videos extracted in this run
    skipped: int = 0  # already finished before this run
    pairs: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)  # "<path>: <reason>"


def _job(args: tuple[str, str, ExtractionOptions]) -> tuple[str, int, str | None]:
    video, out_dir, options = args
    try:
        return video, extract_video(video, out_dir, options), None
    except FlowExtractionError as exc:
        return video, 0, str(exc)


def _init_worker(uses_torch: bool) -> None:
    # Worker processes belong to this module: one OpenCV (and torch) thread each, so N workers use N cores.
    cv2.setNumThreads(1)
    if uses_torch:
        import torch

        torch.set_num_threads(1)


def extract_dataset(
    videos: Sequence[str | Path],
    video_root: str | Path,
    flow_root: str | Path,
    options: ExtractionOptions,
    *,
    workers: int = 1,
    progress: bool = True,
) -> ExtractionSummary:
    """Extract flow for ``videos`` (paths under ``video_root``) into ``flow_root``.

    ``workers=0`` runs in this process; ``workers>=1`` uses that many processes. Finished videos
    are skipped, so a killed run resumes where it stopped.
    """
    from tqdm import tqdm

    make_batch_flow_fn(options)  # fail fast on a missing algorithm, a bad parameter or device
    summary = ExtractionSummary()
    jobs = []
    for video in videos:
        out_dir = storage.flow_dir_for(video, flow_root, video_root)
        if is_finished(out_dir):
            summary.skipped += 1
        else:
            jobs.append((str(video), str(out_dir), options))
    start = time.perf_counter()
    bar = tqdm(total=len(jobs), unit="video", disable=not progress, dynamic_ncols=True, desc=options.algorithm,
               mininterval=0.5)
    uses_torch = options.algorithm == "tvl1_torch"
    pool = mp.get_context("spawn").Pool(workers, _init_worker, (uses_torch,)) if workers >= 1 else None
    try:
        results = pool.imap_unordered(_job, jobs) if pool else map(_job, jobs)
        for video, pairs, error in results:
            if error:
                summary.failed.append(error)
            else:
                summary.done += 1
                summary.pairs += pairs
            bar.update(1)
            rate = summary.pairs / max(time.perf_counter() - start, 1e-9)
            bar.set_postfix(pairs_per_s=f"{rate:.1f}", failed=len(summary.failed))
    finally:
        bar.close()
        if pool:
            pool.terminate()
            pool.join()
    summary.seconds = time.perf_counter() - start
    return summary


def _positive_int(text: str) -> int:
    value = int(text) if text.strip().lstrip("+-").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"need a positive integer, got {text!r}")
    return value


def build_parser() -> OneLineArgumentParser:
    p = OneLineArgumentParser(
        prog=PROG,
        description="Extract dense optical flow (TV-L1 / Farneback / DIS / batched TV-L1 in PyTorch) for every video "
        "under a folder, as quantised JPEGs flow_root/<relpath>/flow_{x,y}_00001.jpg. Resumable and shardable.",
    )
    p.add_argument("video_root", help="folder holding the videos (searched recursively)")
    p.add_argument("--flow-root", required=True, help="output folder; mirrors video_root's layout")
    p.add_argument("--list", dest="list_file", help="only the videos in this list file (first column, relative to video_root)")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="tvl1")
    p.add_argument("--dis-preset", choices=("ultrafast", "fast", "medium"), default="medium")
    p.add_argument("--device", default="auto", help="tvl1_torch: auto (GPU if any), cpu, cuda, cuda:N")
    p.add_argument("--batch", type=_positive_int, default=1, help="tvl1_torch: frame pairs per batch (GPU: 32-64)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                   help="tvl1_torch: torch.compile the solver (faster; compiles once per frame size, cached)")
    p.add_argument("--bound", type=float, default=storage.DEFAULT_BOUND, help="clip displacements to [-bound, bound] px")
    p.add_argument("--quality", type=int, default=storage.DEFAULT_QUALITY, help="JPEG quality 1-100")
    p.add_argument("--resize", type=int, default=None, help="resize frames so the short side is this many pixels")
    p.add_argument("--dump-rgb", action="store_true", help="also store RGB frames as img_00001.jpg")
    p.add_argument("--workers", type=int, default=1, help="processes (0 = run in this process)")
    p.add_argument("--shard", type=parse_shard, default=(0, 1), help="i/N: process only shard i (0-based) of N")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and :func:`run`; ``vidzoo-extract-flow`` (vidzoo.cli) also range-checks the flags first."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Extract flow as the parsed flags say; returns the exit status (1 when a video failed)."""
    videos = read_video_list(args.list_file, args.video_root) if args.list_file else list_videos(args.video_root)
    videos = shard_videos(videos, *args.shard)
    params = {"preset": args.dis_preset} if args.algorithm == "dis" else {}
    options = ExtractionOptions(args.algorithm, args.bound, args.quality, args.resize, args.dump_rgb, params,
                                args.device, args.batch, args.compile)
    try:
        summary = extract_dataset(
            videos, args.video_root, args.flow_root, options,
            workers=args.workers, progress=not args.no_progress,
        )
    except FlowExtractionError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    rate = summary.pairs / max(summary.seconds, 1e-9)
    print(
        f"shard {args.shard[0]}/{args.shard[1]}: {summary.done} extracted, {summary.skipped} already done, "
        f"{len(summary.failed)} failed; {summary.pairs} frame pairs in {summary.seconds:.1f} s ({rate:.1f} pairs/s)"
    )
    for line in summary.failed:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if summary.failed else 0
