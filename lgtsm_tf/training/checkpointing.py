"""Checkpoints every N steps and on SIGTERM/SIGINT, and automatic resume."""

import os
import signal

import keras
import tensorflow as tf


class TrainingCheckpoint:
    """The whole training state (models, optimizers, step) under `model_dir/checkpoints`.

    On workers other than the chief, checkpoints go to a temporary folder (MultiWorkerMirrored
    needs every worker to take part in saving) that is deleted afterwards.
    """

    def __init__(self, gan, model_dir, chief=True, max_to_keep=3):
        objects = {"generator": gan.generator, "generator_optimizer": gan.generator_optimizer,
                   "step": gan.step}
        if gan.use_gan:
            objects.update(discriminator=gan.discriminator,
                           discriminator_optimizer=gan.discriminator_optimizer)
        self.gan = gan
        self.checkpoint = tf.train.Checkpoint(**objects)
        directory = os.path.join(model_dir, "checkpoints")
        if not chief:
            directory = os.path.join(model_dir, f"worker-tmp-{os.getpid()}")
        self.chief = chief
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory,
                                                  max_to_keep=max_to_keep)

    def restore(self):
        """Restores the latest checkpoint, if any. Returns the restored step (0 if none)."""
        latest = self.manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.gan.step.numpy())

    def save(self):
        step = int(self.gan.step.numpy())
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            tf.io.gfile.rmtree(self.manager.directory)
        return path


class CheckpointCallback(keras.callbacks.Callback):
    """Saves every `every` steps, at the end, and when SIGTERM or SIGINT arrives; stops training
    at `train_steps` (the step counter survives restarts, so epochs are only a display unit)."""

    def __init__(self, checkpoint, every, train_steps):
        super().__init__()
        self.checkpoint = checkpoint
        self.every = every
        self.train_steps = train_steps
        self.signal_received = None
        self._previous_handlers = {}

    def _handle(self, signum, frame):
        del frame
        self.signal_received = signal.Signals(signum).name

    def on_train_begin(self, logs=None):
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous_handlers[signum] = signal.signal(signum, self._handle)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.checkpoint.gan.step.numpy())
        if self.signal_received:
            path = self.checkpoint.save()
            print(f"\n{self.signal_received} received: saved {path} at step {step}; stopping.")
            self.model.stop_training = True
        elif step % self.every == 0 or step >= self.train_steps:
            self.checkpoint.save()
        if step >= self.train_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
