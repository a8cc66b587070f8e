# lgtsm-inpaint's former module: the command is `lgtsm_tf.cli.inpaint` (this name stays for
# now, `python -m lgtsm_tf.inpaint` included).

from lgtsm_tf.cli import inpaint as _command
from lgtsm_tf.cli.inpaint import (  # noqa: F401
    Terminated, define_flags, inpaint_from_flags, main, run, sigterm_as_interrupt,
    warnings_as_lines)

# absl prints the running script's docstring as its usage text: the command's, as before.
__doc__ = _command.__doc__

if __name__ == "__main__":
    run()
