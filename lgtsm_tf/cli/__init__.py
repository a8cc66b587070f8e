"""The command-line tools, one module per command, and what they share (`run_command`).

Each command module (`lgtsm_tf.cli.inpaint`, `.evaluate`, ...) has `define_flags(flag_values)`,
`main(argv, flag_values)` (the work reads its settings from `flag_values` only) and `run()`, the
console-script entry point (setup.py) that defines the flags on absl's global FLAGS and runs
`main` through `absl.app.run`.
"""

import sys

from absl import app

USER_ERRORS = (ValueError, OSError, ImportError)


def run_command(prog, argv, body, flag_values, errors=(), traceback=False):
    """Runs `body(flag_values)` for a flags-only tool.

    A user error (bad input, missing file, missing optional dependency, or one of `errors`)
    prints `<prog>: error: <message>` to stderr and returns exit status 1 instead of a
    traceback (`traceback=True` re-raises it, for the full trace); positional arguments are
    rejected.
    """
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        body(flag_values)
    except USER_ERRORS + tuple(errors) as e:
        if traceback:
            raise
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    return 0
