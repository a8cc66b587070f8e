"""Writes a preset's weights file from a trained model (maintainers: making a new preset).

    python -m lgtsm_tf.presets.build --model ~/lgtsm-runs/recipe --name lgtsm_nf16

Loads `--model` like `lgtsm-inpaint` does (a training directory: its newest checkpoint), refuses
non-finite weights, rebuilds it under the float32 policy (a mixed_bfloat16 run's generator keeps
its weights in float32, so nothing is rounded), saves `lgtsm_tf/presets/<name>.keras`
atomically (never over an existing file without --overwrite) and prints its size and SHA-256
for the `Preset` entry in `lgtsm_tf/presets/__init__.py`.
"""

import argparse
import os
import sys


def build(model, name, overwrite=False):
    """Writes the preset file for `model` (any `inference.load_model` path); returns
    (path, bytes, sha256)."""
    from lgtsm_tf import presets
    from lgtsm_tf.export.files import atomic_file
    from lgtsm_tf.inference import load_model, with_precision

    generator = with_precision(load_model(model), "fp32")
    path = os.path.join(os.path.dirname(os.path.abspath(presets.__file__)), f"{name}.keras")
    with atomic_file(path, overwrite=overwrite) as tmp:  # tmp ends in .keras too
        generator.save(tmp)
    return path, os.path.getsize(path), presets.sha256(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        path, size, digest = build(args.model, args.name, args.overwrite)
    except (ValueError, OSError) as e:
        print(f"presets.build: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({size / 2**20:.2f} MB)\nsha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
