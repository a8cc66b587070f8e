"""trainers/train.py end to end: checkpoints, SIGTERM, SIGKILL and resume, settings guard."""

import csv
import glob
import os
import re
import signal
import subprocess
import sys
import time

import tensorflow as tf

from tests.testing import REPO, TestCase

TINY = ["--data=embedded", "--val_data=", "--variant=lgtsm", "--nf=4", "--clip_length=3",
        "--height=32", "--width=32", "--batch_size=2", "--perceptual_weight=0",
        "--style_weight=0", "--eval_every=10", "--checkpoint_every=5", "--verbose=0"]


def train_command(model_dir, *extra):
    return [sys.executable, os.path.join(REPO, "trainers", "train.py"),
            f"--model_dir={model_dir}", *TINY, *extra]


def checkpoint_steps(model_dir):
    return sorted(int(re.search(r"ckpt-(\d+)\.index", p).group(1))
                  for p in glob.glob(os.path.join(model_dir, "checkpoints", "ckpt-*.index")))


def wait_for_checkpoint(proc, model_dir, min_step, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        steps = checkpoint_steps(model_dir)
        if steps and steps[-1] >= min_step:
            return steps[-1]
        if proc.poll() is not None:
            raise AssertionError(f"training ended early:\n{proc.stdout.read()[-3000:]}")
        time.sleep(0.1)
    raise AssertionError("no checkpoint in time")


class TrainCliTest(TestCase):

    def test_sigkill_then_same_command_resumes(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        cmd = train_command(model_dir, "--train_steps=40")
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        killed_after = wait_for_checkpoint(proc, model_dir, 10)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertLess(killed_after, 40)
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        resumed = int(re.search(r"Resuming at step (\d+) of 40", done.stdout).group(1))
        self.assertGreaterEqual(resumed, killed_after)
        self.assertLess(resumed, 40)
        self.assertIn("Exported", done.stdout)
        self.assertIn("at step 40", done.stdout)
        self.assertEqual(checkpoint_steps(model_dir)[-1], 40)
        self.assertTrue(os.path.exists(os.path.join(model_dir, "generator.keras")))
        with open(os.path.join(model_dir, "history.csv")) as f:
            steps = [int(row["step"]) for row in csv.DictReader(f)]
        self.assertEqual(steps[-1], 40)
        # Running again does no more training.
        again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
        self.assertEqual(again.returncode, 0, again.stderr[-3000:])
        self.assertIn("already at step 40", again.stdout)

    def test_sigterm_saves_and_stops(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        proc = subprocess.Popen(train_command(model_dir, "--train_steps=100000",
                                              "--checkpoint_every=1000"),
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        deadline = time.time() + 300
        while not os.path.exists(os.path.join(model_dir, "logs")) and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(8)  # let a few steps run
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=300)[0]
        self.assertEqual(proc.returncode, 0, output[-3000:])
        saved = int(re.search(r"SIGTERM received: saved .* at step (\d+)", output).group(1))
        self.assertGreater(saved, 0)
        self.assertIn(saved, checkpoint_steps(model_dir))

    def test_resume_refuses_other_settings(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        first = subprocess.run(train_command(model_dir, "--train_steps=2"), cwd=REPO,
                               capture_output=True, text=True, timeout=600)
        self.assertEqual(first.returncode, 0, first.stderr[-3000:])
        other = subprocess.run(train_command(model_dir, "--train_steps=4", "--variant=gtsm"),
                               cwd=REPO, capture_output=True, text=True, timeout=600)
        self.assertNotEqual(other.returncode, 0)
        self.assertIn("--variant was 'lgtsm', now 'gtsm'", other.stderr)


if __name__ == "__main__":
    tf.test.main()
