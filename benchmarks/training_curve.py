"""A training run's validation hole PSNR (model_dir/history.csv) as a PNG, beside baselines.

    python -m benchmarks.training_curve --history runs/recipe/history.csv \
        --baseline "mean colour=15.60" --baseline "OpenCV Telea=22.40" --output curve.png

Only the regular validations (steps that are multiples of the first validation interval) are
drawn; the baselines are horizontal lines (measure them on the same validation batches).
"""

import argparse
import csv
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def validation_curve(path):
    """[(step, val_hole_psnr)] at the regular validations of a history.csv."""
    with open(path, newline="") as f:
        rows = [(int(r["step"]), float(r["val_hole_psnr"])) for r in csv.DictReader(f)
                if r.get("val_hole_psnr")]
    if len(rows) < 2:
        raise ValueError(f"{path}: fewer than two validations")
    every = rows[1][0] - rows[0][0]
    return [(s, v) for s, v in rows if s % every == 0], every


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", required=True)
    parser.add_argument("--name", default="model")
    parser.add_argument("--baseline", action="append", default=[], help="NAME=dB, repeatable")
    parser.add_argument("--title", default="validation hole PSNR (dB)")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    from lgtsm_tf.evaluation.plot import plot_curves
    from lgtsm_tf.export.files import atomic_file

    curve, every = validation_curve(args.history)
    values = [v for _, v in curve]
    series, names = [values], [args.name]
    for item in args.baseline:
        name, _, value = item.rpartition("=")
        if not name:
            parser.error(f"--baseline={item}: expected NAME=dB")
        series.append([float(value)] * len(values))
        names.append(name)
    image = plot_curves(series, names, args.title, "step", every)
    with atomic_file(args.output, overwrite=True) as tmp:
        image.save(tmp, format="PNG")
    print(f"{args.output}: {len(values)} validations, last {values[-1]:.2f} dB at step "
          f"{curve[-1][0]}")


if __name__ == "__main__":
    main()
