"""Convert an authors' PyTorch checkpoint (or its state_dict as .npz) to Keras `.keras` files.

  python export/convert_torch_checkpoint.py --checkpoint model.pth --variant lgtsm \
      --output lgtsm_generator.keras [--discriminator_output lgtsm_disc.keras] [--nf 64]

The generator file loads with `keras.saving.load_model(path)` after `import lgtsm_tf` and takes
{"frames": [B,T,H,W,3] in [0,1], "masks": [B,T,H,W,1], 1 = hole}.

Errors (a missing or unreadable checkpoint, missing/unknown keys, a wrong --nf, an existing
output) print `lgtsm-convert: error: <message>` and exit with status 1; --traceback shows the
full trace instead.
"""

import os
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lgtsm_tf import atomic  # noqa: E402
from lgtsm_tf.cli import run_command  # noqa: E402
from lgtsm_tf.convert import load_reference_discriminator, load_reference_generator  # noqa: E402
from lgtsm_tf.models import VARIANTS, check_finite_weights, count_parameters  # noqa: E402

PROG = "lgtsm-convert"
FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "PyTorch checkpoint (.pth/.pt/.tar/.ckpt) or .npz.")
flags.DEFINE_enum("variant", "lgtsm", sorted(VARIANTS), "Network variant of the checkpoint.")
flags.DEFINE_integer("nf", 0, "Base channel count; 0 reads it from the checkpoint.",
                     lower_bound=0)
flags.DEFINE_string("output", None, "Where to write the generator (.keras).")
flags.DEFINE_string("discriminator_output", None,
                    "Also convert the temporal discriminator and write it here (.keras).")
flags.DEFINE_bool("overwrite", False, "Replace existing output files.")
flags.DEFINE_bool("traceback", False, "On an error, show the full Python traceback instead of "
                  "one `error:` line.")


def _check_output(path):
    if not path.endswith(".keras"):
        raise app.UsageError(f"{path}: output files must end in .keras")
    try:
        atomic.check_can_write(path, FLAGS.overwrite, "{first} exists; pass --overwrite to "
                               "replace it", empty_dir_ok=False)
    except FileExistsError as e:
        raise app.UsageError(str(e)) from None


def _save(model, path):
    with atomic.atomic_file(path, overwrite=True) as tmp:  # tmp ends in .keras too
        model.save(tmp)
    print(f"wrote {path}: {model.name}, {count_parameters(model):,} parameters")


def convert(fv):
    del fv  # FLAGS
    if not FLAGS.checkpoint or not FLAGS.output:
        raise app.UsageError("--checkpoint and --output are required")
    outputs = [FLAGS.output] + ([FLAGS.discriminator_output] if FLAGS.discriminator_output else [])
    for path in outputs:
        _check_output(path)
    nf = FLAGS.nf or None
    generator = check_finite_weights(
        load_reference_generator(FLAGS.checkpoint, FLAGS.variant, nf=nf), FLAGS.checkpoint)
    discriminator = None
    if FLAGS.discriminator_output:
        discriminator = check_finite_weights(
            load_reference_discriminator(FLAGS.checkpoint, FLAGS.variant, nf=nf),
            FLAGS.checkpoint)
    _save(generator, FLAGS.output)
    if discriminator is not None:
        _save(discriminator, FLAGS.discriminator_output)


def main(argv):
    return run_command(PROG, argv, convert, FLAGS, errors=(app.UsageError,),
                       traceback=FLAGS.traceback)


def parse_flags(argv):
    """absl's flag parsing, with its errors as one `lgtsm-convert: error:` line (status 1)."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)


def run():
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
