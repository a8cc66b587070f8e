"""What the benchmark scripts share: thread settings, inputs, timing, JSON lines, children.

Each script measures in its own process (thread pools are fixed when TensorFlow starts, and peak
memory is per process); `benchmarks.report` runs them as children and reads their JSON line.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ("lgtsm", "gtsm", "2d", "3d")
#: Keras dtype policy of each --precision.
POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def clip_parser(doc):
    """An argparse parser with the arguments every clip benchmark takes (variant, nf, clip shape,
    threads, precision, runs, json); finish with `parse_clip_args`."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--variant", default="lgtsm", choices=VARIANTS)
    parser.add_argument("--nf", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2,
                        help="intra- and inter-op threads (0: the runtime's default)")
    parser.add_argument("--precision", default="fp32", choices=sorted(POLICIES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    return parser


def parse_clip_args(parser, argv=None):
    """Parses and checks the arguments of `clip_parser` (sizes, run count)."""
    args = parser.parse_args(argv)
    if args.height % 4 or args.width % 4:
        parser.error(f"--height and --width must be multiples of 4 (the generator's contract; "
                     f"whole-video inference pads), got {args.height}x{args.width}")
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    return args


def configure_threads(threads):
    """Sets TensorFlow's intra- and inter-op thread pools to `threads` (0 = TF's default).

    Must run before TensorFlow executes any op; raises RuntimeError otherwise.
    """
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def synthetic_clip(batch, frames, height, width, seed=0):
    """(frames float32 [B, T, H, W, 3] in [0, 1], masks float32 [B, T, H, W, 1], 1 = hole).

    Smooth colour waves plus noise, and a hole of about a fifth of each frame (an ellipse moving
    across the clip). Speed does not depend on the content; the inputs are realistic anyway.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    clip = np.empty((batch, frames, height, width, 3), np.float32)
    masks = np.empty((batch, frames, height, width, 1), np.float32)
    for b in range(batch):
        for t in range(frames):
            phase = 0.3 * t + b
            clip[b, t] = np.stack([0.5 + 0.3 * np.sin(xx / 17.0 + phase),
                                   0.5 + 0.3 * np.cos(yy / 11.0 - phase),
                                   0.5 + 0.2 * np.sin((xx + yy) / 23.0)], -1)
            cy = height * (0.5 + 0.2 * np.sin(phase))
            cx = width * (0.3 + 0.4 * t / max(frames - 1, 1))
            masks[b, t, ..., 0] = (((yy - cy) / (0.3 * height)) ** 2
                                   + ((xx - cx) / (0.2 * width)) ** 2) <= 1.0
    clip += rng.normal(0, 0.02, clip.shape).astype(np.float32)
    return np.clip(clip, 0, 1), masks


def time_runs(fn, runs, warmup=1):
    """Seconds of each of `runs` calls of fn() after `warmup` untimed calls.

    fn must block until its result is computed (e.g. return a numpy array).
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def time_alternating(fns, runs, warmup=1):
    """Seconds of `runs` rounds of calls of each fn in `fns`, taken in turn (a, b, a, b, ...).

    For ratios: the speed of a shared machine drifts over minutes, and alternating puts each
    round of both under the same conditions. Returns one list of times per fn.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(runs):
        for fn, record in zip(fns, times):
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return times


def summary(times):
    return {"times_s": list(times), "median_s": statistics.median(times)}


def machine():
    """Where a result was measured: CPU model, cores, library versions."""
    import tensorflow as tf

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "tensorflow": tf.__version__,
            "python": platform.python_version()}


def matmul_gflops(threads=None, sizes=(1024, 2048, 4096), runs=5):
    """The machine's practical fp32 limit: best median GFLOP/s of TF square matmuls.

    Returns {"gflop_per_s": best, "by_size": {n: GFLOP/s}}. 2 n^3 FLOPs per n x n product.
    """
    import tensorflow as tf

    by_size = {}
    for n in sizes:
        a = tf.random.normal((n, n), seed=1)
        b = tf.random.normal((n, n), seed=2)
        product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        seconds = statistics.median(time_runs(lambda: product(a, b).numpy(), runs))
        by_size[n] = 2 * n ** 3 / seconds / 1e9
    return {"gflop_per_s": max(by_size.values()), "by_size": by_size}


def emit(result, as_json):
    """Prints `result` as one JSON line, or as `key: value` lines."""
    if as_json:
        print(json.dumps(result), flush=True)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


def run_child(module, args, timeout=3600):
    """Runs `python -m benchmarks.<module> <args> --json` in a fresh process; its JSON result.

    Raises RuntimeError with the child's stderr tail when it fails.
    """
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *args, "--json"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return json.loads(lines[-1])
