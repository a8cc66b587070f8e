"""The package's end-to-end check until training lands (`lgtsm-demo`).

1. Reference parity: if the golden vectors produced by the authors' PyTorch code are found
   (`--golden_dir`, default ../shared/golden beside the checkout), loads each reference
   generator/discriminator and prints the max abs difference to the authors' outputs.
2. Model sizes: parameters of every variant at nf=64 and the LGTSM / 3D ratio.
3. A forward pass of the paper-size LGTSM generator (nf=64) on a synthetic 8-frame 180x320 clip
   with moving free-form masks, written as `output.mp4` and `compare.png` (input with the hole
   in red | output) under `--output_dir/<timestamp>/`.

The network is untrained here (random weights): the holes are filled with noise-like colour. This
shows the pipeline and the shapes, not inpainting quality; training is `trainers/train.py`.
"""

import os
import time

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("golden_dir", None,
                    "Folder with the authors' golden vectors; default ../shared/golden.")
flags.DEFINE_string("output_dir", "outputs/demo", "Where to write the demo's files.")
flags.DEFINE_integer("frames", 8, "Frames in the sample clip.")
flags.DEFINE_integer("height", 180, "Clip height (multiple of 4).")
flags.DEFINE_integer("width", 320, "Clip width (multiple of 4).")
flags.DEFINE_integer("seed", 0, "Seed for the clip, masks and weights.")


def sample_clip(num_frames, height, width, seed):
    """A smooth, textured clip with a slow diagonal pan: uint8 [T, H, W, 3]."""
    rng = np.random.default_rng(seed)
    big_h, big_w = height + 4 * num_frames, width + 8 * num_frames
    yy, xx = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
    canvas = np.zeros((big_h, big_w, 3), np.float32)
    for c in range(3):
        for _ in range(6):
            fy, fx = rng.uniform(0.005, 0.05, size=2)
            phase = rng.uniform(0, 2 * np.pi)
            canvas[..., c] += np.sin(fy * yy + fx * xx + phase)
    canvas = (canvas - canvas.min()) / (canvas.max() - canvas.min())
    return np.stack([(255 * canvas[4 * t:4 * t + height, 8 * t:8 * t + width]).astype(np.uint8)
                     for t in range(num_frames)])


def _parity_report(golden_dir):
    from lgtsm_tf.convert import load_reference_discriminator, load_reference_generator
    print(f"Reference parity against {golden_dir}:")
    for variant in ("lgtsm", "gtsm", "3d"):
        folder = os.path.join(golden_dir, f"{variant}-nf16")
        with np.load(os.path.join(folder, "inputs.npz")) as data:
            frames = data["frames"].transpose(0, 1, 3, 4, 2)
            masks = 1.0 - data["masks"].transpose(0, 1, 3, 4, 2)
        with np.load(os.path.join(folder, "outputs.npz")) as data:
            expected = data["outputs"].transpose(0, 1, 3, 4, 2)
        generator = load_reference_generator(os.path.join(folder, "weights.npz"), variant)
        gen_diff = np.abs(generator({"frames": frames, "masks": masks}).numpy() - expected).max()
        with np.load(os.path.join(folder, "disc_outputs.npz")) as data:
            x = data["inputs"].transpose(0, 1, 3, 4, 2)
            d_expected = data["outputs"].transpose(0, 1, 3, 4, 2)
        disc = load_reference_discriminator(os.path.join(folder, "disc_weights.npz"), variant)
        d_out = disc({"frames": x[..., :3], "masks": 1.0 - x[..., 3:4]}).numpy()
        print(f"  {variant:6s} generator max|diff| {gen_diff:.2e}   "
              f"discriminator max|diff| {np.abs(d_out - d_expected).max():.2e}")


def _sizes_report():
    from lgtsm_tf.models import VARIANTS, build_discriminator, build_generator, count_parameters
    print("Parameters at nf=64 (reference counting):")
    counts = {}
    for variant in VARIANTS:
        counts[variant] = count_parameters(build_generator(variant, nf=64))
        disc = count_parameters(build_discriminator(variant, nf=64))
        print(f"  {variant:6s} generator {counts[variant]:>11,}   discriminator {disc:>11,}")
    print(f"  lgtsm / 3d generator parameters: {counts['lgtsm'] / counts['3d']:.3f}")


def _compare_image(frames, masks, output):
    """Rows of [input with the hole in red | output], uint8 [T*H, 2*W, 3]."""
    shown = frames.copy()
    shown[masks[..., 0] > 0] = (255, 0, 0)
    return np.concatenate([np.concatenate([a, b], axis=1) for a, b in zip(shown, output)], 0)


def main(argv):
    del argv
    from PIL import Image

    import keras

    from lgtsm_tf.masks import moving_stroke_masks
    from lgtsm_tf.models import build_generator
    from lgtsm_tf.video_io import write_video

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    golden_dir = FLAGS.golden_dir or os.path.join(repo, "..", "shared", "golden")
    if os.path.isdir(os.path.join(golden_dir, "lgtsm-nf16")):
        _parity_report(golden_dir)
    else:
        print(f"Reference parity: skipped, no golden vectors at {golden_dir} (--golden_dir)")
    _sizes_report()

    keras.utils.set_random_seed(FLAGS.seed)
    frames = sample_clip(FLAGS.frames, FLAGS.height, FLAGS.width, FLAGS.seed)
    masks = moving_stroke_masks(FLAGS.frames, FLAGS.height, FLAGS.width, "object_like_middle",
                                num_strokes=(2, 4), rng=FLAGS.seed)[..., None]
    generator = build_generator("lgtsm", nf=64)
    inputs = {"frames": frames[None].astype(np.float32) / 255.0,
              "masks": masks[None].astype(np.float32)}
    generator(inputs)  # build and warm up
    start = time.perf_counter()
    output = generator(inputs).numpy()[0]
    seconds = time.perf_counter() - start
    output = np.round(np.clip(output, 0.0, 1.0) * 255.0).astype(np.uint8)
    known = masks[..., 0] == 0
    assert np.array_equal(output[known], frames[known]), "known pixels changed"

    out_dir = os.path.join(FLAGS.output_dir, time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out_dir, exist_ok=False)
    write_video(os.path.join(out_dir, "output.mp4"), output, frame_rate=8)
    Image.fromarray(_compare_image(frames, masks, output)).save(os.path.join(out_dir, "compare.png"))
    print(f"Forward pass: LGTSM nf=64 (untrained weights) on 1x{FLAGS.frames}x{FLAGS.height}x"
          f"{FLAGS.width} in {seconds:.2f} s; hole ratio {masks.mean():.1%}; known pixels "
          f"unchanged.")
    print(f"Wrote {out_dir}/output.mp4 and {out_dir}/compare.png")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
