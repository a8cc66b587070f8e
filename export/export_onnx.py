r"""Convert the exported SavedModel to ONNX, checked: lgtsm-export-onnx.

  python export/export_onnx.py --saved_model models/lgtsm/1 --output lgtsm.onnx [--opset 17]

Converts the `serving_float` signature with tf2onnx (inputs frames float32
[batch, time, height, width, 3] in [0, 1] and masks float32 [batch, time, height, width, 1],
output inpainted float32; all four axes dynamic, any H, W: the padding is in the graph).
tf2onnx exits 0 even when conversion fails, so this script checks the result itself and
exits with status 1, leaving no file, unless all of these pass:
onnx.checker (full), standard ONNX ops only, no Reshape with a baked-in size (TensorRT
rejects them under dynamic shapes), and onnxruntime vs TensorFlow max abs difference <=
--tolerance on every --check_shapes shape (default: one multiple of 4 and one not).
The .onnx file is written under a temporary name and renamed when the checks pass; an
existing file is kept unless --overwrite.
"""

import os
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lgtsm_tf.cli import run_command  # noqa: E402

PROG = "lgtsm-export-onnx"


def define_flags(flag_values=flags.FLAGS):
    fv = flag_values
    flags.DEFINE_string("saved_model", None, "SavedModel version directory written by "
                        "export_savedmodel.py (e.g. models/lgtsm/1).", flag_values=fv)
    flags.DEFINE_string("output", None, "The .onnx file to write.", flag_values=fv)
    flags.DEFINE_integer("opset", 17, "ONNX opset (17 and 18 are tested).", lower_bound=13,
                         flag_values=fv)
    flags.DEFINE_list("check_shapes", ["1x4x32x32", "2x3x22x30"], "BxTxHxW shapes of the "
                      "onnxruntime parity check (at least two).", flag_values=fv)
    flags.DEFINE_float("tolerance", 1e-4, "Allowed max abs difference onnxruntime vs "
                       "TensorFlow.", lower_bound=0.0, flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace an existing --output.", flag_values=fv)


def export_from_flags(fv) -> dict:
    from lgtsm_tf.export import files
    from lgtsm_tf.export.shapes import parse_shape

    missing = [n for n in ("saved_model", "output") if not fv[n].value]
    if missing:
        raise app.UsageError(f"missing required flag(s): {', '.join('--' + m for m in missing)}")
    shapes = [parse_shape(s) for s in fv.check_shapes]
    files.check_output(fv.output, fv.overwrite)
    from lgtsm_tf.export import onnx_export

    return onnx_export.export_onnx(fv.saved_model, fv.output, opset=fv.opset,
                                   check_shapes=shapes, tolerance=fv.tolerance,
                                   overwrite=fv.overwrite)


def main(argv, flag_values=flags.FLAGS):
    from lgtsm_tf.export.onnx_export import OnnxExportError

    return run_command(PROG, argv, export_from_flags, flag_values, errors=(OnnxExportError,))


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
