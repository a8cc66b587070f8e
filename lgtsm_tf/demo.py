# lgtsm-demo's former module, kept for now: the command is `lgtsm_tf.cli.demo`.
#
# As before, importing this module defines the command's flags on absl's global FLAGS (and
# `python -m lgtsm_tf.demo` runs the command); import `lgtsm_tf.cli.demo` instead, whose
# `define_flags` takes the FlagValues to define them on.

from absl import app

from lgtsm_tf.cli import define_program_flags
from lgtsm_tf.cli import demo as _command
from lgtsm_tf.cli.demo import REPO, define_flags, main  # noqa: F401

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

define_program_flags(define_flags, "lgtsm_tf.cli.demo")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
