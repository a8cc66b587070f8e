r"""Convert the exported SavedModel to ONNX, checked: lgtsm-export-onnx.

  python export/export_onnx.py --saved_model models/lgtsm/1 --output lgtsm.onnx [--opset 17]
  python export/export_onnx.py --model preset:lgtsm_nf16 --output lgtsm.onnx

--saved_model  a SavedModel version directory written by export_savedmodel.py, or
--model        anything export_savedmodel.py's --model takes (preset:NAME, .keras, training
               directory, reference checkpoint): exported to a temporary, verified SavedModel
               first (deleted afterwards).

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

import tempfile

from absl import app, flags

from lgtsm_tf.cli import define_program_flags, run_command

PROG = "lgtsm-export-onnx"


def define_flags(flag_values=flags.FLAGS):
    fv = flag_values
    flags.DEFINE_string("saved_model", None, "SavedModel version directory written by "
                        "export_savedmodel.py (e.g. models/lgtsm/1).", flag_values=fv)
    flags.DEFINE_string("model", None, "Instead of --saved_model: preset:NAME, .keras file, "
                        "training directory or reference checkpoint.", flag_values=fv)
    flags.DEFINE_enum("variant", "lgtsm", ["lgtsm", "gtsm", "2d", "3d"],
                      "Network variant of a reference checkpoint (--model .pth/.npz).",
                      flag_values=fv)
    flags.DEFINE_string("output", None, "The .onnx file to write.", flag_values=fv)
    flags.DEFINE_integer("opset", 17, "ONNX opset (17 and 18 are tested).", lower_bound=13,
                         flag_values=fv)
    flags.DEFINE_list("check_shapes", ["1x4x32x32", "2x3x22x30"], "BxTxHxW shapes of the "
                      "onnxruntime parity check (at least two).", flag_values=fv)
    flags.DEFINE_float("tolerance", 1e-4, "Allowed max abs difference onnxruntime vs "
                       "TensorFlow.", lower_bound=0.0, flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace an existing --output.", flag_values=fv)
    flags.DEFINE_bool("propagate", True, "With --model: temporal propagation in the graph "
                      "before the network (as lgtsm-export-savedmodel); --nopropagate: the "
                      "bare network.", flag_values=fv)


def export_from_flags(fv) -> dict:
    from lgtsm_tf.export import files
    from lgtsm_tf.export.shapes import parse_shape

    if not fv.output:
        raise app.UsageError("missing required flag(s): --output")
    if bool(fv.saved_model) == bool(fv.model):
        raise app.UsageError("give exactly one of --saved_model and --model")
    shapes = [parse_shape(s) for s in fv.check_shapes]
    files.check_output(fv.output, fv.overwrite)
    from lgtsm_tf.export import onnx_export

    if fv.saved_model:
        return onnx_export.export_onnx(fv.saved_model, fv.output, opset=fv.opset,
                                       check_shapes=shapes, tolerance=fv.tolerance,
                                       overwrite=fv.overwrite)
    from lgtsm_tf import inference
    from lgtsm_tf.export import savedmodel

    inference.model_flag_path(fv.model)  # before loading anything
    model = inference.load_model(fv.model, variant=fv.variant)
    with tempfile.TemporaryDirectory(prefix="lgtsm-onnx-") as base:
        exported = savedmodel.export_saved_model(model, base, 1, source=fv.model,
                                                 propagate=fv.propagate)
        return onnx_export.export_onnx(exported["path"], fv.output, opset=fv.opset,
                                       check_shapes=shapes, tolerance=fv.tolerance,
                                       overwrite=fv.overwrite)


def main(argv, flag_values=flags.FLAGS):
    from lgtsm_tf.export.onnx_export import OnnxExportError

    return run_command(PROG, argv, export_from_flags, flag_values, errors=(OnnxExportError,))


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
