"""Inpainting quality on held-out real footage, models against classical baselines, in one run.

    python -m benchmarks.quality --model runs/a/generator.keras --model runs/b/generator.keras \
        --output benchmarks/results/quality-demo

Clips: OpenCV's ``box.mp4``, ``cup.mp4`` and ``tree.avi`` (``python -m lgtsm_tf.samples``
fetches them into ``data/samples``; never used for training), ``--frames`` frames each from the
start, resized to ``--height`` x ``--width`` (320x240 by default); ``--clip`` adds more videos.
Each clip gets its own seeded moving masks (``lgtsm_tf.masks.sample_masks`` with the
``object_like`` and ``rand_curve`` presets, mean hole ratio in ``--area_range``, 10-40 % by
default), the same for every method.

Methods: every ``--model`` (through `lgtsm_tf.inference.VideoInpainter`, whole clip, in windows
of ``--window`` frames: by default a preset's own, its training clip length, else 16; after
temporal propagation as `lgtsm-inpaint` runs it, or per ``--propagation`` without it or with
other tolerances) and the
baselines of `lgtsm_tf.evaluation.baselines` (black, mean colour, OpenCV Telea and
Navier-Stokes per frame, temporal nearest-known copy).

Measures, per clip and averaged over clips (all on the composited uint8 result, values / 255):
  hole_psnr   per-frame PSNR over hole pixels, averaged over frames (dB)
  psnr        per-frame PSNR of the whole composited frame (E2FGVI's protocol; dB)
  ssim        per-frame SSIM of the whole frame (Gaussian 11x11, sigma 1.5)
  hole_ssim   per-frame SSIM averaged over hole pixels
  flicker     temporal error inside the holes: mean over consecutive frames of
              | |out[t+1] - out[t]| - |gt[t+1] - gt[t]| | over pixels in the hole of t or t+1
              (0 = the result changes over time exactly as the real video does; lower is better)
  seen_psnr   PSNR over the hole pixels that are known at the same place in a frame at most
              SEEN_REACH (3) frames away (pooled over the clip; dB): on a still camera a copy
              from there is right, so a method that uses its neighbouring frames scores far
              above its unseen_psnr here
  unseen_psnr the same over the other hole pixels (hidden in all those frames; dB)
  seconds     wall time of the method on the clip (models: includes the first trace)

Writes ``<output>.json`` and ``<output>.md`` (refuses to overwrite them without
``--overwrite``) and prints the markdown table; ``--sheet PNG`` also writes each clip's middle
frame as every method filled it, beside the ground truth.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import common  # noqa: E402

DEFAULT_CLIPS = tuple(os.path.join("data", "samples", name)
                      for name in ("box.mp4", "cup.mp4", "tree.avi"))
MEASURES = ("hole_psnr", "psnr", "ssim", "hole_ssim", "flicker", "seen_psnr", "unseen_psnr")
#: A hole pixel is "seen" if the same pixel is known in a frame at most this many frames away.
SEEN_REACH = 3
MASK_PRESETS = ("object_like", "rand_curve")


def load_clip(path, frames, height, width):
    """The first `frames` frames of a video, resized: uint8 [T, height, width, 3]."""
    from PIL import Image

    from lgtsm_tf import video_io

    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such clip (python -m lgtsm_tf.samples fetches the "
                                f"default ones into data/samples)")
    clip, _ = video_io.read_video(path, max_frames=frames)
    if len(clip) < frames:
        raise ValueError(f"{path}: has {len(clip)} frames, fewer than --frames={frames}")
    if clip.shape[1:3] != (height, width):
        clip = np.stack([np.asarray(Image.fromarray(f).resize((width, height), Image.LANCZOS))
                         for f in clip])
    return clip


def clip_masks(num_frames, height, width, seed, area_range):
    """Seeded moving masks, bool [T, H, W] (True = hole)."""
    from lgtsm_tf import masks

    return masks.sample_masks(num_frames, height, width, rng=seed, presets=MASK_PRESETS,
                              area_range=area_range).astype(bool)


def flicker(truth, result, holes):
    """See the module docstring. truth, result: float [T, H, W, 3] in [0, 1]; holes bool."""
    if len(truth) < 2:
        return float("nan")
    region = holes[1:] | holes[:-1]
    if not region.any():
        return float("nan")
    diff = np.abs(np.abs(np.diff(result, axis=0)) - np.abs(np.diff(truth, axis=0))).mean(-1)
    per_pair = [diff[t][region[t]].mean() for t in range(len(region)) if region[t].any()]
    return float(np.mean(per_pair))


def seen_nearby(holes, reach=SEEN_REACH):
    """bool [T, H, W]: hole pixels known at the same place in a frame at most `reach` away."""
    seen = np.zeros_like(holes)
    for t in range(len(holes)):
        lo, hi = max(0, t - reach), min(len(holes), t + reach + 1)
        others = [s for s in range(lo, hi) if s != t]
        if others:
            seen[t] = holes[t] & ~np.all(holes[others], axis=0)
    return seen


def pooled_psnr(truth, result, where):
    """PSNR (dB, <= 100) over the pixels `where` (bool [T, H, W]); nan if there are none."""
    if not where.any():
        return float("nan")
    err = (truth[where].astype(np.float64) - result[where].astype(np.float64)) / 255.0
    mse = float(np.mean(err ** 2))
    return 100.0 if mse == 0 else min(100.0, float(-10.0 * np.log10(mse)))


def measure(truth, result, holes):
    """{measure: value} for one clip. truth, result uint8 [T, H, W, 3]; holes bool [T, H, W]."""
    from lgtsm_tf import metrics

    y_true = truth[None].astype(np.float32) / 255.0
    y_pred = result[None].astype(np.float32) / 255.0
    m = holes[None, ..., None].astype(np.float32)
    seen = seen_nearby(holes)
    return {
        "hole_psnr": float(metrics.psnr(y_true, y_pred, m, max_psnr=100.0)),
        "psnr": float(metrics.psnr(y_true, y_pred, max_psnr=100.0)),
        "ssim": float(metrics.ssim(y_true, y_pred)),
        "hole_ssim": float(metrics.ssim(y_true, y_pred, m)),
        "flicker": flicker(y_true[0], y_pred[0], holes),
        "seen_psnr": pooled_psnr(truth, result, seen),
        "unseen_psnr": pooled_psnr(truth, result, holes & ~seen),
    }


def model_method(path, precision, window=None, overlap=None, tolerance=None):
    """A method inpainting with the model at `path` (preset:NAME, .keras, SavedModel or
    training dir), in windows of `window` frames (default: a preset's own, else 16), after
    temporal propagation with `tolerance` (None: none; "default": the layer's default;
    "still": the default with motion="none")."""
    from lgtsm_tf.inference import VideoInpainter, windowing
    from lgtsm_tf.inference.inpainter import default_propagation

    propagate = tolerance == "default"  # as lgtsm-inpaint runs it
    if tolerance == "still":  # the same, copying from the same pixel position only
        propagate = default_propagation(windowing(path, window, overlap)[0], motion="none")
    elif tolerance not in (None, "default"):  # the same, at another tolerance
        propagate = default_propagation(windowing(path, window, overlap)[0],
                                        tolerance=float(tolerance))
    inpainter = VideoInpainter.from_path(path, precision=precision, window=window,
                                         overlap=overlap, propagate=propagate)
    prop = inpainter.propagation
    print(f"{path}: windows of {inpainter.window} (overlap {inpainter.overlap}), precision "
          f"{inpainter.precision} ({inpainter.precision_reason}), propagation "
          f"{'off' if prop is None else f'reach {prop.reach}, tolerance {prop.tolerance}, motion {prop.motion}'}",
          flush=True)

    def run(frames, holes):
        return inpainter.inpaint_array(frames, holes.astype(np.uint8))
    return run


def method_table(models, baselines, precision, window=None, overlap=None,
                 propagation=("default",)):
    """[(name, fn)]: the models (named by path, one row per `propagation` entry: None = the
    network alone, "default" or a tolerance = after `TemporalPropagation`), then the
    baselines."""
    from lgtsm_tf.evaluation import baselines as baselines_lib

    unknown = [b for b in baselines if b not in baselines_lib.METHODS]
    if unknown:
        raise ValueError(f"--baselines: unknown {unknown}; choose from "
                         f"{sorted(baselines_lib.METHODS)}")
    table = []
    from lgtsm_tf.inference import model_path

    for path in models:
        try:
            file = model_path(path)  # preset:NAME -> its checked weights file
        except ValueError as e:
            raise ValueError(f"--model={path}: {e}") from None
        if not os.path.exists(file):
            raise FileNotFoundError(f"--model={path}: no such file or directory")
        for tolerance in propagation:
            name = path if tolerance is None else (
                f"{path} +propagation" if tolerance == "default" else
                f"{path} +propagation(still camera)" if tolerance == "still" else
                f"{path} +propagation({tolerance})")
            table.append((name, model_method(path, precision, window, overlap, tolerance)))
    table += [(name, baselines_lib.METHODS[name]) for name in baselines]
    return table


def sheet_row(truth, holes, results, t):
    """uint8 [H, (2 + len(results)) * W, 3]: frame t with its hole tinted red, each result,
    the ground truth."""
    from lgtsm_tf.inference import compare_frame

    shown = compare_frame(truth[t], holes[t], truth[t])[:, :truth.shape[2]]
    return np.concatenate([shown] + [r[t] for r in results] + [truth[t]], axis=1)


def write_sheet(rows, names, path, overwrite):
    """Stacks the clips' sheet rows under a header naming the columns; writes a PNG."""
    from PIL import Image, ImageDraw

    from lgtsm_tf.export.files import atomic_file

    width = rows[0].shape[1]
    columns = ["input (hole in red)"] + [os.path.basename(n) for n in names] + ["ground truth"]
    header = Image.new("RGB", (width, 18), "white")
    draw = ImageDraw.Draw(header)
    col_w = width // len(columns)
    for i, name in enumerate(columns):
        draw.text((i * col_w + 4, 3), name[:col_w // 6], fill="black")
    image = np.concatenate([np.asarray(header)] + list(rows), axis=0)
    with atomic_file(path, overwrite=overwrite) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def evaluate(clips, methods, frames, height, width, area_range, seed, sheet_rows=None):
    """Runs every method on every clip. Returns the report dict (see `write`).

    sheet_rows: a list to which each clip's `sheet_row` of its middle frame is appended.
    """
    rows = []
    loaded = [(path, load_clip(path, frames, height, width)) for path in clips]
    for index, (path, truth) in enumerate(loaded):
        holes = clip_masks(len(truth), height, width, seed + index, area_range)
        results = []
        for name, method in methods:
            start = time.perf_counter()
            result = method(truth, holes)
            seconds = time.perf_counter() - start
            if result.shape != truth.shape:
                raise RuntimeError(f"{name} returned {result.shape} for {truth.shape}")
            known = ~holes
            if not np.array_equal(result[known], truth[known]):
                raise RuntimeError(f"{name} changed known pixels of {path}")
            results.append(result)
            row = {"clip": os.path.basename(path), "method": name,
                   "hole_ratio": float(holes.mean()), **measure(truth, result, holes),
                   "seconds": seconds}
            rows.append(row)
            print(f"{row['clip']:>12s} {name:>24s}: hole PSNR {row['hole_psnr']:6.2f} dB, "
                  f"{seconds:6.1f} s", file=sys.stderr, flush=True)
        if sheet_rows is not None:
            sheet_rows.append(sheet_row(truth, holes, results, len(truth) // 2))
    return {"rows": rows, "means": means(rows)}


def means(rows):
    """Per method, each measure averaged over clips."""
    out = {}
    for name in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == name]
        out[name] = {k: float(np.nanmean([r[k] for r in mine])) for k in MEASURES + ("seconds",)}
    return out


def markdown(report):
    """The report as a markdown table: one row per (clip, method), then the means."""
    head = ("| clip | method | hole % | hole PSNR | PSNR | SSIM | hole SSIM | flicker | "
            "seen PSNR | unseen PSNR | s |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in report["rows"]:
        lines.append(f"| {r['clip']} | {r['method']} | {100 * r['hole_ratio']:.1f} | "
                     f"{r['hole_psnr']:.2f} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
                     f"{r['hole_ssim']:.4f} | {r['flicker']:.4f} | {r['seen_psnr']:.2f} | "
                     f"{r['unseen_psnr']:.2f} | {r['seconds']:.1f} |")
    for name, m in report["means"].items():
        lines.append(f"| **mean** | {name} | | {m['hole_psnr']:.2f} | {m['psnr']:.2f} | "
                     f"{m['ssim']:.4f} | {m['hole_ssim']:.4f} | {m['flicker']:.4f} | "
                     f"{m['seen_psnr']:.2f} | {m['unseen_psnr']:.2f} | {m['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def check_report_output(output, overwrite):
    """Fails (FileExistsError) before any work if `write` would refuse `output`."""
    from lgtsm_tf.export.files import check_output

    for ext in (".json", ".md"):
        check_output(output + ext, overwrite)


def write(report, output, overwrite, text=None):
    """Writes `<output>.json` and `<output>.md` (`text`, default `markdown(report)`)
    atomically; returns the text."""
    from lgtsm_tf.export.files import atomic_file

    text = markdown(report) if text is None else text
    for ext, content in ((".json", json.dumps(report, indent=1) + "\n"), (".md", text)):
        with atomic_file(output + ext, overwrite=overwrite) as tmp:
            with open(tmp, "w") as f:
                f.write(content)
    return text


def parse_propagation(text, error):
    """--propagation -> list of None (off), "default" (on), "still" (on, zero motion) or a
    tolerance string."""
    out = []
    for item in (v.strip() for v in text.split(",")):
        if item in ("off", "on", "still"):
            out.append({"off": None, "on": "default"}.get(item, item))
            continue
        try:
            if not float(item) > 0:
                raise ValueError
        except ValueError:
            error(f"--propagation={text}: {item!r} is not off, on, still or a tolerance > 0")
        out.append(item)
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[],
                        help="a generator (preset:NAME, .keras, SavedModel, training dir); "
                             "repeatable")
    parser.add_argument("--baselines", default="black,mean,telea,ns,temporal",
                        help="comma-separated baselines (empty: none)")
    parser.add_argument("--clip", action="append", default=None,
                        help="videos to evaluate on (repeatable; default box, cup, tree)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--area_range", default="0.10,0.40",
                        help="mean hole ratio range of the masks, lo,hi")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "auto"))
    parser.add_argument("--window", type=int, default=None,
                        help="frames per model window (default: a preset's own, else 16)")
    parser.add_argument("--overlap", type=int, default=None,
                        help="frames shared by windows (default: a preset's own, else 6)")
    parser.add_argument("--propagation", default="on",
                        help="temporal propagation before each --model (as lgtsm-inpaint "
                             "does): on, off, still (on, copying from the same pixel position "
                             "only, no camera motion), or a comma-separated list of off / on / "
                             "still / tolerances, one result row each (e.g. off,still,on or "
                             "off,0.02,0.04)")
    parser.add_argument("--threads", type=int, default=0, help="0: TensorFlow's default")
    parser.add_argument("--output", default=None,
                        help="write <output>.json and <output>.md")
    parser.add_argument("--sheet", default=None,
                        help="also write a PNG: per clip, its middle frame with the hole, every "
                             "method's result and the ground truth")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if args.frames < 2 or args.height < 16 or args.width < 16:
        parser.error("--frames must be >= 2 and --height/--width >= 16")
    try:
        lo, hi = (float(v) for v in args.area_range.split(","))
    except ValueError:
        parser.error(f"--area_range={args.area_range}: expected lo,hi")
    if not 0 <= lo < hi <= 1:
        parser.error(f"--area_range={args.area_range}: need 0 <= lo < hi <= 1")
    args.area_range = (lo, hi)
    args.baselines = [b for b in args.baselines.split(",") if b]
    args.propagation = parse_propagation(args.propagation, parser.error)
    args.clip = args.clip or list(DEFAULT_CLIPS)
    if not args.model and not args.baselines:
        parser.error("nothing to evaluate: give --model and/or --baselines")
    return args


def main(argv=None):
    args = parse_args(argv)
    from lgtsm_tf.export.files import check_output
    if args.output:
        check_report_output(args.output, args.overwrite)
    if args.sheet:
        check_output(args.sheet, args.overwrite)
    if args.threads:
        common.configure_threads(args.threads)
    methods = method_table(args.model, args.baselines, args.precision, args.window,
                           args.overlap, args.propagation)
    sheet_rows = [] if args.sheet else None
    report = evaluate(args.clip, methods, args.frames, args.height, args.width,
                      args.area_range, args.seed, sheet_rows)
    if args.sheet:
        write_sheet(sheet_rows, [name for name, _ in methods], args.sheet, args.overwrite)
    report["settings"] = {k: v for k, v in vars(args).items() if k not in ("output", "overwrite")}
    report["machine"] = common.machine()
    text = write(report, args.output, args.overwrite) if args.output else markdown(report)
    print(text)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError, ImportError) as e:
        print(f"quality: error: {e}", file=sys.stderr)
        sys.exit(1)
