# `python export/convert_torch_checkpoint.py` from a source checkout: lgtsm-convert
# (`lgtsm_tf.cli.convert`, where the command lives).

from lgtsm_tf.cli import convert as _command
from lgtsm_tf.cli.convert import PROG, convert, define_flags, main, parse_flags, run  # noqa: F401

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

if __name__ == "__main__":
    run()
