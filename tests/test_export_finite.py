"""A model whose weights are not all finite (a diverged run) is never loaded for inference or
exported, and the SavedModel export refuses when its own verification is not finite (case 1 of
issue 12: `--lr=nan` used to export NaN weights that blackened every hole)."""

import os
from unittest import mock

import numpy as np

import lgtsm_tf
from lgtsm_tf import inference
from lgtsm_tf.export import savedmodel
from tests import test_export_common as common

NOT_FINITE = r"weight values are not finite \(NaN/inf\), in .*: the model diverged"


def tiny_generator(bad=None):
    model = lgtsm_tf.build_generator("lgtsm", nf=4)
    if bad is not None:
        kernel = model.get_layer("conv11").feature.kernel
        value = kernel.numpy()
        value.flat[:3] = bad
        kernel.assign(value)
    return model


class FiniteWeightsTest(common.ExportTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.get_temp_dir()

    def save(self, model, name):
        path = os.path.join(self.tmp, name)
        model.save(path)
        return path

    def test_check(self):
        from lgtsm_tf.models import check_finite_weights

        model = tiny_generator()
        self.assertIs(check_finite_weights(model, "x"), model)
        for bad in (np.nan, np.inf, -np.inf):
            with self.assertRaisesRegex(ValueError, r"^m: 3 of [\d,]+ " + NOT_FINITE):
                check_finite_weights(tiny_generator(bad), "m")
        unchecked = object()  # e.g. a loaded SavedModel function: nothing to check
        self.assertIs(check_finite_weights(unchecked, "x"), unchecked)

    def test_inference_refuses_to_load(self):
        path = self.save(tiny_generator(np.nan), "diverged.keras")
        with self.assertRaisesRegex(ValueError, "diverged.keras: 3 of .*" + NOT_FINITE):
            inference.load_model(path)
        with self.assertRaisesRegex(ValueError, NOT_FINITE):
            inference.VideoInpainter.from_path(path)
        self.assertIsNotNone(inference.load_model(self.save(tiny_generator(), "fine.keras")))

    def test_export_cli_refuses(self):
        from export import export_savedmodel

        path = self.save(tiny_generator(np.nan), "diverged.keras")
        base = os.path.join(self.tmp, "models")
        code, out, err = common.run_cli(export_savedmodel, f"--model={path}",
                                        f"--output_dir={base}", "--version=1")
        self.assertEqual(code, 1)
        self.assertRegex(err, r"^lgtsm-export-savedmodel: error: .*diverged.keras: 3 of .*"
                         + NOT_FINITE)
        self.assertNotIn("max abs diff", out)
        self.assertFalse(os.path.exists(os.path.join(base, "1")))
        with self.assertRaisesRegex(ValueError, NOT_FINITE):  # the library function too
            savedmodel.export_saved_model(tiny_generator(np.inf), base, 1)
        self.assertFalse(os.path.exists(os.path.join(base, "1")))

    def test_export_refuses_a_verification_that_is_not_finite(self):
        real = savedmodel.reference_outputs

        def nan_outputs(model, frames, masks, propagation=None):  # as NaN float outputs give
            outputs = real(model, frames, masks, propagation)
            return dict(outputs, serving_float=np.full_like(outputs["serving_float"], np.nan))

        base = os.path.join(self.tmp, "models")
        with mock.patch.object(savedmodel, "reference_outputs", nan_outputs):
            with self.assertRaisesRegex(AssertionError, r"serving_float 1x3x20x28: the reloaded "
                                        r"SavedModel differs from the Keras model by nan \(outputs "
                                        r"not finite\)"):
                savedmodel.export_saved_model(tiny_generator(), base, 1,
                                              verify_shapes=[(1, 3, 20, 28)])
        self.assertEqual(os.listdir(base), [])


if __name__ == "__main__":
    import tensorflow as tf

    tf.test.main()
