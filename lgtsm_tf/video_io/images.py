"""Single images and masks: decoded by content with Pillow, every error names the file.

* :func:`read_image` -> ``uint8 [H, W, 3]`` RGB in 0..255 (grey, palette, 16-bit and alpha
  images are converted).
* :func:`read_mask` -> ``uint8 [H, W]`` in ``{0, 1}``, 1 = hole (nonzero pixel = hole; see
  its docstring for the exact rule per image mode). Mask *videos* are binarised with
  ``> DEFAULT_VIDEO_MASK_THRESHOLD`` (127), because lossy codecs add noise around 0 and 255.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image

from lgtsm_tf.video_io.paths import PathLike, _check_exists

# Default threshold for binarising mask *videos* (lossy codecs add noise around 0 and 255).
DEFAULT_VIDEO_MASK_THRESHOLD = 127


def _open_image(path: str) -> Image.Image:
    """Open and fully decode an image with Pillow (content sniffing), or raise ValueError."""
    _check_exists(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory, not an image file")
    try:
        with Image.open(path) as img:
            img.load()  # Pillow is lazy: force decoding so truncation errors surface here.
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as e:  # UnidentifiedImageError, OSError (truncated), SyntaxError, ...
        raise ValueError(f"{path}: cannot decode image: {type(e).__name__}: {e}") from e
    return img


def _high_bit_depth_to_uint8(arr: np.ndarray) -> np.ndarray:
    """Map 16/32-bit integer or float grey pixel values to uint8 (16-bit: keep the top byte)."""
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    arr = arr.astype(np.int64)
    if arr.size and arr.max() > 255:
        arr = arr >> 8
    return np.clip(arr, 0, 255).astype(np.uint8)


def _image_to_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode == "RGB":
        rgb = np.asarray(img, dtype=np.uint8)
    elif mode.startswith("I") or mode == "F":  # 16-bit / 32-bit grey
        grey = _high_bit_depth_to_uint8(np.asarray(img))
        rgb = np.repeat(grey[..., None], 3, axis=-1)
    else:
        if mode in ("P", "PA"):
            # Palette with transparency: go via RGBA (Pillow warns otherwise); alpha is dropped.
            img = img.convert("RGBA")
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)  # L, LA, RGBA, CMYK, YCbCr, 1...
    return np.ascontiguousarray(rgb)


def read_image(path: PathLike) -> np.ndarray:
    """Read an image file as RGB, decoding by content (a PNG named ``.jpg`` works).

    Palette, grey, grey+alpha, RGBA, CMYK and 1-bit images are converted to RGB (alpha is
    dropped, not composited). 16-bit grey keeps the top byte. EXIF orientation is *not*
    applied (pixels are returned as stored, matching how masks are read).

    Returns:
      ``uint8 [H, W, 3]``, values 0..255.

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: ``"{path}: cannot decode image: ..."`` for unreadable/truncated files.
    """
    path = os.fspath(path)
    return _image_to_rgb(_open_image(path))


def _webp_is_lossy(path: str) -> bool:
    """True if a WebP file holds a lossy ``VP8 `` bitstream (``VP8L`` is lossless)."""
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    pos = 12  # after "RIFF" <size> "WEBP"
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        if fourcc == b"VP8 ":
            return True
        if fourcc == b"VP8L":
            return False
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    return True  # unknown: assume lossy (the safer threshold for noisy data)


_ALPHA_MODES = ("RGBA", "LA", "RGBa", "La")


def _alpha_mask_channel(arr: np.ndarray, mode: str, path: str, lossy: bool) -> np.ndarray:
    """The channel an RGBA / LA mask's hole is read from: ``[H, W]`` colour or alpha.

    Alpha that is the same everywhere carries no drawing: the colour decides (any channel).
    Alpha that varies over a colour that is the same everywhere (a brush of one colour on a
    transparent layer, as image editors export) is the drawing: alpha decides. When both vary
    they must mark the same hole, else the mask is ambiguous and refused with how to convert.
    """
    colour, alpha = arr[..., :-1].max(axis=-1), arr[..., -1]
    if np.all(alpha == alpha.flat[0]):
        return colour
    flat = arr[..., :-1].reshape(-1, arr.shape[-1] - 1)
    if np.all(flat == flat[0]):
        return alpha
    hole = (lambda a: a > DEFAULT_VIDEO_MASK_THRESHOLD) if lossy else (lambda a: a != 0)
    if np.array_equal(hole(colour), hole(alpha)):
        return colour
    raise ValueError(
        f"{path}: {mode} mask whose colour and alpha channels mark different holes; save it "
        "without alpha, either the colour (hole = nonzero colour; ImageMagick: convert IN "
        "-alpha off OUT.png) or the alpha channel (hole = opaque; ImageMagick: convert IN "
        f"-alpha extract OUT.png; Pillow: Image.open(IN).getchannel('A').save(OUT))")


def _mask_channel(img: Image.Image, path: str) -> np.ndarray:
    """The ``[H, W]`` values a non-palette mask image is binarised on (see read_mask)."""
    mode = img.mode
    arr = np.asarray(img)
    if mode in _ALPHA_MODES:
        return _alpha_mask_channel(arr, mode, path, _is_lossy_image(img, path))
    if mode == "CMYK" or mode == "YCbCr" or mode == "LAB" or mode == "HSV":
        arr = np.asarray(img.convert("RGB"))
    if arr.ndim == 3:
        arr = arr.max(axis=-1)
    if arr.ndim != 2:
        raise ValueError(f"{path}: unsupported mask image mode {mode!r}")
    return arr


def _binarize_image_mask(img: Image.Image, path: str) -> np.ndarray:
    mode = img.mode
    if mode in ("P", "PA"):
        # Binarise on the palette *index*, never on the colour: DAVIS/YouTube-VOS annotations
        # may use dark palette colours (e.g. (1, 0, 0)) that a grey conversion maps to 0.
        index = np.asarray(img.getchannel(0) if mode == "PA" else img)
        return (index != 0).astype(np.uint8)
    arr = _mask_channel(img, path)
    # Lossy formats: JPEG ringing puts small nonzero values around edges and in flat black
    # areas; threshold at > 127 like lossy mask videos. Lossless formats: any nonzero.
    if _is_lossy_image(img, path) and arr.dtype == np.uint8:
        return (arr > DEFAULT_VIDEO_MASK_THRESHOLD).astype(np.uint8)
    return (arr != 0).astype(np.uint8)


def _is_lossy_image(img: Image.Image, path: str) -> bool:
    fmt = (img.format or "").upper()
    return fmt in ("JPEG", "MPO") or (fmt == "WEBP" and _webp_is_lossy(path))


def _is_soft_mask(img: Image.Image, path: str) -> bool:
    """An 8-bit grey/RGB mask drawn as 0/255 with values in between (antialiased or resampled
    edges), which binarising as nonzero = hole silently widens. Instance-label images (small
    labels 1, 2, ...), palette images and lossy files (thresholded at > 127) are not soft."""
    if img.mode not in ("L", "RGB", "RGBA", "LA") or _is_lossy_image(img, path):
        return False
    arr = np.asarray(img)
    if img.mode in _ALPHA_MODES:
        arr = _alpha_mask_channel(arr, img.mode, path, lossy=False)
    elif arr.ndim == 3:
        arr = arr[..., :3]
    values = np.unique(arr)
    return bool(values[-1] == 255 and np.any((values > 0) & (values < 255)))


def _warn_soft_mask(path: str, once_for=None) -> None:
    where = f"{once_for}: masks such as {path}" if once_for else path
    warnings.warn(f"{where}: mask is not binary (values between 0 and 255); thresholded as "
                  f"nonzero = hole", UserWarning, stacklevel=3)


def read_mask(path: PathLike, invert: bool = False) -> np.ndarray:
    """Read one mask image; nonzero = hole.

    Rules by image mode (content-sniffed, the extension is ignored):

    * palette (``"P"``, DAVIS / YouTube-VOS annotations): hole where the palette **index**
      is nonzero. The palette colours are never looked at, so a dark colour such as
      ``(1, 0, 0)`` at index 1 is still a hole.
    * RGB: hole where any colour channel > 0.
    * RGBA / grey + alpha (``"LA"``): alpha that is the same on every pixel is ignored and the
      colour decides as for RGB / grey. Alpha that varies over a single colour (a brush
      painted on a transparent layer, a common export of image editors; the colour may even
      be black) is the drawing: hole where alpha > 0. If colour and alpha both vary they must
      mark the same hole; otherwise ``ValueError`` naming the file says how to convert it
      (drop alpha, or keep only alpha).
    * grey (``"L"``, ``"1"``, 16-bit ``"I;16"``, ``"I"`` instance-label images): hole where
      value > 0, so every nonzero instance label counts as hole.
    * lossy files (JPEG, lossy WebP): threshold > 127 instead of > 0, because compression
      noise makes black pixels slightly nonzero.
    * a lossless 8-bit 0/255 mask with values in between (antialiased edges) is binarised the
      same way (nonzero = hole) with a `UserWarning` naming the file.

    Args:
      path: mask image file.
      invert: flip polarity, for masks drawn with 0 = hole (after binarising).

    Returns:
      ``uint8 [H, W]`` with values in ``{0, 1}``; 1 = hole.

    Raises:
      FileNotFoundError / ValueError naming the file.
    """
    path = os.fspath(path)
    img = _open_image(path)
    if _is_soft_mask(img, path):
        _warn_soft_mask(path)
    mask = _binarize_image_mask(img, path)
    if invert:
        mask = 1 - mask
    return np.ascontiguousarray(mask, dtype=np.uint8)


def _binarize_video_mask(rgb: np.ndarray, threshold: int, invert: bool) -> np.ndarray:
    mask = (rgb.max(axis=-1) > threshold).astype(np.uint8)
    return 1 - mask if invert else mask
