"""Signal flow through the generator at initialisation: activation scale and gradient per layer.

    python -m benchmarks.signal_flow --init reference --init scaled [--nf 16] [--json]

For each init scheme (`lgtsm_tf.models.initialization`), one embedded validation clip
(a photograph with camera motion, [1, T, H, W, 3]) with a centred box hole goes through a fresh
generator; the table gives, per gated layer, the RMS of its output and the RMS of the gradient
of the whole-frame L1 loss with respect to its feature kernel. A scheme under which a layer's
gradient is far below Adam's epsilon (1e-8) leaves that layer practically untrained.
"""

import argparse
import math
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import common  # noqa: E402


def layer_stats(variant="lgtsm", nf=16, init="scaled", frames=6, height=64, width=96, seed=0):
    """[(layer name, output RMS, feature-kernel gradient RMS)] for the generator's layers."""
    import keras
    import numpy as np
    import tensorflow as tf

    import lgtsm_tf
    from lgtsm_tf.data import embedded
    from lgtsm_tf.models.generator import GENERATOR_LAYERS
    from lgtsm_tf.models.initialization import initialize

    clip = embedded.embedded_clips("validation", num_frames=frames, height=height, width=width,
                                   seed=seed)[0]
    x = tf.constant(clip[None].astype("float32") / 255.0)
    masks = np.zeros((1, frames, height, width, 1), "float32")
    masks[:, :, height // 4:3 * height // 4, width // 4:3 * width // 4] = 1
    inputs = {"frames": x, "masks": tf.constant(masks)}
    generator = lgtsm_tf.build_generator(variant, nf=nf)
    initialize(generator, init, seed=seed)
    names = [row[0] for row in GENERATOR_LAYERS]
    probe = keras.Model(generator.inputs,
                        [generator.get_layer(n).output for n in names] + [generator.output])
    with tf.GradientTape() as tape:
        outs = probe(inputs)
        loss = tf.reduce_mean(tf.abs(outs[-1] - x))
    grads = dict(zip([w.path for w in generator.trainable_weights],
                     tape.gradient(loss, generator.trainable_weights)))
    rows = []
    for name, out in zip(names, outs[:-1]):
        (grad,) = [g for path, g in grads.items()
                   if path.startswith(name + "/") and path.endswith("feature/kernel")]
        rms = lambda t: float(tf.sqrt(tf.reduce_mean(tf.square(tf.cast(t, tf.float32)))))
        rows.append((name, rms(out), rms(grad)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--init", action="append", default=None,
                        help="init scheme(s) (default: reference and scaled)")
    parser.add_argument("--variant", default="lgtsm", choices=common.VARIANTS)
    parser.add_argument("--nf", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    schemes = args.init or ["reference", "scaled"]
    results = {s: layer_stats(args.variant, args.nf, s) for s in schemes}
    if args.json:
        common.emit({"variant": args.variant, "nf": args.nf, "machine": common.machine(),
                     "layers": {s: [dict(zip(("layer", "output_rms", "grad_rms"), r))
                                    for r in rows] for s, rows in results.items()}}, True)
        return
    head = "| layer | " + " | ".join(f"{s}: output RMS | {s}: grad RMS" for s in schemes) + " |"
    print(head)
    print("|---|" + "---:|---:|" * len(schemes))
    for i, (name, *_) in enumerate(results[schemes[0]]):
        cells = []
        for s in schemes:
            _, out, grad = results[s][i]
            cells += [f"{out:.3g}", f"{grad:.2g}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for s in schemes:
        grads = [g for _, _, g in results[s]]
        print(f"{s}: gradient RMS spans {math.log10(max(grads) / min(grads)):.1f} orders of "
              f"magnitude; {sum(g < 1e-8 for g in grads)} layers below Adam's epsilon 1e-8")


if __name__ == "__main__":
    main()
