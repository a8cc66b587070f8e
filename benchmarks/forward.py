r"""Speed of the generator's forward pass on one clip.

  python -m benchmarks.forward --variant lgtsm --nf 64 --frames 8 --height 180 --width 320 \
      --threads 2 [--precision fp32|bf16|fp16] [--runtime tf|xla|onnxruntime|torch] \
      [--runs 3] [--baseline torch] [--matmul] [--json]

One warm-up call (tracing, allocator pools), then the median of `--runs` timed calls on a
synthetic clip (`benchmarks.common.synthetic_clip`); random weights (speed does not depend on
them). Runtimes:

* tf: the Keras generator inside one `tf.function` (graph mode, Grappler + oneDNN), as
  `lgtsm_tf.inference` and the SavedModel run it;
* xla: the same function with `jit_compile=True`;
* onnxruntime: the model exported to a SavedModel and then to ONNX by the package's own export
  path (`lgtsm_tf.export`, parity-checked), run by onnxruntime's CPU provider with `--threads`
  intra- and inter-op threads (fp32 only);
* torch: the authors' network in PyTorch (`benchmarks.torch_reference`: their layout and
  operations, checked against the golden outputs), `torch.set_num_threads(--threads)` (fp32).

Other runtimes and precisions than TF fp32 also report how far their output is from TF fp32
with the same weights (`max_abs_diff_vs_tf_fp32`, `hole_mean_abs_diff_vs_tf_fp32`).

`--baseline torch` times the PyTorch network in the SAME process, each with its own warm-up,
then alternating with the main runtime run by run (a shared machine's speed drifts over
minutes), so `speedup` (ratio of the medians) compares runs made under the same conditions;
`speedup_range` is the lowest and highest ratio of one round. `--matmul`
adds the machine's fp32 matmul GFLOP/s (`benchmarks.common.matmul_gflops`), measured in this
process too, and the fraction of it that the forward pass achieves.

FLOP counts are `lgtsm_tf.models.generator_flops`: `gflops_per_frame` is the nominal count (the
reference's formulation, the one to compare implementations by) and `achieved_gflop_per_s` is
nominal FLOPs / time; `executed_gflops_per_frame` is what this package computes (its deconvs run
as sub-pixel phases) and `executed_gflop_per_s` its arithmetic rate.
"""

import os
import sys
import tempfile

from benchmarks import common


def parse_args(argv=None):
    parser = common.clip_parser(__doc__)
    parser.add_argument("--runtime", default="tf", choices=("tf", "xla", "onnxruntime", "torch"))
    parser.add_argument("--baseline", choices=("torch",),
                        help="also time this runtime in the same process; adds `speedup`")
    parser.add_argument("--matmul", action="store_true",
                        help="also measure the fp32 matmul GFLOP/s in this process")
    args = common.parse_clip_args(parser, argv)
    if args.precision != "fp32" and args.runtime in ("onnxruntime", "torch"):
        parser.error(f"--runtime {args.runtime} is measured in fp32 only")
    return args


def _build(args):
    import keras

    from lgtsm_tf.models import build_generator

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(common.POLICIES[args.precision])
    try:
        keras.utils.set_random_seed(0)
        return build_generator(args.variant, nf=args.nf)
    finally:
        keras.config.set_dtype_policy(previous)


def tf_runner(args, frames, masks, workdir=None):
    """A blocking callable running the generator in TensorFlow (optionally XLA-compiled)."""
    import tensorflow as tf

    model = _build(args)
    forward = tf.function(lambda f, m: model({"frames": f, "masks": m}, training=False),
                          jit_compile=args.runtime == "xla")
    frames, masks = tf.constant(frames), tf.constant(masks)
    return model, lambda: forward(frames, masks).numpy()


def deviation_from_fp32(model, output, frames, masks):
    """How far `output` (this runtime/precision) is from the same weights run by TensorFlow in
    float32: max abs difference, and mean abs difference inside the holes (outside them the
    input is copied), in [0, 1] pixel units."""
    import keras
    import numpy as np

    from lgtsm_tf.export.savedmodel import float32_copy

    reference = float32_copy(model)
    expected = keras.ops.convert_to_numpy(reference({"frames": frames, "masks": masks}))
    diff = np.abs(np.asarray(output, np.float32) - expected)
    hole = np.broadcast_to(masks > 0.5, diff.shape)
    return {"max_abs_diff_vs_tf_fp32": float(diff.max()),
            "hole_mean_abs_diff_vs_tf_fp32": float(diff[hole].mean()) if hole.any() else 0.0}


def onnxruntime_runner(args, frames, masks, workdir):
    """Exports the generator (SavedModel -> ONNX, parity-checked) and runs it in onnxruntime."""
    import onnxruntime as ort

    from lgtsm_tf.export.onnx_export import export_onnx
    from lgtsm_tf.export.savedmodel import export_saved_model

    model = _build(args)
    saved = export_saved_model(model, os.path.join(workdir, "savedmodel"), 1,
                               propagate=False)["path"]  # the network alone
    path = os.path.join(workdir, "model.onnx")
    export_onnx(saved, path, log=None)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = args.threads
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {"frames": frames, "masks": masks}
    return model, lambda: session.run(None, feed)[0]


def torch_runner(args, frames, masks):
    """(parameters, blocking callable): the authors' network in PyTorch on the same clip
    (their layout [B, T, C, H, W], mask 1 = known)."""
    import torch

    from benchmarks.torch_reference import ReferenceGenerator

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ReferenceGenerator(args.variant, args.nf).eval()
    f = torch.from_numpy(frames.transpose(0, 1, 4, 2, 3).copy())
    known = torch.from_numpy(1.0 - masks.transpose(0, 1, 4, 2, 3))

    def run():
        with torch.no_grad():  # as the authors' test script runs it
            return model(f, known).numpy()

    return sum(p.numel() for p in model.parameters()), run


def measure(args):
    common.configure_threads(args.threads)
    from lgtsm_tf.models import count_parameters, generator_flops

    frames, masks = common.synthetic_clip(args.batch, args.frames, args.height, args.width)
    num_frames = args.batch * args.frames
    nominal = generator_flops(args.variant, args.nf, args.height, args.width)
    executed = nominal if args.runtime == "torch" else generator_flops(
        args.variant, args.nf, args.height, args.width, executed=True)
    result = {"variant": args.variant, "nf": args.nf,
              "shape": [args.batch, args.frames, args.height, args.width],
              "precision": args.precision, "runtime": args.runtime, "threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="lgtsm_forward_") as workdir:
        if args.runtime == "torch":
            params, run = torch_runner(args, frames, masks)
        else:
            runner = tf_runner if args.runtime != "onnxruntime" else onnxruntime_runner
            model, run = runner(args, frames, masks, workdir)
            params = count_parameters(model)
        if args.baseline:
            times, base_times = common.time_alternating(
                [run, torch_runner(args, frames, masks)[1]], args.runs)
        else:
            times = common.time_runs(run, args.runs)
        if args.runtime != "torch" and (args.runtime, args.precision) != ("tf", "fp32"):
            result.update(deviation_from_fp32(model, run(), frames, masks))
    median = common.summary(times)["median_s"]
    result.update(common.summary(times))
    result.update({
        "frames_per_s": num_frames / median,
        "params": int(params),
        "gflops_per_frame": nominal / 1e9,
        "executed_gflops_per_frame": executed / 1e9,
        "achieved_gflop_per_s": nominal * num_frames / median / 1e9,
        "executed_gflop_per_s": executed * num_frames / median / 1e9,
    })
    if args.baseline:
        base = common.summary(base_times)
        rounds = [b / t for b, t in zip(base_times, times)]
        result.update({"baseline": args.baseline, "baseline_times_s": base["times_s"],
                       "baseline_median_s": base["median_s"],
                       "baseline_frames_per_s": num_frames / base["median_s"],
                       "speedup": base["median_s"] / median,
                       "speedup_range": [min(rounds), max(rounds)]})
    if args.matmul:
        matmul = common.matmul_gflops()
        result.update({"matmul_gflop_per_s": matmul["gflop_per_s"],
                       "fraction_of_matmul": result["achieved_gflop_per_s"]
                       / matmul["gflop_per_s"],
                       "executed_fraction_of_matmul": result["executed_gflop_per_s"]
                       / matmul["gflop_per_s"]})
    result["machine"] = common.machine()
    return result


def main(argv=None):
    args = parse_args(argv)
    common.emit(measure(args), args.json)


if __name__ == "__main__":
    sys.exit(main())
