"""A 2-process MultiWorkerMirroredStrategy run on 127.0.0.1 through TF_CONFIG (~20 s)."""

import json
import os
import socket
import subprocess
import sys

import tensorflow as tf

from tests.test_train_cli import TINY
from tests.testing import REPO, TestCase


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class MultiWorkerTest(TestCase):

    def test_two_workers_train_a_few_steps(self):
        workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
        model_dir = os.path.join(self.get_temp_dir(), "run")
        procs = []
        for index in range(2):
            env = dict(os.environ, TF_CONFIG=json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(REPO, "trainers", "train.py"),
                 f"--model_dir={model_dir}", *TINY, "--strategy=multi_worker",
                 "--train_steps=6", "--batch_size=4"],
                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        outputs = [p.communicate(timeout=900)[0] for p in procs]
        for proc, output in zip(procs, outputs):
            self.assertEqual(proc.returncode, 0, output[-4000:])
        self.assertIn("Exported", outputs[0])
        self.assertIn("at step 6", outputs[0])
        self.assertNotIn("Exported", outputs[1])  # only the chief writes
        self.assertTrue(os.path.exists(os.path.join(model_dir, "generator.keras")))
        self.assertEqual(sorted(os.listdir(model_dir)).count("checkpoints"), 1)
        self.assertFalse([d for d in os.listdir(model_dir) if d.startswith("worker-tmp")])


if __name__ == "__main__":
    tf.test.main()
