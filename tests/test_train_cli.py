"""trainers/train.py end to end: checkpoints, SIGTERM, SIGKILL and resume, settings guard, and
user errors as one `train.py: error:` line that leaves model_dir as it was."""

import csv
import glob
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from tests.testing import REPO, TestCase

TINY = ["--data=embedded", "--val_data=", "--variant=lgtsm", "--nf=4", "--clip_length=3",
        "--height=32", "--width=32", "--batch_size=2", "--perceptual_weight=0",
        "--style_weight=0", "--eval_every=10", "--checkpoint_every=5", "--verbose=0"]


def train_command(model_dir, *extra):
    return [sys.executable, os.path.join(REPO, "trainers", "train.py"),
            f"--model_dir={model_dir}", *TINY, *extra]


def run_train(model_dir, *extra):
    return subprocess.run(train_command(model_dir, *extra), cwd=REPO, capture_output=True,
                          text=True, timeout=600)


def checkpoint_steps(model_dir):
    return sorted(int(re.search(r"ckpt-(\d+)\.index", p).group(1))
                  for p in glob.glob(os.path.join(model_dir, "checkpoints", "ckpt-*.index")))


def wait_for_checkpoint(proc, model_dir, min_step, timeout=300):
    """The step of the latest complete checkpoint once it is >= min_step.

    Read from the manager's `checkpoint` state file, which is written after the ckpt-N files:
    a ckpt-N.index alone may belong to a save that a kill interrupts.
    """
    deadline = time.time() + timeout
    while time.time() < deadline:
        latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
        step = int(re.search(r"ckpt-(\d+)$", latest).group(1)) if latest else -1
        if step >= min_step:
            return step
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
        from lgtsm_tf.inference import windowing  # the run says how to window it
        self.assertEqual(windowing(model_dir), (3, 1))  # --clip_length=3
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

    def assert_one_error_line(self, done, message):
        self.assertEqual(done.returncode, 1, done.stderr[-3000:])
        self.assertNotIn("Traceback", done.stderr)
        errors = [line for line in done.stderr.splitlines() if "error:" in line]
        self.assertEqual(errors, [f"train.py: error: {message}"])
        self.assertEqual(done.stderr.strip().splitlines()[-1], errors[0])

    def test_invalid_flags_are_refused_before_any_work(self):
        # Cases 1, 3 and 4: one line naming the flag, the value and the rule; nothing written.
        model_dir = os.path.join(self.get_temp_dir(), "run")
        a_file = os.path.join(self.get_temp_dir(), "a_file")
        with open(a_file, "w") as f:
            f.write("not a folder")
        for args, message in [
                (["--lr=nan"], "--lr=nan: must be a finite number > 0"),
                (["--lr=-1"], "--lr=-1: must be a finite number > 0"),
                (["--train_steps=-5"], "--train_steps=-5: must be an integer >= 1"),
                (["--checkpoint_every=0"], "--checkpoint_every=0: must be an integer >= 1"),
                (["--eval_every=0"], "--eval_every=0: must be an integer >= 1"),
                (["--height=63"], "--height=63: must be a positive multiple of 4"),
                (["--batch_size=-1"], "--batch_size=-1: must be an integer >= 1"),
                (["--l1_weight=-1"], "--l1_weight=-1: must be a finite number >= 0"),
                (["--data="], "--data is empty: give 'embedded' and/or video files, frame "
                              "folders or dataset roots"),
                (["--data=/no/such/videos"], "--data=/no/such/videos: no such file or "
                                             "directory"),
                (["--lr=abc"], "flag --lr=abc: could not convert string to float: 'abc'"),
                ([f"--model_dir={a_file}"], f"--model_dir={a_file}: exists and is not a "
                                            "directory")]:
            with self.subTest(args=args):
                self.assert_one_error_line(run_train(model_dir, *args), message)
                self.assertFalse(os.path.exists(model_dir))
        with open(a_file) as f:
            self.assertEqual(f.read(), "not a folder")

    def test_failed_start_leaves_model_dir_as_it_was(self):
        # Cases 2, 3 and 6: data that exist but cannot be used end in one error line, after
        # which model_dir is as it was, so the corrected run may use other settings.
        videos = os.path.join(self.get_temp_dir(), "videos")
        os.makedirs(os.path.join(videos, "short"))
        for i in range(2):
            Image.fromarray(np.full((40, 40, 3), 100 * i, np.uint8)).save(
                os.path.join(videos, "short", f"{i:05d}.png"))
        model_dir = os.path.join(self.get_temp_dir(), "run")
        short = os.path.join(videos, "short")
        self.assert_one_error_line(
            run_train(model_dir, f"--data={videos}", "--train_steps=2"),
            f"{short}: has 2 frame(s), fewer than clip_length=3 (leave such videos out with "
            "skip_short_videos=True, or --skip_short_videos in trainers/train.py)")
        self.assertFalse(os.path.exists(model_dir))  # train.py made it and removed it again
        os.makedirs(model_dir)
        with open(os.path.join(model_dir, "notes.txt"), "w") as f:
            f.write("mine")
        self.assert_one_error_line(
            run_train(model_dir, f"--data={videos}", "--skip_short_videos", "--train_steps=2"),
            "every video is shorter than clip_length=3")
        self.assertEqual(os.listdir(model_dir), ["notes.txt"])
        done = run_train(model_dir, "--variant=gtsm", "--train_steps=2")
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        with open(os.path.join(model_dir, "settings.json")) as f:
            self.assertIn('"variant": "gtsm"', f.read())


if __name__ == "__main__":
    tf.test.main()
