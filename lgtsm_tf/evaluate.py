# lgtsm-evaluate's former module: the command is `lgtsm_tf.cli.evaluate` (this name stays for
# now, `python -m lgtsm_tf.evaluate` included).

from lgtsm_tf.cli import evaluate as _command
from lgtsm_tf.cli.evaluate import define_flags, evaluate_from_flags, main, run  # noqa: F401

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

if __name__ == "__main__":
    run()
