"""Convert an authors' PyTorch checkpoint (or its state_dict as .npz) to Keras `.keras` files.

  python export/convert_torch_checkpoint.py --checkpoint model.pth --variant lgtsm \
      --output lgtsm_generator.keras [--discriminator_output lgtsm_disc.keras] [--nf 64]

The generator file loads with `keras.saving.load_model(path)` after `import lgtsm_tf` and takes
{"frames": [B,T,H,W,3] in [0,1], "masks": [B,T,H,W,1], 1 = hole}.

Errors (a missing or unreadable checkpoint, missing/unknown keys, a wrong --nf, an existing
output) print `lgtsm-convert: error: <message>` and exit with status 1; --traceback shows the
full trace instead.
"""

import sys

from absl import app, flags

from lgtsm_tf import atomic
from lgtsm_tf.cli import define_program_flags, run_command
from lgtsm_tf.convert import load_reference_discriminator, load_reference_generator
from lgtsm_tf.models import VARIANTS, check_finite_weights, count_parameters

PROG = "lgtsm-convert"


def define_flags(flag_values=flags.FLAGS):
    """Defines the CLI's flags on `flag_values` (the global FLAGS when run as a program)."""
    fv = flag_values
    flags.DEFINE_string("checkpoint", None, "PyTorch checkpoint (.pth/.pt/.tar/.ckpt) or .npz.",
                        flag_values=fv)
    flags.DEFINE_enum("variant", "lgtsm", sorted(VARIANTS), "Network variant of the checkpoint.",
                      flag_values=fv)
    flags.DEFINE_integer("nf", 0, "Base channel count; 0 reads it from the checkpoint.",
                         lower_bound=0, flag_values=fv)
    flags.DEFINE_string("output", None, "Where to write the generator (.keras).",
                        flag_values=fv)
    flags.DEFINE_string("discriminator_output", None,
                        "Also convert the temporal discriminator and write it here (.keras).",
                        flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace existing output files.", flag_values=fv)
    flags.DEFINE_bool("traceback", False, "On an error, show the full Python traceback instead "
                      "of one `error:` line.", flag_values=fv)


def _check_output(path, overwrite):
    if not path.endswith(".keras"):
        raise app.UsageError(f"{path}: output files must end in .keras")
    try:
        atomic.check_can_write(path, overwrite, "{first} exists; pass --overwrite to "
                               "replace it", empty_dir_ok=False)
    except FileExistsError as e:
        raise app.UsageError(str(e)) from None


def _save(model, path):
    with atomic.atomic_file(path, overwrite=True) as tmp:  # tmp ends in .keras too
        model.save(tmp)
    print(f"wrote {path}: {model.name}, {count_parameters(model):,} parameters")


def convert(fv):
    """Runs the CLI's work with parsed flags `fv`; raises on error."""
    if not fv.checkpoint or not fv.output:
        raise app.UsageError("--checkpoint and --output are required")
    outputs = [fv.output] + ([fv.discriminator_output] if fv.discriminator_output else [])
    for path in outputs:
        _check_output(path, fv.overwrite)
    nf = fv.nf or None
    generator = check_finite_weights(
        load_reference_generator(fv.checkpoint, fv.variant, nf=nf), fv.checkpoint)
    discriminator = None
    if fv.discriminator_output:
        discriminator = check_finite_weights(
            load_reference_discriminator(fv.checkpoint, fv.variant, nf=nf),
            fv.checkpoint)
    _save(generator, fv.output)
    if discriminator is not None:
        _save(discriminator, fv.discriminator_output)


def main(argv, flag_values=flags.FLAGS):
    return run_command(PROG, argv, convert, flag_values, errors=(app.UsageError,),
                       traceback=flag_values.traceback)


def parse_flags(argv, flag_values=flags.FLAGS):
    """absl's flag parsing, with its errors as one `lgtsm-convert: error:` line (status 1)."""
    try:
        return flag_values(argv)
    except flags.Error as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)


def run():
    define_program_flags(define_flags, __name__)
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
