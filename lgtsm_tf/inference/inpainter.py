""":class:`VideoInpainter`: runs a generator over a whole video, window by window.

Input frames ``uint8 [H, W, 3]`` (0..255) and masks ``[H, W]`` (1 = hole); output frames
``uint8 [H, W, 3]`` with the known pixels copied bit-exactly from the input.
"""

from __future__ import annotations

import itertools
import json
import os
import warnings
import weakref
from fractions import Fraction
from typing import Iterable, Iterator, Optional, Tuple

import numpy as np
from absl import logging

from lgtsm_tf import contract, video_io
from lgtsm_tf.inference.files import _is_video_path, check_outputs, compare_frame, compare_path
from lgtsm_tf.inference.loading import (
    PRECISIONS, _choose_precision, load_model, windowing, with_precision,
)
from lgtsm_tf.inference.masks import SIZE_MULTIPLE, _resolve_working_size, pad_to_multiple
from lgtsm_tf.inference.streaming import _Frame, _Source, _name
from lgtsm_tf.inference.windows import (
    DEFAULT_OVERLAP, DEFAULT_WINDOW, _check_window_args, _window_planner,
)

#: Frame rate written when the input (a frame folder or image) has none and none is given.
FALLBACK_FRAME_RATE = 25

#: Frames before and after each window that temporal propagation also copies from (they are
#: read ahead and kept, so memory stays flat: at most window + 2 * this many frames).
PROPAGATION_CONTEXT = 8


def default_propagation(window: int, **settings):
    """The `TemporalPropagation` layer `VideoInpainter(propagate=True)` runs for windows of
    `window` frames: reach `window - 1 + PROPAGATION_CONTEXT` (the window and its context);
    `settings` (patch, tolerance, min_support) override the layer's defaults."""
    from lgtsm_tf.layers import TemporalPropagation

    return TemporalPropagation(reach=window - 1 + PROPAGATION_CONTEXT, **settings)


# TemporalPropagation settings -> its traced function, shared by every inpainter using them.
_PROPAGATE_CACHE = {}

# model -> its traced predict function, so inpainters sharing a model share one trace.
_PREDICT_CACHE = weakref.WeakKeyDictionary()


class VideoInpainter:
    """Inpaints whole videos with a generator, streaming, in blended temporal windows.

    See the module docstring for the window, blending, padding and mask rules.

    Args:
      model: a `keras.Model` (or any callable) with the generator contract: {"frames": float32
        [B, T, H, W, 3] in [0, 1], "masks": float32 [B, T, H, W, 1], 1 = hole} -> float
        [B, T, H, W, 3] (values outside [0, 1] are clipped). H, W are multiples of 4 here.
      window: frames per window T (>= 1).
      overlap: frames shared by consecutive windows, in [0, window); they cross-fade over
        min(overlap, window - overlap) frames. 0 = hard cuts (except before a last window moved
        back to end at the last frame, which always cross-fades over the frames it shares).
      dilate: grow holes by this many pixels before inpainting (>= 0).
      batch_windows: windows run per model call (>= 1).
      working_size: None (full resolution) or (height, width) to run the model at; either side
        may be None to keep the aspect ratio (rounded to a multiple of 4).
      precision: "fp32", "bf16" (Keras models are rebuilt under the mixed_bfloat16 policy,
        same weights; a SavedModel runs as exported and accepts only "fp32") or "auto" (bf16
        for a Keras model on a CPU with native bf16, else fp32: `cpu_features.auto_precision`;
        `self.precision` and `self.precision_reason` say what was chosen and why).
      resize_masks: nearest-resize masks whose size differs from the frames (else an error).
      progress: show a `keras.utils.Progbar` while inpainting.
      propagate: before the model, copy each hole pixel from the nearest frame where it is
        known and the two frames agree around it (`lgtsm_tf.layers.TemporalPropagation`),
        searching the window and `PROPAGATION_CONTEXT` frames before and after it (reach
        `window - 1 + PROPAGATION_CONTEXT`); the model fills only what no frame shows. True by
        default; skipped for a SavedModel that was exported with it (its graph propagates
        within each window). `self.propagation` is the layer, or None. A
        `TemporalPropagation` layer instead of True sets its reach, patch and tolerance (and
        the context, up to `PROPAGATION_CONTEXT`, to its reach).
    """

    def __init__(self, model, window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP,
                 dilate: int = 0, batch_windows: int = 1,
                 working_size: Optional[Tuple[Optional[int], Optional[int]]] = None,
                 precision: str = "fp32", resize_masks: bool = False, progress: bool = False,
                 propagate: bool = True):
        _check_window_args(window, overlap)
        if int(dilate) != dilate or dilate < 0:
            raise ValueError(f"dilate must be an integer >= 0, got {dilate!r}")
        if int(batch_windows) != batch_windows or batch_windows < 1:
            raise ValueError(f"batch_windows must be an integer >= 1, got {batch_windows!r}")
        if precision != "auto" and precision not in PRECISIONS:
            raise ValueError(f"precision must be 'auto' or one of {sorted(PRECISIONS)}, got "
                             f"{precision!r}")
        if working_size is not None:
            if len(working_size) != 2 or any(
                    s is not None and (int(s) != s or s < SIZE_MULTIPLE) for s in working_size):
                raise ValueError(f"working_size must be (height, width) with sides >= "
                                 f"{SIZE_MULTIPLE} or None, got {working_size!r}")
        self.window = int(window)
        self.overlap = int(overlap)
        self.dilate = int(dilate)
        self.batch_windows = int(batch_windows)
        self.working_size = None if working_size is None else tuple(working_size)
        self.precision, self.precision_reason = _choose_precision(model, precision)
        self.resize_masks = bool(resize_masks)
        self.progress = bool(progress)
        self.model = self._prepare_model(model, self.precision)
        from lgtsm_tf.layers import TemporalPropagation

        if isinstance(propagate, TemporalPropagation):
            self.propagation = propagate
        elif propagate and not getattr(model, "propagates", False):
            self.propagation = default_propagation(self.window)
        else:
            self.propagation = None
        #: Frames of context read before and after each window for propagation.
        self.context = 0 if self.propagation is None else min(PROPAGATION_CONTEXT,
                                                               self.propagation.reach)
        self._propagate = None if self.propagation is None else \
            self._make_propagate(self.propagation)
        self._predict = self._make_predict(self.model)
        self.model_calls = 0  # number of batches run (for tests and logging)

    @staticmethod
    def _prepare_model(model, precision):
        import keras

        if isinstance(model, keras.Model):
            return with_precision(model, precision)
        if precision != "fp32":
            raise ValueError(f"precision {precision!r} needs a Keras model; "
                             f"{_name(model, type(model).__name__)} runs as it was exported")
        return model

    @staticmethod
    def _make_propagate(propagation):
        """propagate(frames [1, T, H, W, 3], masks [1, T, H, W, 1], start, stop) -> the window
        [start, stop) propagated from the whole clip (one trace for every shape, shared by the
        inpainters whose layers have the same settings: the layer has no weights)."""
        import tensorflow as tf

        settings = {k: v for k, v in propagation.get_config().items() if k not in ("name",)}
        key = json.dumps(settings, sort_keys=True, default=str)
        if key in _PROPAGATE_CACHE:
            return _PROPAGATE_CACHE[key]
        specs = [tf.TensorSpec([None, None, None, None, 3], tf.float32),
                 tf.TensorSpec([None, None, None, None, 1], tf.float32),
                 tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)]

        @tf.function(input_signature=specs)
        def propagate(frames, masks, start, stop):
            return propagation([frames, masks], start=start, stop=stop)
        _PROPAGATE_CACHE[key] = propagate
        return propagate

    @staticmethod
    def _make_predict(model):
        """One traced function per model (cached), with fully dynamic [B, T, H, W]."""
        import tensorflow as tf

        try:
            return _PREDICT_CACHE[model]
        except (KeyError, TypeError):
            pass
        try:
            model_ref = weakref.ref(model)  # the cache must not keep the model alive
        except TypeError:  # not weak-referenceable: no caching
            model_ref = lambda: model  # noqa: E731
        specs = [tf.TensorSpec([None, None, None, None, 3], tf.float32),
                 tf.TensorSpec([None, None, None, None, 1], tf.float32)]

        @tf.function(input_signature=specs)
        def predict(frames, masks):
            out = model_ref()({"frames": frames, "masks": masks}, training=False)
            return tf.cast(out, tf.float32)

        try:
            _PREDICT_CACHE[model] = predict
        except TypeError:
            pass
        return predict

    @classmethod
    def from_path(cls, path, variant: str = "lgtsm", **kwargs) -> "VideoInpainter":
        """A `VideoInpainter` for the generator stored at `path`.

        What `path` is decides how it is read:

        * `preset:NAME`: a generator shipped with the package (`lgtsm_tf.presets`);
        * a `.keras` file: `keras.saving.load_model` (the lgtsm_tf layers are registered);
        * a reference checkpoint, `.pth`/`.pt`/`.tar`/`.ckpt` (needs torch) or `.npz`:
          `lgtsm_tf.convert.load_reference_generator(path, variant)` (nf read from the file);
        * a directory with `saved_model.pb`: a SavedModel (`keras.Model.export` -> its `serve`
          endpoint, or `tf.saved_model.save` -> `serving_default` with inputs `frames`,
          `masks` and one output);
        * any other directory is a *training directory* (`trainers/train.py --model_dir`):
          the architecture (and weights) come from `generator.keras` in it, or from its only
          `.keras` file (`*.partial*` leftovers are ignored); if TF checkpoint files
          (`checkpoint` + `ckpt-N.*`) are in it or in its `checkpoints/` sub-directory, the
          weights of the latest checkpoint are restored into that model from the `generator`
          attribute of a `tf.train.Checkpoint(generator=..., ...)` and win over the `.keras`
          weights (so an interrupted run gives its newest weights); optimizer, discriminator
          and step entries are ignored; a checkpoint without all generator weights is an
          error.

        Args:
          path: see above.
          variant: network variant for reference checkpoints ("lgtsm", "gtsm", "2d", "3d").
          **kwargs: `VideoInpainter` arguments (window, overlap, ...); window and overlap
            default to a preset's own (`windowing`).
        """
        window, overlap = windowing(path, kwargs.pop("window", None),
                                    kwargs.pop("overlap", None))
        return cls(load_model(path, variant=variant), window=window, overlap=overlap, **kwargs)

    # -------------------------------------------------------------------------- per frame

    def _model_input(self, record: _Frame, working: Optional[Tuple[int, int]]):
        if record.model_input is None:
            import tensorflow as tf

            frame = contract.to_float(record.frame)
            mask = record.hole[..., None].astype(np.float32)
            if working is not None:
                frame = tf.image.resize(frame, working, method="bilinear", antialias=True).numpy()
                # "area": a working pixel is a hole if any full-resolution hole pixel overlaps it.
                mask = (tf.image.resize(mask, working, method="area").numpy() > 0)
                mask = mask.astype(np.float32)
            record.model_input = (pad_to_multiple(frame), pad_to_multiple(mask))
        return record.model_input

    def _window_input(self, source: _Source, window, working):
        """(frames [T, H', W', 3], masks [T, H', W', 1]) the model gets for `window`: its
        padded frames, propagated from the window and `self.context` frames around it."""
        lo, hi = window.start, window.stop
        if self._propagate is not None:
            lo = max(0, lo - self.context)
            hi = source.count(hi + self.context)  # reads the context after the window
        inputs = [self._model_input(source.records[f], working) for f in range(lo, hi)]
        frames = np.stack([x for x, _ in inputs])
        masks = np.stack([m for _, m in inputs])
        if self._propagate is None:
            return frames, masks
        frames, masks = self._propagate(frames[None], masks[None],
                                        np.int32(window.start - lo), np.int32(window.stop - lo))
        return frames.numpy()[0], masks.numpy()[0]

    def _finish(self, record: _Frame, entry, working) -> np.ndarray:
        """The output uint8 [H, W, 3]: model output in the hole, the input elsewhere."""
        if entry is None:  # no hole in this frame
            return record.frame
        base, delta, weight = entry
        out = base if delta is None else base + delta / np.float32(weight)
        if working is not None:
            import tensorflow as tf

            out = tf.image.resize(out, record.frame.shape[:2], method="bilinear").numpy()
        out = contract.to_uint8(out)
        result = record.frame.copy()
        result[record.hole] = out[record.hole]
        return result

    # -------------------------------------------------------------------------- whole videos

    def inpaint(self, frames: Iterable, masks) -> Iterator[np.ndarray]:
        """Inpaints a video, streaming: yields the output frames, uint8 [H, W, 3], in order.

        Args:
          frames: iterable of uint8 [H, W, 3] RGB frames (a `video_io.VideoReader`, a list, or
            a uint8 [T, H, W, 3] array).
          masks: iterable of per-frame masks [H, W] / [H, W, 1] (1 = hole; dtype rules in the
            module docstring), e.g. a `video_io.MaskReader` (a single mask image repeats), or a
            single 2-D array used for every frame. Must have as many masks as frames.

        Frame/mask problems raise ValueError naming the file (readers' `path`) or "frames" /
        "masks" and the index; checks that need the counts happen now when both counts are
        known (`num_frames` of the readers, which decodes a video file once to count its
        frames, or array lengths), otherwise when the shorter stream ends. Call parameters are
        checked now; reading starts at the first `next()`. If no mask has a hole pixel, a
        `UserWarning` says so once the last frame is yielded.
        """
        source = _Source(self, frames, masks)
        return (out for _, out in self._run(source))

    def inpaint_array(self, frames: np.ndarray, masks) -> np.ndarray:
        """In-memory convenience: uint8 [T, H, W, 3] (+ masks) -> uint8 [T, H, W, 3]."""
        return np.stack(list(self.inpaint(frames, masks)))

    def _run(self, source: _Source) -> Iterator[Tuple[_Frame, np.ndarray]]:
        """Yields (input record, output frame) in order. See `inpaint`."""
        import keras

        source.count(1)  # fails on zero frames / bad first frame before anything else
        working = _resolve_working_size(self.working_size, source.size)
        height, width = working or source.size
        bar = keras.utils.Progbar(source.num_frames_hint, unit_name="frame") \
            if self.progress else None
        accum = {}  # frame -> [base, delta or None, weight sum]
        done = 0  # frames yielded so far
        planner = _window_planner(source.count, self.window, self.overlap)
        while True:
            batch = list(itertools.islice(planner, self.batch_windows))
            if not batch:
                break
            for f in [f for f in source.records
                      if f < min(done, batch[0].start) - self.context]:
                del source.records[f]  # yielded, and no longer a model input or context
            todo = [w for w in batch if source.any_hole(w)]
            if todo:
                windows = [self._window_input(source, w, working) for w in todo]
                frames = np.stack([x for x, _ in windows])
                masks = np.stack([m for _, m in windows])
                outputs = self._predict(frames, masks).numpy()[:, :, :height, :width]
                self.model_calls += 1
                for w, out in zip(todo, outputs):
                    for j, (f, weight) in enumerate(zip(range(w.start, w.stop), w.weights())):
                        if weight == 0 or not source.records[f].has_hole:
                            continue
                        entry = accum.get(f)
                        if entry is None:
                            accum[f] = [out[j].copy(), None, weight]
                        else:
                            change = np.float32(weight) * (out[j] - entry[0])
                            entry[1] = change if entry[1] is None else entry[1] + change
                            entry[2] += weight
            complete = batch[-1].complete_before
            for f in range(done, complete):
                record = source.records[f]
                yield record, self._finish(record, accum.pop(f, None), working)
                if bar is not None:
                    bar.update(f + 1)
            done = complete
        if source.length is None:  # the last window ended exactly at the last frame
            source.count(done + 1)
        if done != source.length or accum:  # pragma: no cover - planner invariant
            raise AssertionError(f"internal error: {done} of {source.length} frames produced")
        source.records.clear()
        if bar is not None and source.num_frames_hint != done:
            bar.update(done, finalize=True)
        if source.hole_frames == 0:
            warnings.warn(f"{source.masks_name}: has no hole pixel in any of the {done} frame(s); "
                          "the output equals the input", UserWarning, stacklevel=2)

    # -------------------------------------------------------------------------- files

    def inpaint_files(self, video, masks, output, *, overwrite: bool = False,
                      lossless: bool = False, compare: bool = False,
                      frame_rate=None, invert_masks: bool = False) -> dict:
        """Inpaints a video file/folder and writes the result; the core of `lgtsm-inpaint`.

        Args:
          video: video file, frame folder or image (`video_io.open_video`).
          masks: mask folder, mask video or ONE mask image for every frame
            (`video_io.open_masks`; any nonzero pixel = hole, > 127 for mask videos).
          output: a video path (.mp4/.m4v/.mov/.mkv, H.264, the source frame rate) or a folder
            of PNGs (any other path without an extension).
          overwrite: replace existing output (else FileExistsError before any work).
          lossless: lossless RGB H.264 (bit-exact frames) instead of crf 18 yuv420p.
          compare: also write `compare_path(output)`: input with the hole in translucent red |
            output, side by side (lossy H.264).
          frame_rate: frame rate for inputs without one (folders, images); default 25.
          invert_masks: masks drawn with 0 = hole.

        Checked before any model work: the outputs (`check_outputs`: not existing, folder
        writable) and the mask count against the frames that decode. Nothing is left at
        `output` (or the compare path) if anything fails, KeyboardInterrupt included: the
        writers work on hidden temporary names and are aborted on error (temporaries of a
        killed earlier run for the same output are deleted when the writers start).

        Returns:
          {"frames": count, "output": path, "compare": path or None, "frame_rate": Fraction,
           "model_calls": batches run, "hole_frames": frames with a hole pixel}.
        """
        output = os.fspath(output)
        is_video = _is_video_path(output)
        cmp_path = compare_path(output) if compare else None
        check_outputs([output] + ([cmp_path] if cmp_path else []), [video, masks], overwrite)
        calls_before = self.model_calls
        with video_io.open_video(video, frame_rate=frame_rate) as reader, \
                video_io.open_masks(masks, invert=invert_masks) as mask_reader:
            source = _Source(self, reader, mask_reader)  # counts and compares, before any output
            rate = reader.frame_rate
            if rate is None:
                rate = Fraction(FALLBACK_FRAME_RATE)
                if is_video or compare:
                    logging.warning("%s has no frame rate (frame folder or image); writing at %s "
                                    "fps (set frame_rate / --frame_rate)", reader.path, rate)
            if is_video:
                writer = video_io.VideoWriter(output, rate, lossless=lossless, overwrite=overwrite)
            else:
                writer = video_io.FrameFolderWriter(output, overwrite=overwrite)
            cmp_writer = None
            count = 0
            try:
                if cmp_path:
                    cmp_writer = video_io.VideoWriter(cmp_path, rate, overwrite=overwrite)
                for record, out in self._run(source):
                    writer.write(out)
                    if cmp_writer is not None:
                        cmp_writer.write(compare_frame(record.frame, record.hole, out))
                    count += 1
                if cmp_writer is not None:
                    cmp_writer.close()
                writer.close()
            except BaseException:
                writer.abort()
                if cmp_writer is not None:
                    committed = cmp_writer._state == "closed"
                    cmp_writer.abort()
                    if committed:  # the main output failed after the compare video was moved
                        try:
                            os.remove(cmp_path)
                        except OSError:
                            pass
                raise
        return {"frames": count, "output": output, "compare": cmp_path, "frame_rate": rate,
                "model_calls": self.model_calls - calls_before, "hole_frames": source.hole_frames}
