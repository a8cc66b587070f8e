# lgtsm-make-masks' former module, kept for now: `write_mask_set` is in `lgtsm_tf.mask_sets`,
# the command in `lgtsm_tf.cli.make_masks`.
#
# As before, importing this module defines the command's flags on absl's global FLAGS (and
# `python -m lgtsm_tf.make_masks` runs the command); import `lgtsm_tf.cli.make_masks` instead,
# whose `define_flags` takes the FlagValues to define them on.

from absl import app

from lgtsm_tf.cli import define_program_flags
from lgtsm_tf.cli import make_masks as _command
from lgtsm_tf.cli.make_masks import define_flags, main  # noqa: F401
from lgtsm_tf.mask_sets import BOX_PRESET, area_bin, write_mask_set  # noqa: F401

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

define_program_flags(define_flags, "lgtsm_tf.cli.make_masks")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
