"""Image summaries of training: input with the hole | output | ground truth."""

import os

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from lgtsm_tf import atomic


def comparison_grid(frames, masks, outputs):
    """One clip as rows of [input with the hole in red | output | ground truth].

    frames, outputs: float [T, H, W, 3] in [0, 1]; masks: [T, H, W, 1], 1 = hole.
    Returns uint8 [T * H, 3 * W, 3].
    """
    frames = np.clip(np.asarray(frames, np.float32), 0, 1)
    outputs = np.clip(np.asarray(outputs, np.float32), 0, 1)
    hole = np.asarray(masks, np.float32) > 0.5
    shown = np.where(hole, np.array([1.0, 0.0, 0.0], np.float32), frames)
    rows = np.concatenate([shown, outputs, frames], axis=2)
    return np.round(255 * rows.reshape(-1, rows.shape[2], 3)).astype(np.uint8)


class ImageSummaryCallback(keras.callbacks.Callback):
    """After each epoch, inpaints a fixed validation batch and writes the first clip's
    comparison grid to TensorBoard (`model_dir/logs/images`) and as a PNG
    (`model_dir/samples/step_XXXXXXX.png`)."""

    def __init__(self, batch, model_dir, step_variable):
        super().__init__()
        self.batch = {k: np.asarray(v)[:1] for k, v in batch.items()}
        self.samples_dir = os.path.join(model_dir, "samples")
        self.writer = tf.summary.create_file_writer(os.path.join(model_dir, "logs", "images"))
        self.step_variable = step_variable

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.step_variable.numpy())
        outputs = self.model.generator(self.batch, training=False)
        grid = comparison_grid(self.batch["frames"][0], self.batch["masks"][0],
                               keras.ops.convert_to_numpy(outputs)[0])
        with self.writer.as_default():
            tf.summary.image("input_output_target", grid[None], step=step)
        os.makedirs(self.samples_dir, exist_ok=True)
        Image.fromarray(grid).save(os.path.join(self.samples_dir, f"step_{step:07d}.png"))


class HistoryCSV(keras.callbacks.Callback):
    """Appends each epoch's logs (training and validation metrics) to `path` as CSV rows keyed by
    the global step, keeping earlier rows (resumed runs continue the same file)."""

    def __init__(self, path, step_variable):
        super().__init__()
        self.path = path
        self.step_variable = step_variable
        self.rows = []
        if os.path.exists(path):
            import csv
            with open(path, newline="") as f:
                self.rows = list(csv.DictReader(f))

    def record(self, logs):
        row = {"step": int(self.step_variable.numpy())}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        self.rows.append(row)
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        self.record(logs)

    def _write(self):
        import csv
        keys = ["step"] + sorted({k for row in self.rows for k in row} - {"step"})
        with atomic.atomic_file(self.path, overwrite=True) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, keys)
                writer.writeheader()
                writer.writerows(self.rows)
