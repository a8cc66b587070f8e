r"""The benchmark table of every variant, as markdown (the README's "Speed" section).

  python -m benchmarks.report [--variants lgtsm,gtsm,2d,3d] [--nf 64] [--threads 2] [--runs 3] \
      [--sections forward,train,memory] [--memory_frames 16,64] \
      [--output FILE.md] [--results FILE.json]

Every number comes from a fresh child process (`benchmarks.forward`, `benchmarks.train_step`,
`benchmarks.inference_memory`) on a 1 x 8 x 180 x 320 clip (paper width nf 64 by default):

* forward: parameters; GFLOPs per frame (nominal, and as executed here); frames/s of TensorFlow
  fp32 and bf16, XLA and onnxruntime, and of the authors' PyTorch network timed in the same
  process as TensorFlow fp32 (speedup); achieved GFLOP/s against the fp32 matmul GFLOP/s
  measured in that process too (the practical limit of the machine);
* train: seconds per GAN training step (stage 2: generator + discriminator, reference losses);
* memory: peak memory of whole-video inference (mp4 in, mp4 out) against video length.

A failed measurement is shown as "failed" with its reason below the table, never as a number.
The whole report at nf 64 takes about an hour on 2 cores (the 3d rows are the slowest).
`--results` is rewritten after every measurement.
"""

import argparse
import importlib.util
import json
import sys
import time

from benchmarks import common

FORWARD_COLUMNS = (  # (key, runtime, precision, extra args)
    ("tf_fp32", "tf", "fp32", ["--baseline", "torch", "--matmul"]),
    ("tf_bf16", "tf", "bf16", []),
    ("xla_fp32", "xla", "fp32", []),
    ("ort_fp32", "onnxruntime", "fp32", []),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(common.VARIANTS))
    parser.add_argument("--nf", type=int, default=64)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--train_runs", type=int, default=2)
    parser.add_argument("--sections", default="forward,train,memory")
    parser.add_argument("--memory_frames", default="16,64",
                        help="video lengths of the memory section")
    parser.add_argument("--output", help="also write the markdown here")
    parser.add_argument("--results", help="also write every child's JSON result here")
    args = parser.parse_args(argv)
    args.variants = [v for v in args.variants.split(",") if v]
    unknown = set(args.variants) - set(common.VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {common.VARIANTS}")
    args.sections = [s for s in args.sections.split(",") if s]
    if set(args.sections) - {"forward", "train", "memory"}:
        parser.error("--sections takes forward, train and memory")
    return args


class Collector:
    """Runs children, keeps their results and failures, shows progress on stderr, and (with
    `path`) rewrites the JSON results file after every child, so an interrupted report keeps
    what it measured."""

    def __init__(self, path=None):
        self.results = []
        self.failures = []
        self.path = path

    def save(self):
        if self.path:
            with open(self.path, "w") as f:
                json.dump({"results": self.results, "failures": self.failures}, f, indent=1)

    def run(self, label, module, child_args):
        start = time.perf_counter()
        print(f"[report] {label} ...", file=sys.stderr, flush=True)
        try:
            result = common.run_child(module, child_args)
        except Exception as e:  # shown in the report, not hidden
            reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            self.failures.append(f"{label}: {reason}")
            print(f"[report] {label} FAILED: {reason}", file=sys.stderr, flush=True)
            self.save()
            return None
        print(f"[report] {label} done in {time.perf_counter() - start:.0f} s",
              file=sys.stderr, flush=True)
        self.results.append({"label": label, **result})
        self.save()
        return result


NOT_INSTALLED = "not installed"


def missing_modules(runtime):
    """Python modules a runtime needs that are not installed (empty if it can run)."""
    needs = {"onnxruntime": ("onnxruntime", "tf2onnx", "onnx"), "torch": ("torch",)}
    return [m for m in needs.get(runtime, ()) if importlib.util.find_spec(m) is None]


def _fps(result):
    if result == NOT_INSTALLED:
        return NOT_INSTALLED
    return "failed" if result is None else f"{result['frames_per_s']:.2f}"


def forward_section(args, collect):
    shape = ["--nf", str(args.nf), "--frames", str(args.frames), "--height", str(args.height),
             "--width", str(args.width), "--threads", str(args.threads), "--runs", str(args.runs)]
    rows, notes = [], []
    for runtime in ("onnxruntime", "torch"):
        if missing_modules(runtime):
            notes.append(f"{runtime}: {NOT_INSTALLED} ({', '.join(missing_modules(runtime))}; "
                         f"`pip install -e .[export,torch]` or scripts/benchmarks.sh)")
    for variant in args.variants:
        cells = {}
        for key, runtime, precision, extra in FORWARD_COLUMNS:
            if missing_modules(runtime):
                cells[key] = NOT_INSTALLED
                continue
            if "--baseline" in extra and missing_modules("torch"):
                extra = [e for e in extra if e not in ("--baseline", "torch")]
            cells[key] = collect.run(f"forward {variant} {runtime} {precision}", "forward",
                                     ["--variant", variant, "--runtime", runtime,
                                      "--precision", precision, *shape, *extra])
        rows.append((variant, cells))
    lines = [
        f"Generator forward pass, 1 x {args.frames} x {args.height} x {args.width} clip, "
        f"nf {args.nf}, {args.threads} threads, median of {args.runs} runs after a warm-up; "
        "frames/s. The authors' PyTorch runs in the TF fp32 process, alternating with it run by "
        "run; the ratio is that of the medians, with the lowest and highest ratio of one run.",
        "",
        "| variant | parameters | GFLOPs/frame (executed) | TF fp32 | TF bf16 | XLA fp32 | "
        "onnxruntime fp32 | authors' PyTorch fp32 | TF fp32 / PyTorch (per run) | achieved GFLOP/s "
        "(executed) | % of fp32 matmul (executed) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, cells in rows:
        main = cells["tf_fp32"]
        any_result = next((c for c in cells.values() if isinstance(c, dict)), None)
        params = f"{any_result['params']:,}" if any_result else "failed"
        flops = (f"{any_result['gflops_per_frame']:.1f} "
                 f"({(main or any_result)['executed_gflops_per_frame']:.1f})"
                 if any_result else "failed")
        if main:
            torch_fps = (f"{main['baseline_frames_per_s']:.2f}" if "speedup" in main
                         else NOT_INSTALLED)
            speedup = (f"{main['speedup']:.2f}x ({main['speedup_range'][0]:.2f}-"
                       f"{main['speedup_range'][1]:.2f})" if "speedup" in main else "n/a")
            achieved = f"{main['achieved_gflop_per_s']:.0f} ({main['executed_gflop_per_s']:.0f})"
            fraction = (f"{100 * main['fraction_of_matmul']:.0f}% "
                        f"({100 * main['executed_fraction_of_matmul']:.0f}%)")
        else:
            torch_fps = speedup = achieved = fraction = "failed"
        lines.append(f"| {variant} | {params} | {flops} | {_fps(main)} | "
                     f"{_fps(cells['tf_bf16'])} | {_fps(cells['xla_fp32'])} | "
                     f"{_fps(cells['ort_fp32'])} | {torch_fps} | {speedup} | {achieved} | "
                     f"{fraction} |")
    matmuls = [c["tf_fp32"]["matmul_gflop_per_s"] for _, c in rows if c["tf_fp32"]]
    lines += [""] + notes if notes else []
    if matmuls:
        lines += ["", f"fp32 matmul, measured in each TF fp32 process: "
                      f"{min(matmuls):.0f}-{max(matmuls):.0f} GFLOP/s (best of square "
                      f"1024/2048/4096 products, {args.threads} threads)."]
    return lines


def train_section(args, collect):
    lines = [f"GAN training step (stage 2: generator + discriminator, L1 + perceptual + style + "
             f"adversarial), batch 1 x {args.frames} x {args.height} x {args.width}, nf {args.nf}, "
             f"discriminator nf {args.nf}, median of {args.train_runs}; seconds per step.", "",
             "| variant | fp32 | bf16 |", "|---|---:|---:|"]
    for variant in args.variants:
        cells = []
        for precision in ("fp32", "bf16"):
            result = collect.run(f"train_step {variant} {precision}", "train_step", [
                "--variant", variant, "--nf", str(args.nf), "--d_nf", str(args.nf),
                "--frames", str(args.frames), "--height", str(args.height),
                "--width", str(args.width), "--threads", str(args.threads),
                "--precision", precision, "--runs", str(args.train_runs)])
            cells.append("failed" if result is None else f"{result['median_s']:.3g}")
        lines.append(f"| {variant} | {' | '.join(cells)} |")
    return lines


def memory_section(args, collect):
    lines = [f"Whole-video inference ({args.width}x{args.height} H.264 in and out, PNG masks, "
             f"window 16, overlap 6, nf {args.nf}, {args.threads} threads), one fresh process "
             "per run: peak RSS of the process, and the peak during inference above the RSS "
             "after a warm-up window.", "",
             "| variant | frames | peak RSS (MB) | inference peak above warm RSS (MB) | "
             "seconds | frames/s |", "|---|---:|---:|---:|---:|---:|"]
    for variant in args.variants:
        result = collect.run(f"inference_memory {variant}", "inference_memory", [
            "--variant", variant, "--nf", str(args.nf), "--height", str(args.height),
            "--width", str(args.width), "--threads", str(args.threads),
            "--frames", args.memory_frames])
        if result is None:
            lines.append(f"| {variant} | failed | | | | |")
            continue
        for r in result["results"]:
            growth = ("n/a" if r["inference_peak_mb"] is None
                      else f"{r['inference_peak_mb'] - r['rss_before_mb']:.0f}")
            lines.append(f"| {variant} | {r['frames']} | {r['peak_rss_mb']:.0f} | {growth} | "
                         f"{r['seconds']:.1f} | {r['frames'] / r['seconds']:.2f} |")
    return lines


def main(argv=None):
    args = parse_args(argv)
    collect = Collector(args.results)
    start = time.perf_counter()
    sections = {"forward": forward_section, "train": train_section, "memory": memory_section}
    body = []
    for name in args.sections:
        body += sections[name](args, collect) + [""]
    machine = next((r["machine"] for r in collect.results if "machine" in r), None)
    command = " ".join(["python -m benchmarks.report", *(sys.argv[1:] if argv is None else argv)])
    header = ["## Benchmarks", "", f"`{command}`", ""]
    if machine:
        header += [f"Measured on {machine['cpu']} ({machine['cores']} cores), TensorFlow "
                   f"{machine['tensorflow']}, Python {machine['python']}, in "
                   f"{(time.perf_counter() - start) / 60:.0f} min.", ""]
    if collect.failures:
        body += ["Failed measurements:", ""] + [f"- {f}" for f in collect.failures] + [""]
    text = "\n".join(header + body)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    collect.save()
    return 1 if collect.failures else 0


if __name__ == "__main__":
    sys.exit(main())
