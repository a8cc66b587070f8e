r"""Peak memory of whole-video inference: is it flat in video length?

  python -m benchmarks.inference_memory [--frames 60,300] [--height 240 --width 432] \
      [--variant lgtsm --nf 16 --window 16 --overlap 6 --batch_windows 1 --threads 0] [--json]

For each length, a synthetic 432x240 clip (moving colour waves + noise, H.264 mp4, 25 fps) and
moving-ellipse masks (a PNG folder) are written to a temporary directory, then a FRESH Python
process runs `VideoInpainter.inpaint_files` on them (mp4 in -> mp4 out, streamed decode and
encode) with a generator of `--variant` and `--nf` (random weights: memory and time do not
depend on the weights). The child reports:

* peak RSS of the whole process (`getrusage(RUSAGE_SELF).ru_maxrss`: Python, TensorFlow,
  model, traces, buffers), and
* the peak during inference alone above the RSS just before it: the child first warms up (one
  window of the same size, so tracing and TensorFlow's allocator pools are in the baseline),
  then resets the kernel's high-water mark (`/proc/self/clear_refs` = 5) and reads `VmHWM`
  after the video;
* the highest RSS sampled (every 0.2 s) in each quarter of the run: flat if memory does not
  grow with the number of frames processed.

The acceptance target (issue 4) is peak(300 frames) / peak(60 frames) <= 1.2. Holding the
300-frame video in memory would take 93 MB as uint8 and 373 MB as float32 by itself.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def synthetic_frame(i, height, width, rng):
    """uint8 [H, W, 3]: colour waves drifting right plus noise."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 60 * np.sin((xx + 3 * i) / 17.0), 128 + 60 * np.cos(yy / 11.0),
                     128 + 40 * np.sin((xx + yy + 2 * i) / 23.0)], -1)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def ellipse_mask(i, height, width):
    """uint8 [H, W] (255 = hole): an ellipse moving along a circle."""
    yy, xx = np.mgrid[0:height, 0:width]
    cy = height / 2 + height / 4 * np.sin(i / 15.0)
    cx = width / 2 + width / 4 * np.cos(i / 15.0)
    inside = ((yy - cy) / (height / 6)) ** 2 + ((xx - cx) / (width / 8)) ** 2 <= 1
    return inside.astype(np.uint8) * 255


def write_inputs(folder, num_frames, height, width):
    """Streams the clip and masks to disk (never all frames in memory)."""
    from PIL import Image

    from lgtsm_tf.video_io import VideoWriter

    rng = np.random.default_rng(0)
    video = os.path.join(folder, "video.mp4")
    masks = os.path.join(folder, "masks")
    os.mkdir(masks)
    with VideoWriter(video, 25, preset="ultrafast") as writer:
        for i in range(num_frames):
            writer.write(synthetic_frame(i, height, width, rng))
            Image.fromarray(ellipse_mask(i, height, width)).save(
                os.path.join(masks, f"{i:05d}.png"))
    return video, masks


def child(args):
    """Runs in a fresh process: warm up, reset the high-water mark, inpaint, report JSON."""
    import keras

    import lgtsm_tf
    from lgtsm_tf.inference import VideoInpainter

    from benchmarks.common import configure_threads

    configure_threads(args.threads)
    keras.utils.set_random_seed(0)
    generator = lgtsm_tf.build_generator(args.variant, nf=args.nf)
    inpainter = VideoInpainter(generator, window=args.window, overlap=args.overlap,
                               batch_windows=args.batch_windows)
    rng = np.random.default_rng(1)
    warm_frames = np.stack([synthetic_frame(i, args.height, args.width, rng)
                            for i in range(args.window)])
    warm_masks = np.stack([ellipse_mask(i, args.height, args.width) for i in range(args.window)])
    inpainter.inpaint_array(warm_frames, warm_masks)
    del warm_frames, warm_masks
    before_kb = _status_kb("VmRSS")
    reset = True
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        reset = False
    samples = []  # (seconds, RSS MB) every 0.2 s, to show the RSS is flat over the run
    stop = threading.Event()

    def sample():
        while not stop.wait(0.2):
            samples.append((time.perf_counter() - start, _status_kb("VmRSS") / 1024))

    start = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    summary = inpainter.inpaint_files(args.video, args.masks, args.output)
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    median = float(np.median([rss for _, rss in samples])) if samples else float("nan")
    quarters = [max([rss for t, rss in samples if q * seconds / 4 <= t < (q + 1) * seconds / 4],
                    default=float("nan")) for q in range(4)]
    result = {
        "frames": summary["frames"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": before_kb / 1024,
        "inference_peak_mb": _status_kb("VmHWM") / 1024 if reset else None,
        "seconds": seconds,
        "model_calls": summary["model_calls"],
        "rss_max_by_quarter_mb": quarters,
        "rss_median_mb": median,
    }
    print("RESULT " + json.dumps(result))


def run_case(num_frames, args, folder):
    video, masks = write_inputs(folder, num_frames, args.height, args.width)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", f"--video={video}",
           f"--masks={masks}", f"--output={os.path.join(folder, 'out.mp4')}",
           f"--nf={args.nf}", f"--window={args.window}", f"--overlap={args.overlap}",
           f"--batch_windows={args.batch_windows}", f"--height={args.height}",
           f"--width={args.width}", f"--variant={args.variant}", f"--threads={args.threads}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", default="60,300", help="comma-separated clip lengths")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=432)
    parser.add_argument("--variant", default="lgtsm", choices=("lgtsm", "gtsm", "2d", "3d"))
    parser.add_argument("--nf", type=int, default=16, help="generator width (paper: 64)")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow intra- and inter-op threads (0: its default)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON line {settings, results by length} instead")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--overlap", type=int, default=6)
    parser.add_argument("--batch_windows", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    parser.add_argument("--masks", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    lengths = [int(n) for n in args.frames.split(",")]
    results = {}
    for n in lengths:
        folder = tempfile.mkdtemp(prefix=f"inference_memory_{n}_")
        try:
            results[n] = run_case(n, args, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps({"variant": args.variant, "nf": args.nf, "height": args.height,
                          "width": args.width, "window": args.window, "overlap": args.overlap,
                          "batch_windows": args.batch_windows, "threads": args.threads,
                          "results": [results[n] for n in lengths]}))
        return
    print(f"{args.variant} generator nf={args.nf} (random weights), window {args.window}, overlap "
          f"{args.overlap}, batch_windows {args.batch_windows}; {args.width}x{args.height} "
          "H.264 in and out, PNG masks; one fresh process per row.\n")
    print("| frames | peak RSS, whole process (MB) | RSS before inference (MB) | "
          "peak during inference (MB) | growth during inference (MB) | median RSS during "
          "inference (MB) | time (s) | frames/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in lengths:
        r = results[n]
        peak = r["inference_peak_mb"]
        growth = "n/a" if peak is None else f"{peak - r['rss_before_mb']:.0f}"
        print(f"| {r['frames']} | {r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} | "
              f"{'n/a' if peak is None else f'{peak:.0f}'} | {growth} | {r['rss_median_mb']:.0f} | "
              f"{r['seconds']:.1f} | "
              f"{r['frames'] / r['seconds']:.1f} |")
    print()
    for n in lengths:
        quarters = " / ".join(f"{q:.0f}" for q in results[n]["rss_max_by_quarter_mb"])
        print(f"{n} frames: highest sampled RSS in each quarter of the run: {quarters} MB")
    if len(lengths) >= 2:
        short, long = results[lengths[0]], results[lengths[-1]]
        ratio = long["peak_rss_mb"] / short["peak_rss_mb"]
        print(f"\nPeak RSS ratio {lengths[-1]} / {lengths[0]} frames: {ratio:.3f} "
              f"(target <= 1.2: {'PASS' if ratio <= 1.2 else 'FAIL'})")
        if long["inference_peak_mb"] and short["inference_peak_mb"]:
            ratio_inf = long["inference_peak_mb"] / short["inference_peak_mb"]
            print(f"Peak-during-inference ratio: {ratio_inf:.3f}")


if __name__ == "__main__":
    main()
