"""Tests of keras_to_onnx.py, run the way a user runs it: as a subprocess on files in a folder.

    .venv/bin/python -m pytest models/tools/test_keras_to_onnx.py     # with pytest
    .venv/bin/python models/tools/test_keras_to_onnx.py               # without pytest

A `.keras` file of the thesis architecture (seeded random weights), a config.json and a label_mapping.json are
written to a temporary folder once; each test converts or breaks a copy of them. The converted graph is checked
against Keras here too, independently of the converter's own check. About a minute on two cores.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

try:  # Keras' numpy-2 DeprecationWarning about __array__(copy=...) is not ours; keep the pytest summary readable.
    import pytest

    pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")
except ImportError:  # The plain runner at the bottom needs no pytest.
    pass

TOOLS = Path(__file__).resolve().parent
CONVERTER = TOOLS / "keras_to_onnx.py"
sys.path.insert(0, str(TOOLS))

CLASSES = [
    "ear_rubbing",
    "forehead_rubbing",
    "hair_pulling",
    "hand_scratching",
    "hand_tapping",
    "knuckles_cracking",
    "nail_biting",
    "nape_rubbing",
    "sitting",
    "smoking",
    "standing",
]
# A scaler like the thesis' one: accelerometer in m/s² with gravity, gyroscope in deg/s.
SCALER_MEAN = [0.42, -8.91, 1.37, 0.31, -0.24, 0.12]
SCALER_SCALE = [3.12, 2.87, 3.31, 45.6, 51.9, 38.2]


@functools.cache
def workspace() -> Path:
    """Writes the shared input files once: the thesis model, two small odd models, config and labels."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from keras import layers
    from thesis_architecture import build_model, randomize_for_fixture

    tmp = tempfile.TemporaryDirectory(prefix="test_keras_to_onnx.")
    atexit.register(tmp.cleanup)
    root = Path(tmp.name)

    model = build_model(seed=42)
    randomize_for_fixture(model, seed=42)
    model.save(root / "thesis.keras")

    def small(last_activation: str, time_steps: int | None = 50, channels: int = 6) -> keras.Model:
        keras.utils.set_random_seed(3)
        return keras.Sequential(
            [
                keras.Input((time_steps, channels)),
                layers.Conv1D(8, 3, activation="relu"),
                layers.GlobalAveragePooling1D(),
                layers.Dense(4, activation=last_activation),
            ]
        )

    small("linear").save(root / "linear.keras")
    small("sigmoid").save(root / "sigmoid.keras")
    small("softmax", time_steps=None).save(root / "variable_length.keras")
    small("softmax", channels=3).save(root / "three_channels.keras")
    (root / "not_a_model.keras").write_bytes(b"this is not a zip file")
    with zipfile.ZipFile(root / "empty_archive.keras", "w") as archive:
        archive.writestr("readme.txt", "a zip archive without a Keras model inside")

    write_json(
        root / "config.json",
        {
            "scaler_mean": SCALER_MEAN,
            "scaler_scale": SCALER_SCALE,
            "window_size": 200,
            "step_size": 50,
            "sampling_rate": 50,
        },
    )
    # Keys deliberately out of order: the card must follow the indices, not the file order.
    mapping = {str(i): c for i, c in enumerate(CLASSES)}
    write_json(root / "label_mapping.json", dict(sorted(mapping.items(), key=lambda kv: kv[1], reverse=True)))
    write_json(root / "labels4.json", {"0": "a", "1": "b", "2": "c", "3": "d"})
    write_json(root / "config_small.json", {"scaler_mean": SCALER_MEAN, "scaler_scale": SCALER_SCALE})
    return root


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def fresh_dir(name: str) -> Path:
    d = workspace() / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    return d


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CONVERTER), *map(str, args)], capture_output=True, text=True, timeout=600
    )


def expect_input_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2 and one line on stderr that holds every fragment (file names, fields, numbers)."""
    assert result.returncode == 2, f"exit {result.returncode}\nstdout:{result.stdout}\nstderr:{result.stderr}"
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("keras_to_onnx: error:")]
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    for fragment in fragments:
        assert fragment in lines[0], f"`{fragment}` not in: {lines[0]}"
    return lines[0]


# ---------------------------------------------------------------------------------------------------------------
# A good conversion.


@functools.cache
def converted() -> tuple[Path, subprocess.CompletedProcess]:
    ws = workspace()
    out = fresh_dir("out_thesis")
    result = run(
        ws / "thesis.keras",
        "--config",
        ws / "config.json",
        "--labels",
        ws / "label_mapping.json",
        "--out-dir",
        out,
        "--name",
        "thesis-test",
        "--version",
        "2.1.0",
        "--trained-on",
        "seeded noise",
    )
    return out, result


def test_conversion_succeeds_and_writes_both_files():
    out, result = converted()
    assert result.returncode == 0, result.stderr
    assert (out / "thesis.onnx").is_file()
    assert (out / "thesis.model.json").is_file()


def test_card_follows_spec_and_inputs():
    out, _ = converted()
    card = json.loads((out / "thesis.model.json").read_text())
    assert card["format"] == "har-model-card/1"
    assert card["name"] == "thesis-test" and card["version"] == "2.1.0"
    assert card["classes"] == CLASSES, "classes must follow label_mapping's indices"
    assert card["channels"] == ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"]
    assert card["scaler"] == {"mean": SCALER_MEAN, "scale": SCALER_SCALE}
    assert (card["window"], card["step"], card["sample_rate_hz"]) == (200, 50, 50.0)
    assert card["input_layout"] == "NTC"
    assert card["output"] == "probabilities"
    assert card["units"] == {"accel": "m/s^2", "gyro": "deg/s"}
    prov = card["provenance"]
    assert prov["framework"].startswith("keras 3") and prov["converter"].startswith("tf2onnx")
    assert prov["source"] == "thesis.keras" and len(prov["source_sha256"]) == 64
    assert prov["trained_on"] == "seeded noise"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", prov["converted_at"])
    assert 0 <= prov["check"]["max_abs_diff_ort_vs_keras"] <= 1e-4


def test_graph_is_exported_the_users_way():
    import onnx

    out, result = converted()
    graph = onnx.load(str(out / "thesis.onnx"))
    assert next(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) == 15
    ops = {n.op_type for n in graph.graph.node}
    assert {"LSTM", "Conv", "Softmax"} <= ops, ops
    assert "BatchNormalization" not in ops, "tf2onnx folds BatchNorm into Mul/Add"
    (inp,) = graph.graph.input
    (outp,) = graph.graph.output
    in_dims = inp.type.tensor_type.shape.dim
    assert in_dims[0].dim_param and not in_dims[0].HasField("dim_value"), "batch must be dynamic"
    assert [d.dim_value for d in in_dims[1:]] == [200, 6]
    assert outp.type.tensor_type.shape.dim[1].dim_value == 11
    # The tool reads the names from the file and prints them.
    assert inp.name in result.stdout and outp.name in result.stdout
    assert inp.name == "input_layer" and outp.name == "Identity:0"


def test_onnx_runtime_matches_keras_independently():
    """Our own comparison, on windows the converter did not use: a batch of 7 and a batch of 1."""
    import keras
    import onnxruntime as ort

    out, result = converted()
    model = keras.models.load_model(workspace() / "thesis.keras", compile=False)
    session = ort.InferenceSession(str(out / "thesis.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(2024)
    for n in (7, 1):
        x = rng.normal(0, 1.5, size=(n, 200, 6)).astype(np.float32)
        want = np.asarray(model(x, training=False))
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        assert got.shape == (n, 11)
        assert np.max(np.abs(got - want)) <= 1e-4
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    # The converter printed its four measured differences, each within the tolerance.
    diffs = [float(d) for d in re.findall(r"max \|ORT - Keras\| = (\S+)", result.stdout)]
    assert len(diffs) == 4 and max(diffs) <= 1e-4, result.stdout


def test_a_tolerance_below_the_measured_difference_fails_and_writes_nothing():
    ws = workspace()
    out = fresh_dir("out_strict")
    result = run(
        ws / "thesis.keras",
        "--config",
        ws / "config.json",
        "--labels",
        ws / "label_mapping.json",
        "--out-dir",
        out,
        "--tolerance",
        "1e-15",
    )
    assert result.returncode == 1, result.stderr
    assert "differ by up to" in result.stderr
    assert list(out.iterdir()) == []


def test_linear_last_layer_gives_logits_card():
    ws = workspace()
    out = fresh_dir("out_linear")
    result = run(
        ws / "linear.keras",
        "--config",
        ws / "config_small.json",
        "--labels",
        ws / "labels4.json",
        "--out-dir",
        out,
        "--stem",
        "scores",
    )
    assert result.returncode == 0, result.stderr
    card = json.loads((out / "scores.model.json").read_text())
    assert card["output"] == "logits"
    assert card["window"] == 50 and card["step"] == 25, "step defaults to window / 2"
    assert "has no step" in result.stdout and "window / 2 = 25" in result.stdout and "--step" in result.stdout, (
        "the chosen step is announced: " + result.stdout
    )
    assert card["name"] == "scores"
    assert card["classes"] == ["a", "b", "c", "d"]


def test_a_step_or_rate_missing_from_the_config_is_chosen_out_loud():
    """No Keras needed: the choice of step and sample rate, and the notes that announce a default."""
    from keras_to_onnx import ThesisConfig, choose_step_and_rate

    bare = ThesisConfig(scaler_mean=[0.0] * 6, scaler_scale=[1.0] * 6, window=None, step=None, sample_rate_hz=None)
    step, rate, notes = choose_step_and_rate(None, None, bare, Path("config.json"), 200)
    assert (step, rate) == (100, 50.0)
    assert len(notes) == 2
    assert "config.json has no step" in notes[0] and "window / 2 = 100" in notes[0] and "--step" in notes[0]
    assert "no sample rate" in notes[1] and "--sample-rate" in notes[1]

    full = ThesisConfig(scaler_mean=[0.0] * 6, scaler_scale=[1.0] * 6, window=None, step=40, sample_rate_hz=25.0)
    assert choose_step_and_rate(None, None, full, Path("config.json"), 200) == (40, 25.0, [])
    assert choose_step_and_rate(7, 100.0, bare, Path("config.json"), 200) == (7, 100.0, []), "--step wins silently"


def test_help_explains_inputs_outputs_and_exit_codes():
    result = run("--help")
    assert result.returncode == 0
    for needed in ("scaler_mean", "label_mapping.json", "--tolerance", "--output", "exit code 2", "probabilities"):
        assert needed in result.stdout, needed


# ---------------------------------------------------------------------------------------------------------------
# Bad inputs: exit code 2 and one line that names the file and the field.


def base_args(model="thesis.keras", config="config.json", labels="label_mapping.json"):
    ws = workspace()
    return [ws / model, "--config", ws / config, "--labels", ws / labels, "--out-dir", fresh_dir("out_bad")]


def broken_config(name: str, **changes) -> str:
    cfg = {"scaler_mean": SCALER_MEAN, "scaler_scale": SCALER_SCALE, "window_size": 200}
    cfg.update(changes)
    cfg = {k: v for k, v in cfg.items() if v is not None}
    write_json(workspace() / name, cfg)
    return name


def broken_labels(name: str, mapping) -> str:
    write_json(workspace() / name, mapping)
    return name


def test_missing_model_file():
    expect_input_error(run(*base_args(model="nowhere.keras")), "nowhere.keras", "not found")


def test_missing_config_file():
    expect_input_error(run(*base_args(config="no_config.json")), "no_config.json", "not found", "scaler_mean")


def test_config_beside_the_model_is_the_default():
    ws = workspace()
    lonely = fresh_dir("lonely")
    shutil.copy(ws / "thesis.keras", lonely / "m.keras")
    expect_input_error(run(lonely / "m.keras"), str(lonely / "config.json"), "not found")


def test_missing_label_mapping():
    expect_input_error(run(*base_args(labels="no_labels.json")), "no_labels.json", "not found")


def test_config_not_json():
    (workspace() / "garbled.json").write_text('{"scaler_mean": [1, 2,,]}')
    expect_input_error(run(*base_args(config="garbled.json")), "garbled.json", "not valid JSON", "line 1")


def test_scaler_mean_missing():
    expect_input_error(
        run(*base_args(config=broken_config("c1.json", scaler_mean=None))), "c1.json", "`scaler_mean`", "missing"
    )


def test_scaler_length_differs_from_channels():
    cfg = broken_config("c2.json", scaler_mean=SCALER_MEAN[:5], scaler_scale=SCALER_SCALE[:5])
    expect_input_error(run(*base_args(config=cfg)), "c2.json", "`scaler_mean`", "5 numbers", "6 channels")


def test_scaler_lists_of_different_lengths():
    cfg = broken_config("c3.json", scaler_scale=SCALER_SCALE[:4])
    expect_input_error(run(*base_args(config=cfg)), "c3.json", "scaler_scale", "4 numbers")


def test_scaler_scale_not_positive():
    cfg = broken_config("c4.json", scaler_scale=[3.1, 2.9, 0.0, 45.0, 52.0, 38.0])
    expect_input_error(run(*base_args(config=cfg)), "c4.json", "`scaler_scale[2]`", "positive")


def test_scaler_value_not_a_number():
    cfg = broken_config("c5.json", scaler_mean=[0.4, "-8.9", 1.3, 0.3, -0.2, 0.1])
    expect_input_error(run(*base_args(config=cfg)), "c5.json", "`scaler_mean[1]`", "not a number")


def test_label_mapping_with_a_gap():
    mapping = {str(i): c for i, c in enumerate(CLASSES) if i != 7}
    expect_input_error(
        run(*base_args(labels=broken_labels("l1.json", mapping))), "l1.json", "without gaps", "missing 7"
    )


def test_label_mapping_count_differs_from_model_output():
    mapping = {str(i): c for i, c in enumerate(CLASSES[:10])}
    expect_input_error(
        run(*base_args(labels=broken_labels("l2.json", mapping))), "l2.json", "10 classes", "output has 11"
    )


def test_label_mapping_key_not_an_index():
    mapping = {**{str(i): c for i, c in enumerate(CLASSES)}, "eleven": "jumping"}
    expect_input_error(
        run(*base_args(labels=broken_labels("l3.json", mapping))), "l3.json", "`eleven`", "not an output index"
    )


def test_label_mapping_names_a_class_twice():
    mapping = {str(i): c for i, c in enumerate(CLASSES)}
    mapping["10"] = "sitting"
    expect_input_error(run(*base_args(labels=broken_labels("l4.json", mapping))), "l4.json", "`sitting`", "twice")


def test_label_mapping_not_an_object():
    expect_input_error(run(*base_args(labels=broken_labels("l5.json", CLASSES))), "l5.json", "JSON object")


def test_config_window_differs_from_model():
    cfg = broken_config("c6.json", window_size=100)
    expect_input_error(run(*base_args(config=cfg)), "c6.json", "`window_size`", "100", "200")


def test_model_input_without_fixed_window():
    line = expect_input_error(
        run(*base_args("variable_length.keras", "config_small.json", "labels4.json")),
        "variable_length.keras",
        "input shape",
        "(None, None, 6)",
    )
    assert "(None, window, channels)" in line


def test_model_channels_differ_from_scaler():
    expect_input_error(
        run(*base_args("three_channels.keras", "config_small.json", "labels4.json")),
        "three_channels.keras",
        "3 channels",
        "6",
    )


def test_sigmoid_output_is_refused_unless_declared():
    expect_input_error(
        run(*base_args("sigmoid.keras", "config_small.json", "labels4.json")), "sigmoid.keras", "`sigmoid`", "--output"
    )


def test_sigmoid_output_declared_as_probabilities_is_caught_by_the_row_sums():
    # Sigmoid outputs are in [0, 1] but their rows do not sum to 1: they are not class probabilities.
    expect_input_error(
        run(*base_args("sigmoid.keras", "config_small.json", "labels4.json"), "--output", "probabilities"),
        "sigmoid.keras",
        "declared `probabilities`",
        "--output logits",
    )


def test_file_that_is_not_a_keras_model():
    expect_input_error(run(*base_args(model="not_a_model.keras")), "not_a_model.keras", "not a Keras 3 model file")


def test_archive_without_a_model_names_the_keras_error():
    expect_input_error(run(*base_args(model="empty_archive.keras")), "empty_archive.keras", "Keras cannot load it")


def test_scaler_config_json_beside_the_model_gives_the_same_card():
    """The thesis' retrained model sits beside scaler_config.json ({"mean", "scale"}), not config.json: the
    converter finds it without --config and writes the same scaler and classes as from config.json."""
    ws = workspace()
    folder = fresh_dir("retrained")
    shutil.copy(ws / "thesis.keras", folder / "retrained_model.keras")
    shutil.copy(ws / "label_mapping.json", folder / "label_mapping.json")
    write_json(folder / "scaler_config.json", {"mean": SCALER_MEAN, "scale": SCALER_SCALE})
    result = run(folder / "retrained_model.keras", "--out-dir", folder / "out")
    assert result.returncode == 0, result.stderr
    card = json.loads((folder / "out" / "retrained_model.model.json").read_text())
    assert card["scaler"] == {"mean": SCALER_MEAN, "scale": SCALER_SCALE}
    assert card["classes"] == CLASSES
    assert (card["window"], card["step"], card["sample_rate_hz"]) == (200, 100, 50.0), "window/2, 50 Hz defaults"
    assert card["provenance"]["config"] == "scaler_config.json"
    reference = json.loads((converted()[0] / "thesis.model.json").read_text())
    assert card["scaler"] == reference["scaler"] and card["classes"] == reference["classes"]


def test_scaler_config_without_scale_names_the_file_and_field():
    write_json(workspace() / "scaler_config_no_scale.json", {"mean": SCALER_MEAN})
    expect_input_error(
        run(*base_args(config="scaler_config_no_scale.json")), "scaler_config_no_scale.json", "`scale`", "missing"
    )


def test_scaler_config_scale_not_positive():
    bad = [3.1, 2.9, 3.3, -1.0, 52.0, 38.0]
    write_json(workspace() / "scaler_config_bad.json", {"mean": SCALER_MEAN, "scale": bad})
    expect_input_error(run(*base_args(config="scaler_config_bad.json")), "scaler_config_bad.json", "`scale[3]`")


def test_a_config_with_neither_spelling_names_both():
    write_json(workspace() / "no_scaler.json", {"window_size": 200})
    line = expect_input_error(run(*base_args(config="no_scaler.json")), "no_scaler.json", "`scaler_mean`")
    assert "`mean`" in line and "scaler_config.json" in line


def test_nothing_is_written_on_bad_input():
    args = base_args(config=broken_config("c7.json", window_size=128))
    out = Path(args[-1])
    expect_input_error(run(*args), "c7.json")
    assert list(out.iterdir()) == []


if __name__ == "__main__":
    # A plain runner for machines without pytest: every test_* function in file order.
    tests = [(name, fn) for name, fn in list(globals().items()) if name.startswith("test_") and callable(fn)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"ok      {name}")
        except Exception as e:  # Report every failure, then exit non-zero.
            failed += 1
            print(f"FAILED  {name}: {type(e).__name__}: {e}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
