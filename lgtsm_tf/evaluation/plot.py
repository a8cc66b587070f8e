"""Per-frame PSNR plot drawn with Pillow (no matplotlib): one line per video.

One panel for the whole-frame PSNR and, when masks were given, one for the hole-only PSNR.
Frames without a value (no hole) break the line; +inf values (identical frames, no cap) are drawn
on a separate "inf" row above the axis range.
"""

import math
from typing import List, Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH, PANEL_HEIGHT = 1100, 420
LEFT, RIGHT, TOP, BOTTOM = 90, 230, 50, 70
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
MAX_LEGEND = 18
MAX_MARKERS = 60  # dots on every frame only for short videos
PANELS = (("psnr", "PSNR per frame, whole frame (dB)"),
          ("psnr_hole", "PSNR per frame, hole pixels only (dB)"))


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # very old Pillow: bitmap font only
        return ImageFont.load_default()


def _text_size(draw, text, font):
    box = draw.textbbox((0, 0), text, font=font)
    return box[2] - box[0], box[3] - box[1]


def nice_ticks(lo: float, hi: float, count: int = 8) -> List[float]:
    """Round tick values (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], start
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _label(value: float) -> str:
    return f"{value:g}"


def _draw_panel(image, top, title, series: Sequence, names: Sequence[str], fonts,
                x_label: str = "frame", x_step: int = 1):
    draw = ImageDraw.Draw(image)
    small, normal = fonts
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = top + TOP, top + PANEL_HEIGHT - BOTTOM  # y0 top edge, y1 bottom edge of the axes
    finite = [v for s in series for v in s if math.isfinite(v)]
    has_inf = any(math.isinf(v) and v > 0 for s in series for v in s)
    if finite:
        lo, hi = min(finite), max(finite)
    else:
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-6:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    inf_row = y0 + 12 if has_inf else None
    plot_top = y0 + 30 if has_inf else y0
    n_frames = max((len(s) for s in series), default=1)
    span = max(n_frames - 1, 1)

    def px(i):
        return x0 + (x1 - x0) * (i / span if n_frames > 1 else 0.5)

    def py(v):
        if math.isinf(v) and v > 0:
            return inf_row
        return y1 - (y1 - plot_top) * (v - lo) / (hi - lo)

    tw, th = _text_size(draw, title, normal)
    draw.text(((x0 + x1 - tw) / 2, top + 12), title, fill="black", font=normal)
    for v in nice_ticks(lo, hi):
        y = py(v)
        draw.line([(x0, y), (x1, y)], fill=(230, 230, 230))
        draw.line([(x0 - 5, y), (x0, y)], fill="black")
        label = _label(v)
        w, h = _text_size(draw, label, small)
        draw.text((x0 - 8 - w, y - h / 2 - 2), label, fill="black", font=small)
    if has_inf:
        draw.line([(x0, inf_row), (x1, inf_row)], fill=(230, 230, 230))
        w, h = _text_size(draw, "inf", small)
        draw.text((x0 - 8 - w, inf_row - h / 2 - 2), "inf", fill="black", font=small)
    for i in nice_ticks(0, n_frames - 1) if n_frames > 1 else [0]:
        if i != int(i):
            continue
        x = px(i)
        draw.line([(x, y1), (x, y1 + 5)], fill="black")
        label = str(int(i) * x_step)
        w, h = _text_size(draw, label, small)
        draw.text((x - w / 2, y1 + 8), label, fill="black", font=small)
    draw.rectangle([x0, y0, x1, y1], outline="black")
    w, h = _text_size(draw, x_label, normal)
    draw.text(((x0 + x1 - w) / 2, y1 + 30), x_label, fill="black", font=normal)
    ylabel = "PSNR (dB)"
    w, h = _text_size(draw, ylabel, normal)
    label_img = Image.new("RGBA", (w + 4, h + 8), (255, 255, 255, 0))
    ImageDraw.Draw(label_img).text((2, 0), ylabel, fill="black", font=normal)
    label_img = label_img.rotate(90, expand=True)
    image.paste(label_img, (12, int((y0 + y1 - label_img.height) / 2)), label_img)

    for k, values in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        segment = []
        for i, v in enumerate(values):
            if math.isnan(v):
                if len(segment) > 1:
                    draw.line(segment, fill=color, width=2)
                segment = []
                continue
            point = (px(i), py(v))
            segment.append(point)
            if n_frames <= MAX_MARKERS:
                draw.ellipse([point[0] - 2, point[1] - 2, point[0] + 2, point[1] + 2], fill=color)
        if len(segment) > 1:
            draw.line(segment, fill=color, width=2)

    ly = y0
    for k, name in enumerate(names[:MAX_LEGEND]):
        color = PALETTE[k % len(PALETTE)]
        draw.line([(x1 + 15, ly + 8), (x1 + 40, ly + 8)], fill=color, width=3)
        text = name if len(name) <= 24 else name[:23] + "~"
        draw.text((x1 + 46, ly), text, fill="black", font=small)
        ly += 18
    if len(names) > MAX_LEGEND:
        draw.text((x1 + 46, ly), f"+ {len(names) - MAX_LEGEND} more", fill="black", font=small)


def plot_report(report: dict) -> Image.Image:
    """RGB image with the per-frame PSNR of every video (and hole PSNR when present)."""
    panels = [(m, t) for m, t in PANELS if m in report["metrics"]]
    if not panels:
        panels = [PANELS[0]]
    image = Image.new("RGB", (WIDTH, PANEL_HEIGHT * len(panels)), "white")
    fonts = (_font(13), _font(16))
    names = [v["name"] for v in report["videos"]]
    for p, (metric, title) in enumerate(panels):
        series = [[float(x) for x in v["per_frame"].get(metric, [])] for v in report["videos"]]
        _draw_panel(image, p * PANEL_HEIGHT, title, series, names, fonts)
    return image


def plot_curves(series: Sequence, names: Sequence[str], title: str, x_label: str = "step",
                x_step: int = 1) -> Image.Image:
    """RGB image of one panel: each of `series` (values in dB, point i at x = i * x_step),
    e.g. a validation curve beside constant baselines."""
    image = Image.new("RGB", (WIDTH, PANEL_HEIGHT), "white")
    _draw_panel(image, 0, title, [[float(v) for v in s] for s in series], names,
                (_font(13), _font(16)), x_label, x_step)
    return image
