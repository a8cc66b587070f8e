# `python export/export_onnx.py` from a source checkout: lgtsm-export-onnx
# (`lgtsm_tf.cli.export_onnx`, where the command lives).

from lgtsm_tf.cli import export_onnx as _command
from lgtsm_tf.cli.export_onnx import PROG, define_flags, export_from_flags, main, run  # noqa: F401

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

if __name__ == "__main__":
    run()
