"""Writing an evaluation report: metrics.json, metrics.csv and the per-frame PSNR plot.

All three files are written under hidden temporary names in the output directory and renamed
into place only after all of them were written, so an error leaves none of them behind (and an
existing file is replaced only with ``overwrite=True``: the check runs before any work).
"""

import csv
import io
import json
import math
import os
from typing import Dict, List, Sequence

from lgtsm_tf import atomic
from lgtsm_tf.evaluation.plot import plot_report

JSON_NAME = "metrics.json"
CSV_NAME = "metrics.csv"
PLOT_NAME = "psnr_per_frame.png"
OUTPUT_NAMES = (JSON_NAME, CSV_NAME, PLOT_NAME)
EXISTS_MESSAGE = "{all}: already exists (pass overwrite=True / --overwrite to replace)"


def output_paths(output_dir) -> Dict[str, str]:
    output_dir = os.fspath(output_dir)
    return {"json": os.path.join(output_dir, JSON_NAME), "csv": os.path.join(output_dir, CSV_NAME),
            "plot": os.path.join(output_dir, PLOT_NAME)}


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output_dir(output_dir, inputs: Sequence, overwrite: bool) -> None:
    """Fails before any work if outputs exist (without overwrite) or would land in an input.

    Raises FileExistsError, NotADirectoryError or ValueError naming the path.
    """
    output_dir = os.fspath(output_dir)
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise NotADirectoryError(f"{output_dir}: exists and is not a directory (--output_dir)")
    for path in inputs:
        if path is None:
            continue
        path = os.fspath(path)
        if os.path.isdir(path) and _inside(output_dir, path):
            raise ValueError(f"{output_dir}: --output_dir is inside the input folder {path}; "
                             "the report files would be read as videos or frames next time")
    atomic.check_can_write(list(output_paths(output_dir).values()), overwrite, EXISTS_MESSAGE,
                           empty_dir_ok=False)


def _json_safe(value):
    """NaN -> None, +-inf -> "inf"/"-inf", recursively (strict JSON)."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_safe(value.item())  # numpy scalars
    return value


def to_json(report: dict) -> str:
    return json.dumps(_json_safe(report), indent=1, allow_nan=False) + "\n"


def _cell(value) -> str:
    value = float(value)
    if math.isnan(value):
        return ""
    return repr(value)  # "inf" for +inf, full precision otherwise


def csv_rows(report: dict) -> List[List[str]]:
    """Header + one row per frame: video, frame, then every metric of the report."""
    names = list(report["metrics"])
    rows = [["video", "frame"] + names]
    for video in report["videos"]:
        for i in range(video["frames"]):
            rows.append([video["name"], str(i)]
                        + [_cell(video["per_frame"][m][i]) for m in names])
    return rows


def to_csv(report: dict) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(csv_rows(report))
    return buffer.getvalue()


def write_report(report: dict, output_dir, overwrite: bool = False) -> Dict[str, str]:
    """Writes metrics.json, metrics.csv and psnr_per_frame.png; returns their paths."""
    output_dir = os.fspath(output_dir)
    check_output_dir(output_dir, [], overwrite)
    os.makedirs(output_dir, exist_ok=True)
    paths = output_paths(output_dir)
    image = plot_report(report)
    contents = {"json": to_json(report).encode(), "csv": to_csv(report).encode()}
    # Renamed into place together after all three were written (re-checked just before).
    with atomic.atomic_outputs(list(paths.values()), overwrite, message=EXISTS_MESSAGE,
                               keep_ext=False, empty_dir_ok=False) as temps:
        for key, tmp in zip(paths, temps):
            if key == "plot":
                image.save(tmp, format="PNG")
            else:
                with open(tmp, "wb") as f:
                    f.write(contents[key])
    return paths
