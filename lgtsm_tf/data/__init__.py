"""Training and validation data for lgtsm-tf.

Modules (one job each):
  sources   discover and validate videos, frame folders, YouTube-VOS/DAVIS layouts and masks
            (:class:`VideoSource`, :func:`discover_sources`, :func:`probe_video`).
  clip_spec what a clip is: size, masks, stride, augmentation (:class:`ClipSpec`, taken by
            every clip reader below).
  augment   per-clip geometry shared by the pipelines (resized crop, flip).
  pipeline  clip sampling and the tf.data pipelines (:func:`build_dataset`,
            :func:`build_eval_dataset`).
  tfrecord  sharded TFRecord writer and reader (:func:`write_tfrecords`, :func:`read_tfrecords`).
  embedded  the offline default dataset: scikit-image's bundled photographs with synthetic camera
            motion (:func:`embedded_sources`, :func:`embedded_clips`).
  datasets  the training CLI's data flags -> (train, validation) datasets
            (:func:`make_training_datasets`).

Every pipeline yields ``{"frames": float32 [B, T, H, W, 3] in [0, 1],
"masks": float32 [B, T, H, W, 1] in {0, 1}, 1 = hole}``.
"""

from lgtsm_tf.data.clip_spec import ClipSpec
from lgtsm_tf.data.datasets import make_training_datasets
from lgtsm_tf.data.embedded import embedded_clips, embedded_sources
from lgtsm_tf.data.pipeline import ClipSampler, build_dataset, build_eval_dataset
from lgtsm_tf.data.sources import (
    MaskSource,
    SourceError,
    VideoSource,
    discover_mask_sources,
    discover_sources,
    memory_source,
    probe_masks,
    probe_video,
)
from lgtsm_tf.data.tfrecord import read_tfrecords, write_tfrecords

__all__ = [
    "ClipSampler",
    "ClipSpec",
    "MaskSource",
    "SourceError",
    "VideoSource",
    "build_dataset",
    "build_eval_dataset",
    "discover_mask_sources",
    "discover_sources",
    "embedded_clips",
    "embedded_sources",
    "make_training_datasets",
    "memory_source",
    "probe_masks",
    "probe_video",
    "read_tfrecords",
    "write_tfrecords",
]
