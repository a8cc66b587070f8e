"""lgtsm-evaluate's former module: the command is `lgtsm_tf.cli.evaluate` (this name stays for
now, `python -m lgtsm_tf.evaluate` included)."""

from lgtsm_tf.cli.evaluate import define_flags, evaluate_from_flags, main, run  # noqa: F401

if __name__ == "__main__":
    run()
