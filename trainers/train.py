# `python trainers/train.py --flagfile=trainers/configs/demo.flags ...` from a source checkout:
# lgtsm-train (`lgtsm_tf.cli.train`, where the command lives; its names stay importable from
# here for now).

from lgtsm_tf.cli import train as _command
from lgtsm_tf.cli.train import (  # noqa: F401
    ARCHITECTURE_FLAGS, PROG, SIZE_MULTIPLE, VGG_MIN_SIZE, StartGuard, check_resume_settings,
    config_from_flags, define_flags, export_generator, main, parse_flags, run, train,
    validate_flags, write_settings)

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

if __name__ == "__main__":
    run()
