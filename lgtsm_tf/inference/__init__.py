"""Whole-video inpainting: any length, any resolution, streamed, with smooth window blending.

`VideoInpainter` runs an inpainting generator (the contract of `lgtsm_tf.build_generator`:
{"frames": float [B, T, H, W, 3] in [0, 1], "masks": float [B, T, H, W, 1], 1 = hole} ->
composited float [B, T, H, W, 3]) over a whole video, one temporal window of `window` frames at
a time, and yields finished `uint8 [H, W, 3]` frames in order::

    inpainter = VideoInpainter.from_path("lgtsm.keras", window=16, overlap=6, dilate=4)
    for frame in inpainter.inpaint(open_video("in.mp4"), open_masks("masks/")):
        ...                                     # uint8 [H, W, 3], known pixels untouched
    inpainter.inpaint_files("in.mp4", "masks/", "out.mp4", compare=True)   # the CLI's core

**Windows.** Window k covers frames [s_k, s_k + T) with s_k = k * (T - overlap); the last window
is moved back to end exactly at the last frame (so it may overlap its predecessor by more than
`overlap`), and a video shorter than T is one window of all its frames. Every window therefore
has the same length and several windows run as one batch (`batch_windows`).

**Blending (no pops).** Over the L frames where consecutive windows k and k+1 cross-fade,
window k+1's weight rises linearly, 1/(L+1), 2/(L+1), ..., L/(L+1), and window k's falls as the
complement, so the weights of every frame sum to one (the sum is also divided out, against
rounding). Outside cross-fades a frame has one window and weight one. The cross-fade covers
the frames k and k+1 share that window k-1 does not, so no frame is blended from more than two
windows: L = overlap for overlap <= window / 2, and L = window - overlap for larger overlaps
(the extra shared frames are context only, with weight 0 in the later window; the same holds
for the first frames of a last window moved back). The output thus cross-fades from one window's
solution to the next over L frames; the largest frame-to-frame change of any weight is
1/(L+1), the smallest possible for a transition spread over L frames (a cosine ramp reaches
pi/2 times that at its midpoint). Peer tools (STTN, E2FGVI, ProPainter, FGT) instead update
`result = 0.5 * result + 0.5 * new` each time a window revisits a frame: a frame seen by n
windows gets weights 1/2^(n-1), ..., 1/4, 1/2 (unequal), and at the first and last frame of each
overlap the mix jumps from 100 % to 50 % of a window in a single frame -- the visible "pop" at
chunk borders. The blend is computed as base + sum_k w_k (y_k - base) / sum_k w_k (base = the
first window's output for the frame), so when the windows agree the result is bit-identical to
any one of them; a model whose output does not depend on the window gives the same video for
every `window` / `overlap` / `batch_windows`.

**Streaming.** Frames and masks are read lazily from the given iterators; at most the frames of
`batch_windows` windows (plus one stride of read-ahead to place the next window) are held, with
one float accumulator per frame in flight, and each frame is yielded as soon as no later window
covers it. Memory is O(window * batch_windows), flat in video length
(`benchmarks/inference_memory.py` measures it).

**Any size.** The model needs H and W to be multiples of 4. Frames and masks are padded at the
bottom and right to the next multiple of 4 by *reflection* (mirror without repeating the edge
pixel, like PyTorch's ReflectionPad2d; sides shorter than 4 px, where reflection is undefined,
replicate the edge instead) and the output is cropped back. Reflection continues the texture
at the border, where replicate or zero padding would show the network a flat or black band.
With `working_size` the model runs at a lower resolution: frames are resized with antialiased
bilinear filtering, a working pixel is a hole if any full-resolution hole pixel falls in its
area (so the hole is never shrunk), the output is resized back bilinearly, and only the
(dilated) full-resolution hole pixels are taken from it.

**Known pixels** are copied from the input frame outside the (dilated) hole, after the uint8
conversion, so they are bit-identical to the input whatever the model, precision or resizing.

**Masks** (1 = hole). Accepted as `[H, W]` or `[H, W, 1]` (or `[H, W, C]`: hole where any
channel is a hole) per frame. bool masks are used as is. Integer masks (uint8 from files): hole
= nonzero, the rule of the mask files (`lgtsm_tf.video_io.read_mask`). Float masks: hole = value
> 0.5, because float masks are soft (resampled or predicted) masks in [0, 1] where 0.5 is the
decision boundary and tiny non-zero values are numerical noise. A mask with more than one
non-zero value (integer) or with values other than 0 and 1 (float) is *non-binary*: it is
thresholded by that rule and a `UserWarning` says so (once per video); masks read from files by
`video_io` arrive already binarised by its rules, so this concerns arrays given to the API.
`dilate=N` grows every hole by N pixels in the square (Chebyshev) neighbourhood, i.e. like
`cv2.dilate` with a (2N+1) x (2N+1) rectangle. Frames whose (dilated) mask is empty are returned
unchanged, and a window without any hole pixel is not run through the model at all. A mask whose
size differs from the frames is an error unless `resize_masks=True` (nearest-neighbour resize).
Mask count different from the frame count is always an error (a single 2-D array, or a single
mask image opened with `open_masks`, applies to every frame). Both counts are the frames that
*decode* (`video_io.count_frames`: a video file is decoded once, pixels discarded, before any
model work; its header's count is only the progress bar's first guess), so a mismatch is
reported before the model runs, naming both numbers. Masks without a single hole pixel in the
whole video give a `UserWarning` at the end (the output then equals the input).

**Modules** (this package re-exports their public names): `windows` (planning and blend
weights), `masks` (binarising, dilating, padding, working size), `loading` (models, presets,
precision), `streaming` (frames and masks paired, counted), `inpainter` (`VideoInpainter`)
and `files` (the CLI's output paths and up-front checks).
"""

from lgtsm_tf.inference.files import (
    COMPARE_ALPHA, COMPARE_COLOR, VIDEO_EXTENSIONS, check_inputs, check_outputs, compare_frame,
    compare_path)
from lgtsm_tf.inference.inpainter import FALLBACK_FRAME_RATE, VideoInpainter
from lgtsm_tf.inference.loading import (
    PRECISIONS, REFERENCE_SUFFIXES, WINDOWING_FILE, load_model, model_flag_path, model_path,
    windowing, with_precision)
from lgtsm_tf.inference.masks import SIZE_MULTIPLE, binarize_mask, dilate_mask, pad_to_multiple
from lgtsm_tf.inference.windows import (
    DEFAULT_OVERLAP, DEFAULT_WINDOW, Window, blend_weights, plan_windows)

__all__ = [
    "DEFAULT_WINDOW",
    "DEFAULT_OVERLAP",
    "PRECISIONS",
    "VIDEO_EXTENSIONS",
    "Window",
    "plan_windows",
    "blend_weights",
    "binarize_mask",
    "dilate_mask",
    "pad_to_multiple",
    "load_model",
    "with_precision",
    "model_path",
    "model_flag_path",
    "compare_path",
    "compare_frame",
    "check_outputs",
    "check_inputs",
    "VideoInpainter",
]
