# `python export/export_tensorrt.py` from a source checkout: lgtsm-export-tensorrt
# (`lgtsm_tf.cli.export_tensorrt`, where the command lives).

from lgtsm_tf.cli import export_tensorrt as _command
from lgtsm_tf.cli.export_tensorrt import (  # noqa: F401
    EXIT_NO_TENSORRT, PROG, TensorRTUnavailable, build_from_flags, define_flags, main, run,
    run_from_flags)

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

if __name__ == "__main__":
    run()
