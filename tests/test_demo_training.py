"""The demo training lowers validation hole L1 by >= 30% (slow: ~7 min on 2 cores)."""

import csv
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.testing import REPO, TestCase


@pytest.mark.slow
class DemoTrainingTest(TestCase):

    def test_demo_flags_lower_validation_hole_l1(self):
        model_dir = os.path.join(self.get_temp_dir(), "demo")
        done = subprocess.run(
            [sys.executable, os.path.join(REPO, "trainers", "train.py"),
             f"--flagfile={os.path.join(REPO, 'trainers', 'configs', 'demo.flags')}",
             f"--model_dir={model_dir}", "--verbose=2"],
            cwd=REPO, capture_output=True, text=True, timeout=3600)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        with open(os.path.join(model_dir, "history.csv"), newline="") as f:
            rows = [(int(r["step"]), float(r["val_hole_l1"])) for r in csv.DictReader(f)
                    if r.get("val_hole_l1")]
        print("\nvalidation hole L1 by step:", rows)
        self.assertEqual(rows[0][0], 0)
        self.assertEqual(rows[-1][0], 600)
        first_eval_after_training = rows[1][1]
        self.assertLessEqual(rows[-1][1], 0.7 * rows[0][1])
        self.assertLess(rows[-1][1], first_eval_after_training)
        self.assertTrue(os.path.exists(os.path.join(model_dir, "generator.keras")))
        self.assertTrue(os.listdir(os.path.join(model_dir, "samples")))


if __name__ == "__main__":
    tf.test.main()
