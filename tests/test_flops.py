"""lgtsm_tf.models.generator_flops against TensorFlow's own per-op FLOP statistics."""

import tensorflow as tf
from absl.testing import parameterized
from tensorflow.python.framework import ops as tf_ops

from lgtsm_tf.layers import GatedUpsample
from lgtsm_tf.models import build_generator, generator_flops
from lgtsm_tf.models.generator import GENERATOR_LAYERS
from lgtsm_tf.ops import temporal
from tests.testing import TestCase

COUNTED_OPS = ("Conv2D", "Conv3D", "DepthwiseConv2dNative")
FRAMES, HEIGHT, WIDTH, NF = 3, 32, 48, 8


def graph_flops(fn, num_inputs):
    """Sum of TensorFlow's registered "flops" statistics of the convolution ops fn runs."""
    specs = [tf.TensorSpec((1, FRAMES, HEIGHT, WIDTH, 3)), tf.TensorSpec((1, FRAMES, HEIGHT,
                                                                          WIDTH, 1))]
    graph = tf.function(fn).get_concrete_function(*specs[:num_inputs]).graph
    return sum(int(tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value)
               for op in graph.get_operations() if op.type in COUNTED_OPS)


class GeneratorFlopsTest(TestCase):

    @parameterized.parameters("lgtsm", "gtsm", "2d", "3d")
    def test_executed_count_equals_tensorflow_op_statistics(self, variant):
        model = build_generator(variant, nf=NF)
        counted = graph_flops(lambda f, m: model({"frames": f, "masks": m}), 2)
        self.assertEqual(generator_flops(variant, NF, HEIGHT, WIDTH, executed=True) * FRAMES,
                         counted)

    def test_nominal_count_equals_the_reference_formulation(self):
        # The reference upsamples, then convolves: run the layers that way and count.
        model = build_generator("2d", nf=NF)

        def reference(frames, masks):
            x = model.get_layer("inpainting_input")([frames, masks])
            for layer in model.layers:
                if isinstance(layer, GatedUpsample):
                    x = layer.conv(temporal.upsample_nearest2x(x))
                elif layer.name.startswith(("conv", "dilated")):
                    x = layer(x)
            return x

        self.assertEqual(generator_flops("2d", NF, HEIGHT, WIDTH) * FRAMES,
                         graph_flops(reference, 2))

    def test_shift_adds_six_flops_per_shifted_element(self):
        # Per layer: 2 * 3 taps * (2 groups * floor(C / 2) // 2 channels) * H * W. conv1 has
        # C = 5 -> 2 shifted channels; every other layer shifts half of its (even) C.
        extra = generator_flops("lgtsm", NF, HEIGHT, WIDTH) - generator_flops("2d", NF, HEIGHT,
                                                                               WIDTH)
        upsampled = {"deconv1", "deconv2"}
        h, w, channels, expected = HEIGHT, WIDTH, 5, 0
        for name, mult, k, s, p, d, _ in GENERATOR_LAYERS:
            if name in upsampled:
                h, w = 2 * h, 2 * w
            shifted = 2 * (int(channels * 0.5) // 2)
            expected += 6 * shifted * h * w
            h, w = (h + 2 * p - d * (k - 1) - 1) // s + 1, (w + 2 * p - d * (k - 1) - 1) // s + 1
            channels = 3 if mult is None else int(NF * mult)
        self.assertEqual(extra, expected)

    def test_paper_size_counts(self):
        # 1 frame of 320x180 at nf 64: about 140 GFLOPs (the figure for the reference),
        # 2.25x fewer multiply-adds in the two deconvs as executed, 3x for the 3D baseline.
        nominal = generator_flops("lgtsm", 64, 180, 320)
        self.assertAllClose(nominal / 1e9, 140.37, atol=0.01)
        self.assertAllClose(generator_flops("lgtsm", 64, 180, 320, executed=True) / 1e9, 121.94,
                            atol=0.01)
        conv_3d = generator_flops("3d", 64, 180, 320)
        conv_2d = generator_flops("2d", 64, 180, 320)
        self.assertEqual(conv_3d, 3 * conv_2d)

    def test_rejects_sizes_the_generator_cannot_take(self):
        with self.assertRaisesRegex(ValueError, "multiples of 4"):
            generator_flops("lgtsm", 64, 178, 320)
        with self.assertRaisesRegex(ValueError, "unknown variant"):
            generator_flops("4d")
