"""The model's input/output contract (lgtsm_tf.contract): conversions, hole rule, padding."""

import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from lgtsm_tf import contract


class ConversionTest(parameterized.TestCase):

    def test_uint8_round_trip_is_exact(self):
        values = np.arange(256, dtype=np.uint8)
        x = contract.to_float(values)
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual((x.min(), x.max()), (0.0, 1.0))
        np.testing.assert_array_equal(contract.to_uint8(x), values)
        np.testing.assert_array_equal(contract.to_uint8_tf(contract.to_float_tf(values)).numpy(),
                                      values)

    @parameterized.parameters(
        # value * 255 -> rint (half to even), clipped
        (0.5 / 255, 0), (1.5 / 255, 2), (2.5 / 255, 2), (-0.3, 0), (1.7, 255), (0.1, 26))
    def test_to_uint8_rounds_half_to_even_and_clips(self, value, expected):
        x = np.float32(value)
        self.assertEqual(int(contract.to_uint8(x)), expected)
        self.assertEqual(int(contract.to_uint8_tf(tf.constant(x)).numpy()), expected)

    @parameterized.parameters(
        (np.array([0, 1, 255, 7], np.uint8), [False, True, True, True]),
        (np.array([0, -3, 2], np.int32), [False, True, True]),
        (np.array([False, True]), [False, True]),
        (np.array([0.0, 0.5, 0.51, 1.0], np.float32), [False, False, True, True]),
        (np.array([0.2, 0.9], np.float64), [False, True]))
    def test_hole_rule(self, masks, expected):
        np.testing.assert_array_equal(contract.holes(masks), expected)
        if masks.dtype != np.bool_:
            np.testing.assert_array_equal(contract.holes_tf(tf.constant(masks)).numpy(),
                                          np.asarray(expected, np.float32))

    def test_model_inputs(self):
        frames = np.full((2, 3, 4, 8, 3), 51, np.uint8)
        masks = np.zeros((2, 3, 4, 8), np.uint8)
        masks[:, :, 1:3, 2:5] = 255
        inputs = contract.model_inputs_tf(tf.constant(frames), tf.constant(masks))
        self.assertEqual(sorted(inputs), [contract.FRAMES, contract.MASKS])
        np.testing.assert_allclose(inputs[contract.FRAMES].numpy(), 0.2)
        self.assertEqual(inputs[contract.MASKS].shape, (2, 3, 4, 8, 1))
        self.assertEqual(float(tf.reduce_sum(inputs[contract.MASKS])), 2 * 3 * 2 * 3)


class PaddingTest(parameterized.TestCase):

    @parameterized.parameters((1, 4), (4, 4), (5, 8), (7, 8), (8, 8), (181, 184))
    def test_padded_size(self, size, expected):
        self.assertEqual(contract.padded_size(size), expected)

    @parameterized.parameters((1, 1), (2, 3), (3, 6), (5, 5), (6, 9), (8, 12))
    def test_numpy_and_graph_padding_agree(self, height, width):
        rng = np.random.default_rng(height * 10 + width)
        frame = rng.random((height, width, 3)).astype(np.float32)
        padded = contract.pad_to_multiple(frame)
        self.assertEqual(padded.shape, (contract.padded_size(height),
                                        contract.padded_size(width), 3))
        np.testing.assert_array_equal(padded[:height, :width], frame)
        graph = tf.function(contract.pad_to_multiple_tf, input_signature=[
            tf.TensorSpec([None, None, None, None, 3], tf.float32)])
        np.testing.assert_array_equal(graph(frame[None, None]).numpy()[0, 0], padded)

    def test_reflection_does_not_repeat_the_edge(self):
        row = np.arange(6, dtype=np.float32).reshape(1, 6, 1)  # width 6 -> 8: 4, 3 appended
        np.testing.assert_array_equal(contract.pad_to_multiple(row)[0, :, 0],
                                      [0, 1, 2, 3, 4, 5, 4, 3])
        tiny = np.array([[[7.0]], [[9.0]]], np.float32)  # height 2 -> 4: too short, edge
        np.testing.assert_array_equal(contract.pad_to_multiple(tiny)[:, 0, 0], [7, 9, 9, 9])

    def test_check_size(self):
        self.assertEqual(contract.check_size(8, 12), (8, 12))
        with self.assertRaisesRegex(ValueError, "multiples of 4, got 6x12"):
            contract.check_size(6, 12)

    def test_input_specs_are_dynamic(self):
        specs = contract.input_specs(tf.uint8)
        self.assertEqual(specs[contract.FRAMES].shape.as_list(), [None] * 4 + [3])
        self.assertEqual(specs[contract.MASKS].shape.as_list(), [None] * 4 + [1])
        self.assertEqual(specs[contract.MASKS].dtype, tf.uint8)


if __name__ == "__main__":
    absltest.main()
