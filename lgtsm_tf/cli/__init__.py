"""The command-line tools, one module per command, and what they share (`run_command`).

Each command module (`lgtsm_tf.cli.inpaint`, `.evaluate`, ...) has `define_flags(flag_values)`,
`main(argv, flag_values)` (the work reads its settings from `flag_values` only) and `run()`, the
console-script entry point (setup.py) that defines the flags on absl's global FLAGS and runs
`main` through `absl.app.run`. In a source checkout, export/*.py and trainers/train.py are
scripts that run these modules.
"""

import sys

from absl import app, flags

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


def define_program_flags(define_flags, module_name, flag_values=flags.FLAGS):
    """`define_flags(flag_values)` for the running program, whose key flags they also become.

    absl's short help (--helpshort, usage errors) lists the main script's key flags only; the
    flags are defined in `module_name` (a module of this package), not in the script that runs.
    """
    define_flags(flag_values)
    for flag in flag_values.get_key_flags_for_module(module_name):
        flag_values.register_key_flag_for_module(sys.argv[0], flag)
