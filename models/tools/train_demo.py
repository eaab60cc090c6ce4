#!/usr/bin/env python3
"""Train HAR Monitor's demo model on simulated data and write everything that ships with it.

The demo model has the thesis architecture (1D-CNN-BiLSTM, Keras 3) and is trained on recordings made by
`har-monitor simulate`, then exported to ONNX the way users' models are (Keras' own ONNX export, tf2onnx, opset 15).

What it does, in order:
  1. Generates the training recording (30 simulated users, one seed): users 1-24 train, users 25-30 validate.
  2. (--regenerate-demo-data, or when missing) generates data/demo/labeled_unseen_users.csv (3 users the model
     never sees, another seed and other user ids) and data/demo/production_drift.csv.
  3. Windows every file exactly as docs/FORMATS.md §3 (segments split at a user change or a timestamp gap > 2.5 periods;
     window 200, step 100; majority label, ties to the smallest class index).
  4. Fits the StandardScaler on the training users' rows only; a quick scikit-learn baseline on window features.
  5. Trains the network with fixed seeds and early stopping on validation loss; exports it to ONNX; checks that
     onnxruntime reproduces Keras' probabilities on the test windows (max abs difference <= 1e-4).
  6. Evaluates the ONNX model on data/demo/labeled_unseen_users.csv and writes models/demo/: the .onnx, the
     model card, test_metrics.json (report.json's keys) and TRAINING.md.

Usage (from the repository root; the binary is built with cargo when --bin is not given):
  .venv/bin/python models/tools/train_demo.py [--regenerate-demo-data] [--sklearn-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = [
    "ear_rubbing", "forehead_rubbing", "hair_pulling", "hand_scratching", "hand_tapping", "knuckles_cracking",
    "nail_biting", "nape_rubbing", "sitting", "smoking", "standing",
]
CHANNELS = ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"]
LABELED_CHANNELS = ["Ax_w", "Ay_w", "Az_w", "Gx_w", "Gy_w", "Gz_w"]
WINDOW, STEP, RATE_HZ = 200, 100, 50.0
MODEL_NAME, MODEL_VERSION = "demo-1dcnn-bilstm", "1.0.0"

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "models" / "demo"
DATA_DIR = REPO / "data" / "demo"
TEST_FILE = DATA_DIR / "labeled_unseen_users.csv"
DRIFT_FILE = DATA_DIR / "production_drift.csv"

# Every recording the demo depends on, as `har-monitor simulate` arguments.
TRAIN_ARGS = ["--users", "30", "--minutes-per-user", "12", "--seed", "11", "--first-user", "1"]
TRAIN_USERS, VALIDATION_USERS = list(range(1, 25)), list(range(25, 31))
TEST_ARGS = ["--users", "3", "--minutes-per-user", "8", "--seed", "202", "--first-user", "101"]
DRIFT_ARGS = [
    "--users", "1", "--minutes-per-user", "20", "--seed", "303", "--first-user", "201", "--unlabeled",
    "--drift-after-min", "10", "--rotate-deg", "60",
]
TRAINING_SEED = 42


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def har_monitor_binary(given: str | None) -> Path:
    """The har-monitor binary: the one given, else a fresh `cargo build` of this repository."""
    if given:
        return Path(given)
    subprocess.run(["cargo", "build", "--quiet"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "har-monitor"


def simulate(binary: Path, out: Path, args: list[str]) -> str:
    """Runs `har-monitor simulate`; returns the command as a user would type it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(binary), "simulate", "--out", str(out), *args], check=True)
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    return shlex.join(["har-monitor", "simulate", "--out", str(shown), *args])


def load_labeled(path: Path) -> dict:
    """Reads a labeled CSV (docs/FORMATS.md §1 labeled schema) into arrays; refuses labels outside CLASSES."""
    df = pd.read_csv(path)
    unknown = sorted(set(df["activity"].unique()) - set(CLASSES))
    if unknown:
        sys.exit(f"{path}: labels not in the class list: {unknown}")
    ts = df["timestamp"].to_numpy(dtype=np.float64)
    # docs/FORMATS.md §1: integer-like timestamps with a median step above 1 are milliseconds.
    steps = np.diff(ts)
    if len(steps) and np.median(steps) > 1.0 and np.all(np.mod(ts, 1.0) == 0.0):
        ts = ts / 1000.0
    return {
        "x": df[LABELED_CHANNELS].to_numpy(dtype=np.float32),
        "y": df["activity"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy(dtype=np.int64),
        "user": df["User"].astype(str).to_numpy(),
        "t": ts,
    }


def window_starts(t: np.ndarray, user: np.ndarray) -> list[int]:
    """docs/FORMATS.md §3 default windowing: a new segment at a user change or a gap > 2.5 sample periods."""
    breaks = np.flatnonzero((np.diff(t) > 2.5 / RATE_HZ) | (user[1:] != user[:-1])) + 1
    bounds = [0, *breaks.tolist(), len(t)]
    starts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        starts.extend(range(a, b - WINDOW + 1, STEP))
    return starts


def make_windows(data: dict) -> dict:
    starts = window_starts(data["t"], data["user"])
    idx = np.asarray(starts)[:, None] + np.arange(WINDOW)[None, :]
    x = data["x"][idx]
    # Majority label; bincount + argmax sends ties to the smallest class index.
    y = np.array([np.bincount(data["y"][i], minlength=len(CLASSES)).argmax() for i in idx])
    finite = np.isfinite(x).all(axis=(1, 2))
    return {"x": x[finite], "y": y[finite], "user": data["user"][np.asarray(starts)][finite],
            "skipped": int((~finite).sum())}


def select_users(data: dict, users: list[int]) -> dict:
    keep = np.isin(data["user"], [str(u) for u in users])
    return {k: v[keep] for k, v in data.items()}


def window_features(x: np.ndarray) -> np.ndarray:
    """Simple per-window features for the scikit-learn baseline: moments, extremes, band powers."""
    feats = [x.mean(1), x.std(1), x.min(1), x.max(1), np.percentile(x, 10, axis=1), np.percentile(x, 90, axis=1)]
    d = np.diff(x, axis=1)
    feats += [np.abs(d).mean(1), d.std(1)]
    power = np.abs(np.fft.rfft(x - x.mean(1, keepdims=True), axis=1)) ** 2
    freqs = np.fft.rfftfreq(WINDOW, 1.0 / RATE_HZ)
    for lo, hi in [(0, 1), (1, 2), (2, 3), (3, 4.5), (4.5, 7), (7, 12), (12, 25.1)]:
        feats.append(np.log1p(power[:, (freqs >= lo) & (freqs < hi), :].sum(1)))
    mag = np.linalg.norm(x[:, :, :3], axis=2)
    feats.append(np.stack([mag.std(1), mag.max(1)], 1))
    return np.concatenate(feats, 1)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """scikit-learn's metrics with zero_division=0 over all classes, in report.json's shape."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(CLASSES)))
    out = {"accuracy": float(accuracy_score(y_true, y_pred)),
           "cohen_kappa": float(cohen_kappa_score(y_true, y_pred, labels=labels))}
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg, zero_division=0)
        out[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0)
    out["per_class"] = [{"class": c, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                         "support": int(s[i])} for i, c in enumerate(CLASSES)]
    out["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return out


def sklearn_baseline(train: dict, test: dict, seed: int) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=300, random_state=seed)
    clf.fit(window_features(train["x"]), train["y"])
    pred = clf.predict(window_features(test["x"]))
    m = classification_metrics(test["y"], pred)
    return {"accuracy": m["accuracy"], "macro_f1": m["macro"]["f1"]}


def build_model(keras):
    """The thesis architecture (DESIGN.md, "Models in the field")."""
    from keras import layers

    inputs = keras.Input(shape=(WINDOW, len(CHANNELS)), name="input_layer")
    x = layers.Conv1D(64, 5, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Conv1D(64, 5, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Conv1D(128, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Conv1D(128, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(len(CLASSES), activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=MODEL_NAME.replace("-", "_"))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="har-monitor binary (default: cargo build this repository)")
    ap.add_argument("--work-dir", default="/tmp/har-demo-train", help="where the training recording goes")
    ap.add_argument("--out-dir", default=str(DEMO_DIR))
    ap.add_argument("--max-epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--regenerate-demo-data", action="store_true", help="rewrite data/demo/*.csv")
    ap.add_argument("--sklearn-only", action="store_true", help="stop after the scikit-learn baseline")
    args = ap.parse_args()
    started = time.time()

    binary = har_monitor_binary(args.bin)
    work = Path(args.work_dir)
    train_file = work / "train_users.csv"
    commands = {"train": simulate(binary, train_file, TRAIN_ARGS).replace(str(train_file), "train_users.csv")}
    if args.regenerate_demo_data or not TEST_FILE.exists():
        commands["test"] = simulate(binary, TEST_FILE, TEST_ARGS)
    else:
        commands["test"] = shlex.join(["har-monitor", "simulate", "--out", str(TEST_FILE.relative_to(REPO)),
                                       *TEST_ARGS])
    if args.regenerate_demo_data or not DRIFT_FILE.exists():
        commands["drift"] = simulate(binary, DRIFT_FILE, DRIFT_ARGS)
    else:
        commands["drift"] = shlex.join(["har-monitor", "simulate", "--out", str(DRIFT_FILE.relative_to(REPO)),
                                        *DRIFT_ARGS])
    log("data ready")

    all_train = load_labeled(train_file)
    train_rows = select_users(all_train, TRAIN_USERS)
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_rows["x"].astype(np.float64))
    train = make_windows(train_rows)
    val = make_windows(select_users(all_train, VALIDATION_USERS))
    test = make_windows(load_labeled(TEST_FILE))
    log(f"windows: train {len(train['y'])}, validation {len(val['y'])}, test {len(test['y'])} "
        f"(skipped {test['skipped']})")

    baseline = {"validation": sklearn_baseline(train, val, TRAINING_SEED),
                "test": sklearn_baseline(train, test, TRAINING_SEED)}
    log(f"scikit-learn baseline: {baseline}")
    if args.sklearn_only:
        return

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(TRAINING_SEED)
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    def scaled(x: np.ndarray) -> np.ndarray:
        return ((x - scaler.mean_) / scaler.scale_).astype(np.float32)

    model = build_model(keras)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3, min_lr=1e-5),
    ]
    fit_started = time.time()
    history = model.fit(scaled(train["x"]), train["y"], validation_data=(scaled(val["x"]), val["y"]),
                        epochs=args.max_epochs, batch_size=args.batch_size, shuffle=True, callbacks=callbacks,
                        verbose=2)
    fit_seconds = time.time() - fit_started
    val_loss = history.history["val_loss"]
    best_epoch = int(np.argmin(val_loss)) + 1
    val_pred = model.predict(scaled(val["x"]), verbose=0).argmax(1)
    val_metrics = classification_metrics(val["y"], val_pred)
    log(f"trained {len(val_loss)} epochs in {fit_seconds:.0f} s; best epoch {best_epoch}, "
        f"validation accuracy {val_metrics['accuracy']:.4f}")

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{MODEL_NAME}.onnx"
    model(np.zeros((1, WINDOW, len(CHANNELS)), np.float32))
    model.export(str(onnx_path), format="onnx", opset_version=15)

    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    x_test = scaled(test["x"])
    p_onnx = session.run(None, {input_name: x_test})[0]
    p_keras = model.predict(x_test, verbose=0)
    max_diff = float(np.abs(p_onnx - p_keras).max())
    log(f"onnxruntime vs keras on {len(x_test)} test windows: max abs difference {max_diff:.3g}")
    if max_diff > 1e-4:
        sys.exit(f"ONNX export does not reproduce Keras: max abs difference {max_diff} > 1e-4")

    test_pred = p_onnx.argmax(1)
    metrics = classification_metrics(test["y"], test_pred)
    per_user = []
    for u in sorted(set(test["user"]), key=int):
        m = test["user"] == u
        per_user.append({"user": u, "windows": int(m.sum()), "accuracy": float((test_pred[m] == test["y"][m]).mean())})
    test_metrics = {
        "model": {"name": MODEL_NAME, "version": MODEL_VERSION},
        "data": str(TEST_FILE.relative_to(REPO)),
        "windowing": "segments",
        "windows": {"used": int(len(test["y"])), "skipped": test["skipped"]},
        **metrics,
        "per_user": per_user,
    }
    (out_dir / "test_metrics.json").write_text(json.dumps(test_metrics, indent=2) + "\n")

    import tf2onnx

    trained_on = (f"{commands['train']} (users {TRAIN_USERS[0]}-{TRAIN_USERS[-1]} train, users "
                  f"{VALIDATION_USERS[0]}-{VALIDATION_USERS[-1]} validation; scaler fitted on the training users' "
                  f"rows); training seed {TRAINING_SEED}")
    card = {
        "format": "har-model-card/1",
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "description": "Demo 1D-CNN-BiLSTM (thesis architecture) trained on HAR Monitor's simulated wrist IMU. "
                       "Not trained on real people: use it to try the app, not to judge behaviour.",
        "classes": CLASSES,
        "channels": CHANNELS,
        "units": {"accel": "m/s^2", "gyro": "deg/s"},
        "sample_rate_hz": RATE_HZ,
        "window": WINDOW,
        "step": STEP,
        "input_layout": "NTC",
        "scaler": {"mean": [float(v) for v in scaler.mean_], "scale": [float(v) for v in scaler.scale_]},
        "output": "probabilities",
        "baseline": f"{MODEL_NAME}.baseline.json",
        "provenance": {
            "framework": f"keras {keras.__version__} (tensorflow {tf.__version__})",
            "converter": f"tf2onnx {tf2onnx.__version__} via keras Model.export(format='onnx'), opset 15",
            "trained_on": trained_on,
            "script": "models/tools/train_demo.py",
        },
    }
    (out_dir / f"{MODEL_NAME}.model.json").write_text(json.dumps(card, indent=2) + "\n")

    short = [c[:9] for c in CLASSES]
    corner = "true \\ predicted"
    cm_rows = [[CLASSES[i], *row] for i, row in enumerate(metrics["confusion_matrix"])]
    per_class_rows = [[pc["class"], f"{pc['precision']:.3f}", f"{pc['recall']:.3f}", f"{pc['f1']:.3f}", pc["support"]]
                      for pc in metrics["per_class"]]
    epochs_rows = [[i + 1, f"{history.history['loss'][i]:.4f}", f"{history.history['accuracy'][i]:.4f}",
                    f"{val_loss[i]:.4f}", f"{history.history['val_accuracy'][i]:.4f}"] for i in range(len(val_loss))]
    md = f"""# Demo model: how it was made

`{MODEL_NAME}` {MODEL_VERSION}: the thesis architecture (Conv1D 64,64 → pool → Conv1D 128,128 → pool →
BiLSTM 64 (sequences) → BiLSTM 64 → Dense 128 → Dense 11 softmax, BatchNorm/Dropout between; input
`input_layer` (200, 6)), trained on recordings of HAR Monitor's simulator (its default `thesis` profile, calibrated
on the thesis' published statistics: data/demo/README.md), exported with Keras' ONNX export
(tf2onnx, opset 15). Written by `models/tools/train_demo.py`; nothing here is edited by hand.

## Regenerate

```sh
cargo build
.venv/bin/python models/tools/train_demo.py --regenerate-demo-data
```

The script runs these recordings (the same seed gives a byte-identical file):

| role | command |
|---|---|
| training + validation | `{commands['train']}` |
| test (unseen users, committed) | `{commands['test']}` |
| production drift demo | `{commands['drift']}` |

- Users {TRAIN_USERS[0]}-{TRAIN_USERS[-1]} train, users {VALIDATION_USERS[0]}-{VALIDATION_USERS[-1]} validate
  (whole users held out); the test users {', '.join(sorted(set(test['user']), key=int))} come from another seed
  and other user ids (a simulated person's style, watch mounting and sensor depend on the user id), so the
  model never saw them.
- Windowing: docs/FORMATS.md §3 segments (a new segment at a user change or a gap > 2.5 periods), window {WINDOW}, step
  {STEP}, majority label with ties to the smallest class index. Windows: train {len(train['y'])}, validation
  {len(val['y'])}, test {len(test['y'])}.
- Scaler: StandardScaler fitted on the training users' rows only (in the model card).
- Training: seed {TRAINING_SEED} (`keras.utils.set_random_seed`), Adam 1e-3, batch {args.batch_size}, at most
  {args.max_epochs} epochs, early stopping on validation loss (patience {args.patience}, best weights restored),
  learning rate halved after 3 epochs without improvement. Ran {len(val_loss)} epochs in {fit_seconds:.0f} s on
  {os.cpu_count()} CPU cores; best epoch {best_epoch}. TensorFlow {tf.__version__}, Keras {keras.__version__},
  tf2onnx {tf2onnx.__version__}, onnxruntime {ort.__version__}, Python {platform.python_version()}.
- ONNX check: onnxruntime reproduces Keras' probabilities on the {len(x_test)} test windows with max abs
  difference {max_diff:.2g} (limit 1e-4).
- Reference point: a scikit-learn HistGradientBoostingClassifier on simple window features (moments, extremes,
  band powers) reaches accuracy {baseline['validation']['accuracy']:.3f} on the validation users and
  {baseline['test']['accuracy']:.3f} on the test users.

## Validation users ({len(val['y'])} windows)

accuracy {val_metrics['accuracy']:.4f}, macro F1 {val_metrics['macro']['f1']:.4f}, Cohen's kappa
{val_metrics['cohen_kappa']:.4f}

## Test users: `{TEST_FILE.relative_to(REPO)}` ({len(test['y'])} windows, ONNX model)

Metrics are scikit-learn's (zero_division=0, labels = all 11 classes); also in `test_metrics.json`.

| accuracy | Cohen's kappa | macro P | macro R | macro F1 | weighted P | weighted R | weighted F1 |
|---|---|---|---|---|---|---|---|
| {metrics['accuracy']:.4f} | {metrics['cohen_kappa']:.4f} | {metrics['macro']['precision']:.4f} | {metrics['macro']['recall']:.4f} | {metrics['macro']['f1']:.4f} | {metrics['weighted']['precision']:.4f} | {metrics['weighted']['recall']:.4f} | {metrics['weighted']['f1']:.4f} |

Per user: {', '.join(f"user {p['user']} {p['accuracy']:.3f} ({p['windows']} windows)" for p in per_user)}.

{markdown_table(['class', 'precision', 'recall', 'F1', 'support'], per_class_rows)}

Confusion matrix (rows = true, columns = predicted):

{markdown_table([corner, *short], cm_rows)}

## Epochs

{markdown_table(['epoch', 'loss', 'accuracy', 'val loss', 'val accuracy'], epochs_rows)}

Total run time {time.time() - started:.0f} s.

## Drift baseline

`{MODEL_NAME}.baseline.json` (named by the card's `baseline` field) is the reference the drift view and
`har-monitor drift` compare with. It is built from the training recording above (not by this script):

```sh
{commands['train']}
har-monitor simulate --out calibration_users.csv --users 8 --minutes-per-user 8 --seed 405 --first-user 451
har-monitor baseline --model models/demo/{MODEL_NAME}.onnx --data train_users.csv \\
    --calibration-data calibration_users.csv
```

The second file (users the model never saw) gives the baseline's `reference_performance` (accuracy, macro-F1 and
ECE, printed by `baseline`); an ECE above 0.03 makes the drift view's label-free estimate untrusted. The demo card
carries no `temperature`, so that the probabilities it shows are the network's own.
"""
    (out_dir / "TRAINING.md").write_text(md)
    log(f"test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro']['f1']:.4f}; wrote {out_dir}")


if __name__ == "__main__":
    main()
