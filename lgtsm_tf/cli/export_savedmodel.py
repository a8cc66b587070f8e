r"""Export a trained generator as a TF Serving SavedModel version: BASE/N/.

  python export/export_savedmodel.py --model lgtsm.keras --output_dir models/lgtsm --version 1
  (installed: lgtsm-export-savedmodel ...)

--model       preset:NAME (a generator shipped with the package, `lgtsm_tf.presets`), a .keras
              file, a training directory (generator.keras [+ TF checkpoints]) or an authors'
              checkpoint (.pth/.pt/.tar/.ckpt/.npz with --variant), read by
              `lgtsm_tf.inference.load_model`.
--output_dir  the model's base path for TF Serving; the SavedModel goes to <output_dir>/<version>.
--version     positive integer version directory.

Signatures (see `lgtsm_tf.export.savedmodel`): serving_default (uint8 frames [B,T,H,W,3],
uint8 masks [B,T,H,W,1] nonzero = hole -> uint8 `inpainted`) and serving_float (float32 in
[0, 1]); B, T, H, W dynamic, any H, W (padded to multiples of 4 inside the graph). Models
built or trained under mixed precision are exported as a float32 copy.

Before the new version is moved into place it is reloaded and both signatures are compared
with the Keras model on --verify_shapes (exact on CPU; --verify_tolerance for GPUs). An
existing version is never replaced without --overwrite; the export is written under a hidden
temporary name and renamed, so TF Serving never sees a partial version. Errors print one line
and exit with status 1.
"""

import os

from absl import app, flags

from lgtsm_tf.cli import define_program_flags, run_command

PROG = "lgtsm-export-savedmodel"


def define_flags(flag_values=flags.FLAGS):
    fv = flag_values
    flags.DEFINE_string("model", None, "preset:NAME, .keras file, training directory or "
                        "reference checkpoint (.pth/.pt/.tar/.ckpt/.npz).", flag_values=fv)
    flags.DEFINE_enum("variant", "lgtsm", ["lgtsm", "gtsm", "2d", "3d"],
                      "Network variant of a reference checkpoint.", flag_values=fv)
    flags.DEFINE_string("output_dir", None, "Model base path; writes <output_dir>/<version>.",
                        flag_values=fv)
    flags.DEFINE_integer("version", None, "Model version (positive integer).", flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace an existing <output_dir>/<version>.",
                      flag_values=fv)
    flags.DEFINE_list("verify_shapes", ["1x3x20x28"], "BxTxHxW shapes on which the reloaded "
                      "SavedModel is compared with the Keras model (empty: skip).",
                      flag_values=fv)
    flags.DEFINE_float("verify_tolerance", 1e-5, "Allowed max abs difference in the check.",
                       lower_bound=0.0, flag_values=fv)
    flags.DEFINE_bool("propagate", True, "Copy hole pixels known in another frame of the "
                      "request from there inside the graph before the model (as lgtsm-inpaint "
                      "does); --nopropagate exports the bare network.", flag_values=fv)


def export_from_flags(fv) -> dict:
    from lgtsm_tf.export import files, savedmodel
    from lgtsm_tf.export.shapes import parse_shape

    missing = [n for n in ("model", "output_dir", "version") if fv[n].value is None]
    if missing:
        raise app.UsageError(f"missing required flag(s): {', '.join('--' + m for m in missing)}")
    target = savedmodel.version_dir(fv.output_dir, fv.version)
    shapes = [parse_shape(s) for s in fv.verify_shapes]
    from lgtsm_tf import inference

    path = inference.model_flag_path(fv.model)
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise ValueError(f"{path} is already a SavedModel; export from the .keras file, "
                         "training directory or checkpoint it came from")
    files.check_output(target, fv.overwrite)  # before loading the model

    model = inference.load_model(fv.model, variant=fv.variant)
    result = savedmodel.export_saved_model(
        model, fv.output_dir, fv.version, overwrite=fv.overwrite, verify_shapes=shapes,
        verify_tolerance=fv.verify_tolerance,
        source=fv.model if path != fv.model else os.path.abspath(path),
        propagate=fv.propagate)
    if result["float32_copy"]:
        print(f"model policies {result['source_policies']}: exported a float32 copy")
    for check, diff in result["verification"].items():
        print(f"verified {check}: max abs diff vs Keras {diff:.3g}")
    print("temporal propagation in the graph: " + (
        f"yes, reach {result['propagation']['reach']} frames" if result["propagation"] else "no"))
    print(f"wrote {result['path']} (signatures: {', '.join(result['signatures'])})")
    print(f"inspect: saved_model_cli show --dir {result['path']} --all")
    return result


def main(argv, flag_values=flags.FLAGS):
    return run_command(PROG, argv, export_from_flags, flag_values, errors=(AssertionError,))


def run():
    define_program_flags(define_flags, __name__)
    app.run(main)


if __name__ == "__main__":
    run()
