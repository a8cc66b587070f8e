"""The paper's ablation in miniature: each network variant trained with the same recipe, data and
step budget, then scored on real footage by `benchmarks/quality.py`, in one table.

    python -m benchmarks.ablation --runs_dir ~/lgtsm-runs/ablation --train_steps 1500 \
        --output benchmarks/results/ablation

For every --variant (default lgtsm, gtsm, 2d, 3d): `trainers/train.py --flagfile=<--flagfile>
--variant=V --model_dir=<runs_dir>/V --train_steps=N` (from scratch; a killed run resumes
with the same command: the training CPU time then counts this invocation only, and a finished
run is not retrained), then the trained generator on `benchmarks.quality`'s clips (box, cup,
tree; the same seeded masks for every variant), in windows of the training clip length.

Columns: parameters of the generator, training wall and CPU seconds (children's user + system
time), inference seconds per clip (mean; includes the first trace), mean hole PSNR / SSIM over
the clips and the flicker measure (lower is better), plus OpenCV Telea and the temporal copy
on the same masks. Writes `<output>.json` and `<output>.md` (never overwriting without
--overwrite) and prints the table; `<runs_dir>/<variant>.log` keeps each training log.
"""

import argparse
import os
import resource
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import common, quality  # noqa: E402

RECIPE = os.path.join(REPO, "trainers", "configs", "recipe.flags")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(variant, args):
    """Trains (or resumes) one variant; {"train_wall_s", "train_cpu_s"} of this invocation."""
    model_dir = os.path.join(args.runs_dir, variant)
    cmd = [sys.executable, os.path.join(REPO, "trainers", "train.py"),
           f"--flagfile={args.flagfile}", f"--variant={variant}", f"--model_dir={model_dir}",
           f"--train_steps={args.train_steps}", "--verbose=2", *args.train_flag]
    log_path = os.path.join(args.runs_dir, f"{variant}.log")
    print(f"[{variant}] {' '.join(cmd)}  (log: {log_path})", file=sys.stderr, flush=True)
    wall, cpu = time.perf_counter(), children_cpu_seconds()
    with open(log_path, "a") as log:
        done = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"training {variant} failed (exit {done.returncode}); see {log_path}")
    return {"train_wall_s": time.perf_counter() - wall,
            "train_cpu_s": children_cpu_seconds() - cpu, "model_dir": model_dir}


def parameters(model_dir):
    from lgtsm_tf.inference import load_model

    return int(load_model(os.path.join(model_dir, "generator.keras")).count_params())


def table(report):
    lines = ["| variant | parameters | training wall s | training CPU s | inference s/clip | "
             "hole PSNR | hole SSIM | flicker |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in report["variants"].items():
        lines.append(f"| {name} | {row['parameters']:,} | {row['train_wall_s']:.0f} | "
                     f"{row['train_cpu_s']:.0f} | {row['seconds']:.1f} | {row['hole_psnr']:.2f} | "
                     f"{row['hole_ssim']:.4f} | {row['flicker']:.4f} |")
    for name, m in report["baselines"].items():
        lines.append(f"| {name} (classical) | - | - | - | {m['seconds']:.1f} | "
                     f"{m['hole_psnr']:.2f} | {m['hole_ssim']:.4f} | {m['flicker']:.4f} |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs_dir", required=True, help="where each variant trains")
    parser.add_argument("--variant", action="append", default=None, choices=common.VARIANTS)
    parser.add_argument("--flagfile", default=RECIPE)
    parser.add_argument("--train_steps", type=int, default=1500)
    parser.add_argument("--train_flag", action="append", default=[],
                        help="extra trainers/train.py flag for every variant (repeatable)")
    parser.add_argument("--baselines", default="telea,temporal")
    parser.add_argument("--clip", action="append", default=None,
                        help="videos to score on (repeatable; default box, cup, tree)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--output", default=None, help="write <output>.json and <output>.md")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if args.train_steps < 1:
        parser.error("--train_steps must be >= 1")
    if not os.path.isfile(args.flagfile):
        parser.error(f"--flagfile={args.flagfile}: no such file")
    args.variant = args.variant or list(common.VARIANTS)
    args.clip = args.clip or list(quality.DEFAULT_CLIPS)
    args.baselines = [b for b in args.baselines.split(",") if b]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.output:
        quality.check_report_output(args.output, args.overwrite)
    for clip in args.clip:  # before hours of training
        if not os.path.exists(clip):
            raise FileNotFoundError(f"{clip}: no such clip (python -m lgtsm_tf.samples)")
    os.makedirs(args.runs_dir, exist_ok=True)
    trained = {variant: train(variant, args) for variant in args.variant}
    methods = [(v, quality.model_method(t["model_dir"], "fp32")) for v, t in trained.items()]
    methods += quality.method_table([], args.baselines, "fp32")
    scored = quality.evaluate(args.clip, methods, args.frames, args.height, args.width,
                              (0.10, 0.40), 0, None)
    report = {
        "variants": {v: {**{k: t[k] for k in ("train_wall_s", "train_cpu_s")},
                         "parameters": parameters(t["model_dir"]), **scored["means"][v]}
                     for v, t in trained.items()},
        "baselines": {b: scored["means"][b] for b in args.baselines},
        "rows": scored["rows"],
        "settings": {k: v for k, v in vars(args).items() if k not in ("output", "overwrite")},
        "machine": common.machine(),
    }
    text = table(report)
    if args.output:
        quality.write(report, args.output, args.overwrite, text)
    print(text)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError, RuntimeError) as e:
        print(f"ablation: error: {e}", file=sys.stderr)
        sys.exit(1)
