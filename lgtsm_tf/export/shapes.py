"""Clip shapes on the command line: "BxTxHxW" strings."""

from __future__ import annotations

import re
from typing import Tuple

Shape = Tuple[int, int, int, int]


def parse_shape(text) -> Shape:
    """"1x8x240x432" (or "1,8,240,432", or a sequence of 4 ints) -> (B, T, H, W), all >= 1."""
    if isinstance(text, str):
        parts = [p for p in re.split(r"[x,\s]+", text.strip().lower()) if p]
    else:
        parts = list(text)
    try:
        shape = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be BxTxHxW (e.g. 1x8x240x432), got {text!r}") from None
    if len(shape) != 4 or any(s < 1 for s in shape):
        raise ValueError(f"shape must be 4 positive sizes BxTxHxW (e.g. 1x8x240x432), got "
                         f"{text!r}")
    return shape
