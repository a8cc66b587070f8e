"""lgtsm-demo: the package's main job end to end (run by `bash scripts/main.sh`).

1. Reference parity, when the authors' golden vectors are found (`--golden_dir`, default
   ../shared/golden beside the checkout): max abs difference of each converted network.
2. Demo training: lgtsm-train (`python -m lgtsm_tf.cli.train`, like `trainers/train.py`) with
   `--flagfile=trainers/configs/demo.flags` in a subprocess, on the embedded clips
   (scikit-image photographs with synthetic camera motion; no download), into `<run>/model`
   (checkpoints, TensorBoard logs, samples, history.csv, generator.keras).
3. Whole-video inpainting of a clip neither model saw (OpenCV's `tree.avi` when
   `lgtsm_tf.samples` fetched it into `--samples_dir`, else an embedded validation clip) with
   moving free-form masks, through `lgtsm_tf.inference.VideoInpainter` (temporal propagation
   first, as `lgtsm-inpaint` runs by default, then the network): with the shipped
   preset (`lgtsm_tf.presets.DEFAULT`, what `lgtsm-inpaint` uses without `--model`) into
   `output.mp4` and `output_compare.mp4` (input with the hole in red | output), and with the
   model the demo just trained from scratch into `demo_output.mp4` / `demo_output_compare.mp4`.
4. A report: validation hole L1 before and after training (and `curve.png` of its history),
   and the hole PSNR of both outputs (and of the preset's network alone, without
   propagation) against the original frames next to classical fills of the same holes
   (OpenCV Telea, copying from the nearest frame, ...).

Everything goes to `--output_dir/<timestamp>/`.
"""

import csv
import os
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

from lgtsm_tf.cli import define_program_flags

# The source checkout (trainers/configs/demo.flags, ../shared/golden beside it).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

def define_flags(flag_values=flags.FLAGS):
    """Defines the CLI's flags on `flag_values` (the global FLAGS when run as a program)."""
    fv = flag_values
    flags.DEFINE_string("golden_dir", None,
                        "Folder with the authors' golden vectors; default ../shared/golden.",
                        flag_values=fv)
    flags.DEFINE_string("output_dir", "outputs/demo", "Where the run folder is created.",
                        flag_values=fv)
    flags.DEFINE_string("train_flagfile", os.path.join(REPO, "trainers", "configs", "demo.flags"),
                        "Flagfile of the demo training.", flag_values=fv)
    flags.DEFINE_integer("train_steps", 0, "Override the flagfile's --train_steps (0: keep).",
                         flag_values=fv)
    flags.DEFINE_string("samples_dir", os.path.join("data", "samples"),
                        "Where `python -m lgtsm_tf.samples` put the real clips (optional).",
                        flag_values=fv)
    flags.DEFINE_integer("clip_frames", 40, "Frames of the validation clip to inpaint.",
                         flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of the validation clip's masks.", flag_values=fv)

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


def _train(model_dir, fv):
    # A subprocess, not lgtsm_tf.cli.train in-process: training sets process-wide state (the Keras
    # dtype policy and seeds, --num_cpu_devices' logical devices, which TensorFlow refuses once
    # the parity check above has initialised it; checkpoint-on-signal handlers) that must not
    # leak into the inpainting below. `-m` from the checkout runs this checkout's lgtsm_tf.
    cmd = [sys.executable, "-m", "lgtsm_tf.cli.train",
           f"--flagfile={fv.train_flagfile}", f"--model_dir={model_dir}"]
    if fv.train_steps:
        cmd.append(f"--train_steps={fv.train_steps}")
    print("Training:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)


def _validation_clip(num_frames, fv):
    """(uint8 [T, H, W, 3] frames, description): tree.avi if fetched, else embedded."""
    from lgtsm_tf.video_io import read_video
    tree = os.path.join(fv.samples_dir, "tree.avi")
    if os.path.exists(tree):
        from PIL import Image
        frames, _ = read_video(tree, max_frames=num_frames)
        frames = np.stack([np.asarray(Image.fromarray(f).resize((192, 144), Image.BILINEAR))
                           for f in frames])
        return frames, f"{tree} (OpenCV sample footage, first {len(frames)} frames, 192x144)"
    from lgtsm_tf.data import embedded_clips
    clip = embedded_clips("validation", num_frames=num_frames, height=128, width=192,
                          seed=fv.seed)[0]
    return clip, (f"embedded validation clip ({num_frames} frames, 192x128; photograph not used "
                  f"in training)")


def _history(model_dir):
    path = os.path.join(model_dir, "history.csv")
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_hole_l1")]
    return [(int(r["step"]), float(r["val_hole_l1"])) for r in rows]


def _plot(points, path, title):
    """A small line chart (PIL) of (step, value) points."""
    from PIL import Image, ImageDraw
    width, height, margin = 640, 360, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    steps = [p[0] for p in points]
    values = [p[1] for p in points]
    lo, hi = 0.0, max(values) * 1.1
    s_hi = max(max(steps), 1)

    def xy(step, value):
        return (margin + (width - 2 * margin) * step / s_hi,
                height - margin - (height - 2 * margin) * (value - lo) / (hi - lo))

    draw.line([(margin, margin), (margin, height - margin), (width - margin, height - margin)],
              fill="black")
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        draw.text((5, xy(0, v)[1] - 6), f"{v:.3f}", fill="black")
    for i in range(5):
        s = s_hi * i / 4
        draw.text((xy(s, lo)[0] - 10, height - margin + 8), f"{int(s)}", fill="black")
    draw.line([xy(s, v) for s, v in points], fill=(200, 30, 30), width=2)
    for s, v in points:
        x, y = xy(s, v)
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(200, 30, 30))
    draw.text((margin, 15), title, fill="black")
    draw.text((width // 2 - 20, height - 20), "step", fill="black")
    image.save(path)


def _hole_psnr(frames, output, masks):
    """Hole PSNR (dB) of uint8 [T, H, W, 3] `output` against `frames`; masks [T, H, W]."""
    from lgtsm_tf.metrics import psnr
    return float(psnr(frames[None] / 255.0, output[None] / 255.0,
                      masks[None, ..., None].astype(np.float32)))


def _baseline_psnrs(frames, masks):
    """{name: hole PSNR} of the classical fills (`lgtsm_tf.evaluation.baselines`); OpenCV's
    Telea only when opencv-python-headless is installed."""
    import importlib.util

    from lgtsm_tf.evaluation import baselines
    names = {"black": "hole left black", "mean": "mean colour"}
    if importlib.util.find_spec("cv2") is not None:
        names["telea"] = "OpenCV Telea"
    names["temporal"] = "copy from the nearest frame"
    holes = masks > 0
    out = {}
    for method, label in names.items():
        if method == "temporal" and "telea" not in names:
            continue  # its fallback for never-seen pixels is Telea
        out[label] = _hole_psnr(frames, baselines.METHODS[method](frames, holes), masks)
    return out


def main(argv, flag_values=flags.FLAGS):
    del argv
    fv = flag_values
    from lgtsm_tf import presets
    from lgtsm_tf.inference import VideoInpainter
    from lgtsm_tf.masks import moving_stroke_masks
    from lgtsm_tf.video_io import read_video, write_frame_folder, write_video

    start = time.time()
    run_dir = os.path.abspath(os.path.join(fv.output_dir, time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(run_dir, exist_ok=False)
    golden_dir = fv.golden_dir or os.path.join(REPO, "..", "shared", "golden")
    if os.path.isdir(os.path.join(golden_dir, "lgtsm-nf16")):
        _parity_report(golden_dir)
    else:
        print(f"Reference parity: skipped, no golden vectors at {golden_dir} (--golden_dir)")

    model_dir = os.path.join(run_dir, "model")
    _train(model_dir, fv)

    frames, description = _validation_clip(fv.clip_frames, fv)
    t, h, w, _ = frames.shape
    masks = moving_stroke_masks(t, h, w, "object_like_small", num_strokes=(2, 3), rng=fv.seed)
    write_video(os.path.join(run_dir, "input.mp4"), frames, frame_rate=12, lossless=True)
    write_frame_folder(os.path.join(run_dir, "masks"), masks * 255)
    preset = presets.PREFIX + presets.DEFAULT
    scores = {}
    for label, model, name in (
            (f"the shipped preset ({preset}) + temporal propagation", preset, "output.mp4"),
            ("the demo model (trained above) + temporal propagation", model_dir,
             "demo_output.mp4")):
        inpainter = VideoInpainter.from_path(model, precision="auto")
        result = inpainter.inpaint_files(os.path.join(run_dir, "input.mp4"),
                                         os.path.join(run_dir, "masks"),
                                         os.path.join(run_dir, name), lossless=True,
                                         compare=True)
        output, _ = read_video(result["output"])
        scores[f"{label}, {inpainter.precision}"] = _hole_psnr(frames, output, masks)
    # What the network alone does (lgtsm-inpaint --nopropagate): every hole pixel from the model.
    alone = VideoInpainter.from_path(preset, precision="auto", propagate=False)
    scores[f"the shipped preset's network alone (--nopropagate), {alone.precision}"] = \
        _hole_psnr(frames, alone.inpaint_array(frames, masks), masks)
    baselines = _baseline_psnrs(frames, masks)

    history = _history(model_dir)
    _plot(history, os.path.join(run_dir, "curve.png"), "validation hole L1 (embedded clips)")
    first, last = history[0][1], history[-1][1]
    print("\n=== lgtsm-demo summary ===")
    print(f"Validation hole L1: {first:.4f} at step {history[0][0]} -> {last:.4f} at step "
          f"{history[-1][0]} ({100 * (first - last) / first:.0f}% lower)")
    print(f"Inpainted {description}; hole ratio {masks.mean():.1%}.")
    print("Hole PSNR against the original frames (higher is better):")
    for name, value in list(scores.items()) + list(baselines.items()):
        print(f"  {value:6.2f} dB  {name}")
    print(f"Files in {run_dir}:")
    for name in ("input.mp4", "masks/", "output.mp4", "output_compare.mp4 (the preset)",
                 "demo_output.mp4", "demo_output_compare.mp4 (the demo model)", "curve.png",
                 "model/generator.keras", "model/samples/", "model/logs/ (tensorboard)"):
        print(f"  {name}")
    print(f"Total time {time.time() - start:.0f} s")


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
