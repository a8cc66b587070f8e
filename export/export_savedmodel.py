# `python export/export_savedmodel.py` from a source checkout: lgtsm-export-savedmodel
# (`lgtsm_tf.cli.export_savedmodel`, where the command lives).

from lgtsm_tf.cli import export_savedmodel as _command
from lgtsm_tf.cli.export_savedmodel import (  # noqa: F401
    PROG, define_flags, export_from_flags, main, run)

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

if __name__ == "__main__":
    run()
