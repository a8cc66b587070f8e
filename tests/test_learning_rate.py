"""Learning rates: the flags' rates, the staircase decay, and resuming from a checkpoint."""

import keras
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf.training.optimizers import (StaircaseDecay, guarded, reference_adam,
                                          staircase_rate)
from tests.testing import TestCase


def trained_optimizer(rate, variable):
    optimizer = guarded(reference_adam(rate), "float32")
    optimizer.build([variable])
    optimizer.apply_gradients([(tf.constant([1.0]), variable)])
    return optimizer


class LearningRateTest(TestCase):

    @parameterized.parameters(
        (0, 0, 1.0, 5e-4), (5610, 0, 0.5, 5e-4),  # no decay
        (999, 1000, 0.75, 5e-4), (1000, 1000, 0.75, 3.75e-4), (5610, 1000, 0.75, 1.1865e-4))
    def test_staircase_rate(self, step, decay_steps, decay_rate, expected):
        self.assertAlmostEqual(staircase_rate(5e-4, step, decay_steps, decay_rate), expected,
                               delta=1e-8)

    def test_resumed_optimizer_trains_at_the_new_rate_not_the_checkpoints(self):
        variable = keras.Variable([1.0])
        path = tf.train.Checkpoint(optimizer=trained_optimizer(1e-3, variable)).save(
            self.get_temp_dir() + "/ckpt")
        resumed = trained_optimizer(1e-4, keras.Variable([1.0]))
        tf.train.Checkpoint(optimizer=resumed).restore(path).assert_existing_objects_matched()
        self.assertAlmostEqual(float(resumed.learning_rate), 1e-3, delta=1e-9)  # why it's needed
        step = keras.Variable(2500, dtype="int64")
        callback = StaircaseDecay(resumed, step, 1e-4, decay_steps=1000, decay_rate=0.5)
        callback.on_train_batch_begin(0)
        self.assertAlmostEqual(float(resumed.learning_rate), 2.5e-5, delta=1e-10)
        step.assign(3000)
        callback.on_train_batch_begin(1)
        self.assertAlmostEqual(float(resumed.learning_rate), 1.25e-5, delta=1e-10)

    def test_decay_keeps_the_checkpoint_layout(self):
        # With or without decay the optimizer has the same variables, so a run can be resumed
        # with another --lr_decay_steps (a Keras LearningRateSchedule drops one variable).
        plain, decayed = (reference_adam(5e-4) for _ in range(2))
        for optimizer in (plain, decayed):
            optimizer.build([keras.Variable([1.0])])
        StaircaseDecay(decayed, keras.Variable(2000, dtype="int64"), 5e-4, 1000,
                       0.5).on_train_batch_begin(0)
        self.assertEqual([v.shape for v in plain.variables],
                         [v.shape for v in decayed.variables])
        self.assertAlmostEqual(float(decayed.learning_rate), 1.25e-4, delta=1e-10)


if __name__ == "__main__":
    tf.test.main()
