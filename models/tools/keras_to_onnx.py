#!/usr/bin/env python3
"""Converts a Keras 3 HAR model (`.keras`) plus the thesis' `config.json` (or `scaler_config.json`) and
`label_mapping.json` into the pair
HAR Monitor loads: `<stem>.onnx` and its model card `<stem>.model.json` (docs/FORMATS.md §2, format har-model-card/1).

The conversion is the one that works on saved `.keras` files (DESIGN.md, "Models in the field"): load the model,
call it once on zeros, then `model.export(path, format="onnx")` (tf2onnx underneath, opset 15). The converted graph
is then run with ONNX Runtime on random and realistic scaled windows (batch 1 and batch 32) next to Keras, and the
conversion is refused when any probability or logit differs by more than the tolerance (1e-4 by default).

Every problem with the user's files is reported as one line naming the file and the field, with exit code 2.
Exit code 1 means the conversion itself failed or disagrees with Keras; 0 means both files were written.
Run with --help for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import sys
import tempfile
import traceback
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CARD_FORMAT = "har-model-card/1"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

DEFAULT_CHANNELS = ("Ax", "Ay", "Az", "Gx", "Gy", "Gz")
ACCEL_UNITS = ("m/s^2", "g", "milli-g", "as-is")
#: Factor from each accelerometer unit to m/s² (the same numbers as src/model/card.rs).
ACCEL_TO_MPS2 = {"m/s^2": 1.0, "g": 9.80665, "milli-g": 0.00981, "as-is": 1.0}
#: Keys of the thesis' config.json that may hold the window, step and sample rate; the same spellings that
#: `ModelCard::from_thesis_files` accepts.
WINDOW_KEYS = ("window_size", "window", "time_steps")
STEP_KEYS = ("step", "step_size", "stride")
RATE_KEYS = ("sampling_rate", "sample_rate_hz", "sample_rate", "fs")

DESCRIPTION = __doc__.split("\n\n")[0]

EPILOG = """\
inputs:
  MODEL.keras        a Keras 3 model file whose input is [batch, window, channels] (scaled windows, layout NTC)
                     and whose output is [batch, classes]. Legacy .h5 files that Keras 3 can load work too.
  config.json        the thesis' preprocessing config (data/prepared/config.json), or the scaler_config.json
                     beside the thesis' retrained model, which spells the scaler "mean" and "scale".
                     Required: "scaler_mean" and "scaler_scale" (or "mean" and "scale"), one number
                     per channel (a StandardScaler: the model input is (x - mean) / scale). Optional: the window
                     ("window_size", "window" or "time_steps"; must equal the model's input length), the step
                     ("step", "step_size" or "stride") and the sample rate ("sampling_rate", "sample_rate_hz",
                     "sample_rate" or "fs").
  label_mapping.json {"0": "ear_rubbing", "1": "forehead_rubbing", ...}: output index -> class name. Indices must
                     run 0, 1, 2, ... without gaps, and there must be one per model output.
  Without --config/--labels, config.json (else scaler_config.json) and label_mapping.json beside MODEL.keras
  are used.

outputs (in --out-dir, default: the folder of MODEL.keras):
  <stem>.onnx        the graph: dynamic batch, input [N, window, channels], output [N, classes], opset 15.
  <stem>.model.json  the model card: classes, channels, units, sample rate, window, step, scaler, output kind
                     ("probabilities" when the last layer ends in softmax, "logits" when it is linear) and
                     provenance (Keras/TensorFlow/tf2onnx versions, source file and its SHA-256, date, the
                     measured ONNX Runtime vs Keras difference).
  Both are written only after the check passed; existing files of the same name are replaced.

checks (exit code 2, one line naming the file and field):
  missing or unreadable files, invalid JSON, scaler lists that are missing, not numbers, not finite, a scale
  that is not positive, or whose length differs from the channel count; label_mapping keys that are not
  integers, values that are not names, duplicate names, gaps in the indices, or a class count that differs
  from the model's output width; a model with several inputs/outputs, an input that is not
  (None, window, channels), an output that is not (None, classes), a window in config.json that differs from
  the model's, and a last-layer activation that is neither softmax nor linear (see --output).

verification (exit code 1 when it fails):
  ONNX Runtime and Keras (inference mode) are run on the same windows: standard-normal scaled windows and
  realistic ones (gravity plus arm motion in the card's accelerometer unit, gyroscope in deg/s, passed through
  the scaler), each as batch 1 and batch 32. The largest absolute difference is printed and must not exceed
  --tolerance. For "probabilities" every output row must also sum to 1.

example:
  python models/tools/keras_to_onnx.py fine_tuned_model_1dcnnbilstm.keras \\
      --config config.json --labels label_mapping.json --name thesis-1dcnn-bilstm --version 1.0.0
"""


class InputError(Exception):
    """A problem with the user's files or arguments: one line naming the file and the field (exit code 2)."""


class ConversionError(Exception):
    """The export failed or its result disagrees with Keras (exit code 1)."""


@dataclass
class ThesisConfig:
    """What config.json says."""

    scaler_mean: list[float]
    scaler_scale: list[float]
    window: tuple[str, int] | None
    """The window and the key that gave it, when config.json has one."""
    step: int | None
    sample_rate_hz: float | None
    mean_field: str = "scaler_mean"
    """The field the mean came from: `scaler_mean` (config.json) or `mean` (scaler_config.json)."""


@dataclass
class ModelShape:
    """The Keras model's input and output geometry and what its output holds."""

    input_name: str
    window: int
    channels: int
    classes: int
    output_kind: str
    last_activation: str


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="keras_to_onnx.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("model", type=Path, metavar="MODEL.keras", help="the Keras model file to convert")
    add(
        "--config",
        type=Path,
        metavar="FILE",
        help="the thesis' config.json or scaler_config.json (default: config.json beside MODEL.keras, else "
        "scaler_config.json)",
    )
    add("--labels", type=Path, metavar="FILE", help="label_mapping.json (default: beside MODEL.keras)")
    add("--out-dir", type=Path, metavar="DIR", help="where to write the .onnx and card (default: MODEL's folder)")
    add("--stem", help="file name stem of the outputs (default: MODEL's stem)")
    add("--name", help="card `name` (default: the stem with '_' turned into '-')")
    add("--version", default="1.0.0", help="card `version` (default: %(default)s)")
    add("--description", metavar="TEXT", help="card `description` (default: says what it was converted from)")
    add("--trained-on", metavar="TEXT", help="card `provenance.trained_on`: free text about the training data")
    add(
        "--channels",
        metavar="NAMES",
        default=",".join(DEFAULT_CHANNELS),
        help="comma-separated channel names in the model's input order, as the training CSV columns were "
        "ordered (default: %(default)s, the thesis' Ax_w..Gz_w)",
    )
    add(
        "--accel-unit",
        default="m/s^2",
        choices=ACCEL_UNITS,
        help="accelerometer unit the model was trained on (default: %(default)s, the thesis' unit)",
    )
    add("--gyro-unit", default="deg/s", metavar="UNIT", help="gyroscope unit of the training (default: %(default)s)")
    add("--sample-rate", type=float, metavar="HZ", help="sample rate in Hz (default: config.json's, else 50)")
    add("--step", type=int, metavar="ROWS", help="rows between window starts (default: config.json's, else window/2)")
    add(
        "--output",
        choices=("auto", "probabilities", "logits"),
        default="auto",
        help="what the model's output holds; auto reads the last layer: softmax -> probabilities, "
        "linear -> logits (default: %(default)s)",
    )
    add("--opset", type=int, default=15, metavar="N", help="ONNX opset for tf2onnx (default: %(default)s)")
    add(
        "--tolerance",
        type=float,
        metavar="X",
        default=1e-4,
        help="largest accepted |ONNX Runtime - Keras| on any output value (default: %(default)g)",
    )
    add("--seed", type=int, default=0, metavar="N", help="seed of the check windows (default: %(default)s)")
    add("--verbose", action="store_true", help="show TensorFlow's own log lines and tracebacks of internal failures")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------------------------
# The user's JSON files.


def read_json(path: Path, what: str) -> Any:
    """Reads a JSON file; `what` says which file it is, for the message."""
    if not path.exists():
        raise InputError(f"{path}: not found ({what})")
    if not path.is_file():
        raise InputError(f"{path}: is not a file ({what})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot be read ({what}): {e}") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number_list(path: Path, cfg: dict, field: str) -> list[float]:
    if field not in cfg:
        raise InputError(f"{path}: field `{field}` is missing (one number per channel)")
    value = cfg[field]
    if not isinstance(value, list) or not value:
        raise InputError(f"{path}: field `{field}` must be a non-empty list of numbers, not {json.dumps(value)[:60]}")
    for i, v in enumerate(value):
        if not _is_number(v):
            raise InputError(f"{path}: field `{field}[{i}]` is {json.dumps(v)[:40]}, not a number")
        if not math.isfinite(v):
            raise InputError(f"{path}: field `{field}[{i}]` is {v}, not a finite number")
    return [float(v) for v in value]


def _optional_int(path: Path, cfg: dict, keys: Sequence[str]) -> tuple[str, int] | None:
    """The first of `keys` present in `cfg`, with its value, which must be a whole number of at least 1."""
    for key in keys:
        if key in cfg and cfg[key] is not None:
            v = cfg[key]
            if not _is_number(v) or not math.isfinite(v) or not float(v).is_integer() or v < 1:
                raise InputError(f"{path}: field `{key}` must be a whole number of at least 1, not {json.dumps(v)}")
            return key, int(v)
    return None


def read_config(path: Path) -> ThesisConfig:
    cfg = read_json(
        path, "the thesis' config.json with scaler_mean and scaler_scale, or scaler_config.json with mean and scale"
    )
    if not isinstance(cfg, dict):
        raise InputError(
            f"{path}: must be a JSON object with `scaler_mean` and `scaler_scale` (config.json) or `mean` and "
            "`scale` (scaler_config.json)"
        )
    # config.json spells the scaler scaler_mean/scaler_scale; the retrained model's scaler_config.json mean/scale.
    if "scaler_mean" in cfg or "scaler_scale" in cfg or not ("mean" in cfg or "scale" in cfg):
        mean_field, scale_field = "scaler_mean", "scaler_scale"
    else:
        mean_field, scale_field = "mean", "scale"
    if mean_field not in cfg and scale_field not in cfg:
        raise InputError(
            f"{path}: field `scaler_mean` is missing: the scaler is `scaler_mean` and `scaler_scale` (config.json) "
            "or `mean` and `scale` (scaler_config.json), one number per channel"
        )
    mean = _number_list(path, cfg, mean_field)
    scale = _number_list(path, cfg, scale_field)
    for i, s in enumerate(scale):
        if s <= 0.0:
            raise InputError(f"{path}: field `{scale_field}[{i}]` is {s}; a scale must be positive")
    if len(mean) != len(scale):
        raise InputError(
            f"{path}: fields `{mean_field}` ({len(mean)} numbers) and `{scale_field}` ({len(scale)} numbers) "
            "must have the same length"
        )
    rate = None
    for key in RATE_KEYS:
        if key in cfg and cfg[key] is not None:
            v = cfg[key]
            if not _is_number(v) or not math.isfinite(v) or v <= 0:
                raise InputError(f"{path}: field `{key}` must be a positive number of Hz, not {json.dumps(v)}")
            rate = float(v)
            break
    step = _optional_int(path, cfg, STEP_KEYS)
    return ThesisConfig(
        scaler_mean=mean,
        mean_field=mean_field,
        scaler_scale=scale,
        window=_optional_int(path, cfg, WINDOW_KEYS),
        step=step[1] if step else None,
        sample_rate_hz=rate,
    )


#: Sample rate used when neither --sample-rate nor config.json gives one (the thesis watch's).
DEFAULT_RATE_HZ = 50.0


def choose_step_and_rate(
    step_arg: int | None, rate_arg: float | None, config: ThesisConfig, config_path: Path, window: int
) -> tuple[int, float, list[str]]:
    """The card's step and sample rate: the command line's, else config.json's, else a default. Returns them with
    one note for each value that was not given anywhere, saying what was chosen and how to choose otherwise."""
    notes = []
    if step_arg is not None:
        step = step_arg
    elif config.step is not None:
        step = config.step
    else:
        step = max(window // 2, 1)
        notes.append(
            f"{config_path.name} has no step ({', '.join(STEP_KEYS)}): using window / 2 = {step} rows between "
            "window starts; pass --step ROWS to choose another"
        )
    if rate_arg is not None:
        rate = rate_arg
    elif config.sample_rate_hz is not None:
        rate = config.sample_rate_hz
    else:
        rate = DEFAULT_RATE_HZ
        notes.append(
            f"{config_path.name} has no sample rate ({', '.join(RATE_KEYS)}): using {rate:g} Hz; pass "
            "--sample-rate HZ to choose another"
        )
    return step, rate, notes


def read_label_mapping(path: Path) -> list[str]:
    """Returns the class names in output-index order."""
    mapping = read_json(path, 'the thesis\' label_mapping.json, {"0": "ear_rubbing", ...}')
    if not isinstance(mapping, dict) or not mapping:
        raise InputError(f'{path}: must be a non-empty JSON object {{"0": "class name", "1": ...}}')
    by_index: dict[int, str] = {}
    for key, name in mapping.items():
        try:
            index = int(key.strip())
        except ValueError:
            raise InputError(f'{path}: key `{key}` is not an output index (expected "0", "1", ...)') from None
        if index < 0:
            raise InputError(f"{path}: key `{key}` is negative; output indices start at 0")
        if index in by_index:
            raise InputError(f"{path}: index {index} appears twice (keys `{key}` and another spelling)")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{path}: value of `{key}` must be a class name, not {json.dumps(name)[:40]}")
        by_index[index] = name.strip()
    missing = sorted(set(range(max(by_index) + 1)) - set(by_index))
    if missing:
        raise InputError(
            f"{path}: indices must run 0, 1, 2, ... without gaps; missing {', '.join(map(str, missing[:10]))}"
        )
    classes = [by_index[i] for i in range(len(by_index))]
    seen: dict[str, int] = {}
    for i, name in enumerate(classes):
        if name in seen:
            raise InputError(f"{path}: class `{name}` is named twice (indices {seen[name]} and {i})")
        seen[name] = i
    return classes


def parse_channels(text: str) -> list[str]:
    names = [c.strip() for c in text.split(",")]
    if not names or any(not n for n in names):
        raise InputError(f"--channels: `{text}` must be comma-separated, non-empty channel names")
    if len(set(n.lower() for n in names)) != len(names):
        raise InputError(f"--channels: `{text}` names a channel twice")
    return names


# ---------------------------------------------------------------------------------------------------------------
# Keras and the export.


@contextlib.contextmanager
def native_stderr_captured(enabled: bool) -> Iterator[Path | None]:
    """Sends file descriptor 2 to a temporary file while TensorFlow talks, so that its C++ log lines (which no
    environment variable silences) do not bury the tool's own messages. The capture is shown when something fails.
    """
    if not enabled:
        yield None
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.NamedTemporaryFile("w+b", prefix="keras_to_onnx.", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        os.dup2(log.fileno(), 2)
    failed = False
    try:
        yield log_path
    except BaseException:
        failed = True
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if failed:
            captured = log_path.read_text(encoding="utf-8", errors="replace").strip()
            if captured:
                print("--- TensorFlow/Keras output before the failure ---", file=sys.stderr)
                print(captured[-4000:], file=sys.stderr)
                print("---", file=sys.stderr)
        log_path.unlink(missing_ok=True)


def import_keras(verbose: bool):
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras  # noqa: PLC0415 - imported late: it takes seconds and the JSON checks come first.
    except ImportError as e:
        raise ConversionError(
            f"cannot import keras ({e}); install the tools with "
            "`python3 -m venv .venv && .venv/bin/pip install -r models/tools/requirements.txt`"
        ) from e
    return keras


def load_keras_model(keras, path: Path):
    if not path.exists():
        raise InputError(f"{path}: not found (the Keras model to convert)")
    if not path.is_file():
        raise InputError(f"{path}: is not a file; give the .keras file (Keras 3 does not load SavedModel folders)")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise InputError(f"{path}: is not a Keras 3 model file (a .keras file is a zip archive; this one is not)")
    try:
        # compile=False: only inference is needed, and the optimizer state would only cause warnings.
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises many kinds here; all of them mean the file cannot be used.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: Keras cannot load it: {type(e).__name__}: {first[:300]}") from e


def last_activation_kind(keras, model) -> tuple[str, str]:
    """Reads what the model's last layer does to its output: (`probabilities`|`logits`|`unknown`, activation)."""
    last = model.layers[-1] if model.layers else None
    if last is None:
        return "unknown", "none"
    if isinstance(last, keras.layers.Softmax):
        return "probabilities", "softmax"
    config = last.get_config()
    activation = config.get("activation")
    if isinstance(activation, dict):  # A serialised activation object.
        activation = activation.get("config", {}).get("name") or activation.get("class_name")
    if activation is None:
        return "unknown", f"{type(last).__name__} layer without an activation"
    activation = str(activation)
    if activation == "softmax":
        return "probabilities", activation
    if activation == "linear":
        return "logits", activation
    return "unknown", activation


def model_shape(keras, model, path: Path, output_override: str) -> ModelShape:
    inputs = list(model.inputs or [])
    outputs = list(model.outputs or [])
    if len(inputs) != 1:
        raise InputError(f"{path}: the model has {len(inputs)} inputs; a HAR model takes one window tensor")
    if len(outputs) != 1:
        raise InputError(f"{path}: the model has {len(outputs)} outputs; a HAR model gives one [batch, classes] tensor")
    in_shape = tuple(inputs[0].shape)
    out_shape = tuple(outputs[0].shape)
    if len(in_shape) != 3 or in_shape[0] is not None or in_shape[1] is None or in_shape[2] is None:
        raise InputError(
            f"{path}: input shape is {in_shape}, expected (None, window, channels) with a dynamic batch and a fixed "
            "window and channel count"
        )
    if len(out_shape) != 2 or out_shape[0] is not None or out_shape[1] is None:
        raise InputError(f"{path}: output shape is {out_shape}, expected (None, classes)")
    kind, activation = last_activation_kind(keras, model)
    if output_override != "auto":
        kind = output_override
    elif kind == "unknown":
        raise InputError(
            f"{path}: the last layer's activation is `{activation}`, neither softmax (probabilities) nor linear "
            "(logits); if you know what the output holds, say so with --output probabilities|logits"
        )
    name = getattr(inputs[0], "name", None) or "input_layer"
    return ModelShape(
        input_name=str(name),
        window=int(in_shape[1]),
        channels=int(in_shape[2]),
        classes=int(out_shape[1]),
        output_kind=kind,
        last_activation=activation,
    )


def export_onnx(model, shape: ModelShape, target: Path, opset: int) -> None:
    """The conversion that works on saved .keras files: build by calling once, then Keras' own ONNX export."""
    try:
        model(np.zeros((1, shape.window, shape.channels), np.float32), training=False)
        model.export(str(target), format="onnx", verbose=False, opset_version=opset)
    except Exception as e:
        raise ConversionError(f"the ONNX export failed: {type(e).__name__}: {str(e).strip()[:500]}") from e
    if not target.is_file():
        raise ConversionError(f"the ONNX export reported success but wrote no file at {target}")


# ---------------------------------------------------------------------------------------------------------------
# Verification.


def _imu_axes(channels: Sequence[str]) -> dict[str, tuple[str, int]] | None:
    """Maps each channel to (sensor, axis) when the channels are exactly the six IMU ones, else None."""
    sensors = {"a": "accel", "acc": "accel", "accel": "accel", "g": "gyro", "gyro": "gyro"}
    found: dict[str, tuple[str, int]] = {}
    for name in channels:
        n = name.lower().removesuffix("_w").replace("_", "")
        if len(n) < 2 or n[-1] not in "xyz" or n[:-1] not in sensors:
            return None
        found[name] = (sensors[n[:-1]], "xyz".index(n[-1]))
    return found if len(set(found.values())) == 6 and len(channels) == 6 else None


def realistic_windows(
    n: int,
    window: int,
    channels: Sequence[str],
    rate_hz: float,
    accel_unit: str,
    mean: np.ndarray,
    scale: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Scaled windows that look like a wrist IMU: gravity along a slowly turning direction plus arm motion, and
    gyroscope rotations of tens of deg/s, passed through the user's scaler. Channels that are not the six IMU
    axes get smooth signals around the scaler's mean instead."""
    t = np.arange(window) / rate_hz
    raw = np.empty((n, window, len(channels)))
    axes = _imu_axes(channels)
    for k in range(n):
        if axes is not None:
            g0 = rng.normal(size=3)
            g0 /= np.linalg.norm(g0)
            wobble = rng.normal(size=3) * 0.3
            direction = g0[None, :] + wobble[None, :] * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)[:, None]
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            accel = 9.80665 * direction
            gyro = np.zeros((window, 3))
            for _ in range(3):
                f = rng.uniform(0.5, 4.0)
                accel += rng.uniform(0.2, 3.0, 3) * np.sin(2 * np.pi * f * t[:, None] + rng.uniform(0, 2 * np.pi, 3))
                gyro += rng.uniform(5, 80, 3) * np.sin(2 * np.pi * f * t[:, None] + rng.uniform(0, 2 * np.pi, 3))
            accel += rng.normal(0, 0.05, accel.shape)
            gyro += rng.normal(0, 1.0, gyro.shape)
            accel /= ACCEL_TO_MPS2[accel_unit]
            for c, name in enumerate(channels):
                sensor, axis = axes[name]
                raw[k, :, c] = accel[:, axis] if sensor == "accel" else gyro[:, axis]
        else:
            for c in range(len(channels)):
                f = rng.uniform(0.5, 4.0)
                wave = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) + rng.normal(0, 0.2, window)
                raw[k, :, c] = mean[c] + scale[c] * rng.uniform(0.3, 1.5) * wave
    return ((raw - mean) / scale).astype(np.float32)


def verify(
    model, model_path: Path, onnx_path: Path, shape: ModelShape, check_sets: dict[str, np.ndarray], tolerance: float
) -> float:
    """Runs ONNX Runtime and Keras on each batch, prints the largest difference, and returns the overall one."""
    import onnxruntime as ort  # noqa: PLC0415

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    worst = 0.0
    for label, x in check_sets.items():
        got = session.run(None, {input_name: x})[0]
        want = np.asarray(model(x, training=False))
        if got.shape != want.shape:
            raise ConversionError(f"{label}: ONNX Runtime gives shape {got.shape}, Keras {want.shape}")
        diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
        agree = float(np.mean(np.argmax(got, axis=1) == np.argmax(want, axis=1)))
        print(f"  {label:<24} max |ORT - Keras| = {diff:.3g}   same predicted class: {agree:.0%}")
        worst = max(worst, diff)
        if shape.output_kind == "probabilities":
            sums = got.sum(axis=1)
            off = float(np.max(np.abs(sums - 1.0)))
            if off > 1e-3 or float(got.min()) < -1e-6:
                raise InputError(
                    f"{model_path}: the output is declared `probabilities` but its rows sum to "
                    f"{sums.min():.4g}..{sums.max():.4g} "
                    f"(smallest value {got.min():.4g}); if the model gives raw scores, pass --output logits"
                )
    if not math.isfinite(worst) or worst > tolerance:
        raise ConversionError(
            f"ONNX Runtime and Keras differ by up to {worst:.3g}, more than --tolerance {tolerance:g}; "
            "the conversion is not trusted and nothing was written"
        )
    return worst


def describe_onnx(path: Path) -> dict[str, Any]:
    """Reads the I/O names, shapes, op types and opset from the exported file."""
    import onnx  # noqa: PLC0415

    graph_model = onnx.load(str(path))

    def dims(value_info) -> list[int | str]:
        """A dimension is a number, the name of a dynamic dimension, or "?" when neither is stored."""
        out: list[int | str] = []
        for d in value_info.type.tensor_type.shape.dim:
            if d.HasField("dim_value"):
                out.append(d.dim_value)
            else:
                out.append(d.dim_param or "?")
        return out

    initializers = {i.name for i in graph_model.graph.initializer}
    inputs = [(i.name, dims(i)) for i in graph_model.graph.input if i.name not in initializers]
    outputs = [(o.name, dims(o)) for o in graph_model.graph.output]
    op_counts: dict[str, int] = {}
    for node in graph_model.graph.node:
        op_counts[node.op_type] = op_counts.get(node.op_type, 0) + 1
    opset = next((o.version for o in graph_model.opset_import if o.domain in ("", "ai.onnx")), None)
    return {"inputs": inputs, "outputs": outputs, "ops": dict(sorted(op_counts.items())), "opset": opset}


# ---------------------------------------------------------------------------------------------------------------
# The card.


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_card(
    args: argparse.Namespace,
    *,
    stem: str,
    classes: list[str],
    channels: list[str],
    config: ThesisConfig,
    shape: ModelShape,
    rate_hz: float,
    step: int,
    versions: dict[str, str],
    io: dict[str, Any],
    max_diff: float,
) -> dict[str, Any]:
    source = args.model
    provenance = {
        "framework": f"keras {versions['keras']}",
        "backend": f"tensorflow {versions['tensorflow']}",
        "converter": f'tf2onnx {versions["tf2onnx"]} via keras Model.export(format="onnx")',
        "opset": io["opset"],
        "tool": "models/tools/keras_to_onnx.py",
        "source": source.name,
        "source_sha256": sha256_of(source),
        "config": args.config.name,
        "label_mapping": args.labels.name,
        "last_layer_activation": shape.last_activation,
        "converted_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "check": {"max_abs_diff_ort_vs_keras": max_diff, "tolerance": args.tolerance},
    }
    if args.trained_on:
        provenance["trained_on"] = args.trained_on
    return {
        "format": CARD_FORMAT,
        "name": args.name or stem.replace("_", "-"),
        "version": args.version,
        "description": args.description or f"Converted from {source.name} with keras_to_onnx.py.",
        "classes": classes,
        "channels": channels,
        "units": {"accel": args.accel_unit, "gyro": args.gyro_unit},
        "sample_rate_hz": rate_hz,
        "window": shape.window,
        "step": step,
        "input_layout": "NTC",
        "scaler": {"mean": config.scaler_mean, "scale": config.scaler_scale},
        "output": shape.output_kind,
        "provenance": provenance,
    }


def convert(args: argparse.Namespace) -> int:
    model_path: Path = args.model
    if args.config is None:
        beside = model_path.parent / "config.json"
        scaler_config = model_path.parent / "scaler_config.json"
        args.config = scaler_config if not beside.exists() and scaler_config.exists() else beside
    args.labels = args.labels or model_path.parent / "label_mapping.json"
    out_dir: Path = args.out_dir or model_path.parent
    stem = args.stem or model_path.stem
    if not (math.isfinite(args.tolerance) and args.tolerance > 0):
        raise InputError(f"--tolerance must be a positive number, not {args.tolerance}")
    if args.sample_rate is not None and not (math.isfinite(args.sample_rate) and args.sample_rate > 0):
        raise InputError(f"--sample-rate must be a positive number of Hz, not {args.sample_rate}")
    if args.step is not None and args.step < 1:
        raise InputError(f"--step must be at least 1, not {args.step}")
    if not model_path.exists():
        raise InputError(f"{model_path}: not found (the Keras model to convert)")

    # The JSON files first: they are quick to check and the usual source of mistakes.
    config = read_config(args.config)
    classes = read_label_mapping(args.labels)
    channels = parse_channels(args.channels)
    if len(config.scaler_mean) != len(channels):
        raise InputError(
            f"{args.config}: field `{config.mean_field}` has {len(config.scaler_mean)} numbers but there are "
            f"{len(channels)} channels ({', '.join(channels)}; see --channels)"
        )

    keras = import_keras(args.verbose)
    with native_stderr_captured(not args.verbose):
        model = load_keras_model(keras, model_path)
    shape = model_shape(keras, model, model_path, args.output)
    if shape.channels != len(channels):
        raise InputError(
            f"{model_path}: the model takes {shape.channels} channels per sample but --channels names "
            f"{len(channels)} ({', '.join(channels)}) and {args.config.name} has {len(config.scaler_mean)} scaler "
            "entries"
        )
    if shape.classes != len(classes):
        raise InputError(
            f"{args.labels}: names {len(classes)} classes but the model's output has {shape.classes} values "
            f"({model_path.name})"
        )
    if config.window is not None and config.window[1] != shape.window:
        raise InputError(
            f"{args.config}: field `{config.window[0]}` says {config.window[1]} samples but the model's input takes "
            f"{shape.window} ({model_path.name})"
        )
    step, rate_hz, notes = choose_step_and_rate(args.step, args.sample_rate, config, args.config, shape.window)
    for note in notes:
        print(f"note    {note}")
    print(
        f"model   {model_path}  input {shape.input_name} (None, {shape.window}, {shape.channels}) -> "
        f"(None, {shape.classes}), last activation {shape.last_activation} -> output `{shape.output_kind}`"
    )
    print(
        f"card    {len(classes)} classes, channels {','.join(channels)}, {rate_hz:g} Hz, window {shape.window}, "
        f"step {step}, accel {args.accel_unit}"
    )

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{out_dir}: cannot create the output folder: {e}") from e
    onnx_path = out_dir / f"{stem}.onnx"
    card_path = out_dir / f"{stem}.model.json"
    with tempfile.TemporaryDirectory(prefix="keras_to_onnx.") as tmp:
        tmp_onnx = Path(tmp) / f"{stem}.onnx"
        with native_stderr_captured(not args.verbose):
            export_onnx(model, shape, tmp_onnx, args.opset)
        io = describe_onnx(tmp_onnx)
        print(
            f"onnx    opset {io['opset']}; inputs "
            + ", ".join(f"{n} {d}" for n, d in io["inputs"])
            + "; outputs "
            + ", ".join(f"{n} {d}" for n, d in io["outputs"])
        )
        print("        ops " + ", ".join(f"{op}×{k}" for op, k in io["ops"].items()))

        rng = np.random.default_rng(args.seed)
        mean = np.asarray(config.scaler_mean)
        scale = np.asarray(config.scaler_scale)

        def realistic(n: int) -> np.ndarray:
            return realistic_windows(n, shape.window, channels, rate_hz, args.accel_unit, mean, scale, rng)

        check_sets = {
            "random, batch 1": rng.normal(size=(1, shape.window, shape.channels)).astype(np.float32),
            "random, batch 32": rng.normal(size=(32, shape.window, shape.channels)).astype(np.float32),
            "realistic, batch 1": realistic(1),
            "realistic, batch 32": realistic(32),
        }
        print(f"check   ONNX Runtime against Keras (tolerance {args.tolerance:g}):")
        max_diff = verify(model, model_path, tmp_onnx, shape, check_sets, args.tolerance)

        import tensorflow as tf  # noqa: PLC0415
        import tf2onnx  # noqa: PLC0415

        versions = {"keras": keras.__version__, "tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__}
        card = build_card(
            args,
            stem=stem,
            classes=classes,
            channels=channels,
            config=config,
            shape=shape,
            rate_hz=rate_hz,
            step=step,
            versions=versions,
            io=io,
            max_diff=max_diff,
        )
        try:
            onnx_path.write_bytes(tmp_onnx.read_bytes())
            card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            raise InputError(f"{out_dir}: cannot write the results: {e}") from e
    print(f"wrote   {onnx_path}")
    print(f"wrote   {card_path}")
    print(f"next    har-monitor info --model {onnx_path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return convert(args)
    except InputError as e:
        print(f"keras_to_onnx: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConversionError as e:
        print(f"keras_to_onnx: conversion failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as e:  # An internal failure: say so in one line, with the traceback on request.
        if args.verbose:
            traceback.print_exc()
        print(
            f"keras_to_onnx: internal failure: {type(e).__name__}: {e} (run with --verbose for details)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
