"""The Python peer of `har-monitor evaluate`, for the benchmark in benches/evaluate.rs.

Does the same job the way a thesis notebook would: pandas read, numpy windowing (segments at user changes and
timestamp gaps, window 200, step 100, majority label with ties to the smallest class index), the card's scaler,
onnxruntime in batches of 64, scikit-learn metrics, and writes predictions.csv and report.json. It does not draw
the confusion-matrix PNG (matplotlib is not part of the peer's environment); `har-monitor evaluate` does.

Usage: python benches/python_peer.py MODEL.onnx DATA.csv OUT_DIR
Prints one JSON line: {"seconds": ..., "inference_seconds": ..., "windows": ..., "accuracy": ...}
"""
import json
import os
import sys
import time

t_start = time.perf_counter()
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

model_path, data_path, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
card = json.load(open(model_path[: -len(".onnx")] + ".model.json"))
classes = card["classes"]
window, step = card["window"], card.get("step", card["window"] // 2)
period = 1.0 / card["sample_rate_hz"]

df = pd.read_csv(data_path)
channels = ["Ax_w", "Ay_w", "Az_w", "Gx_w", "Gy_w", "Gz_w"]
x = df[channels].to_numpy(np.float32)
t = df["timestamp"].to_numpy(np.float64) / 1000.0
labels = pd.Categorical(df["activity"], categories=classes).codes.astype(np.int64)
users = df["User"].to_numpy()

# Segments: a new one at a user change or a gap larger than 2.5 periods.
breaks = np.flatnonzero((np.diff(t) > 2.5 * period) | (np.diff(t) <= 0) | (users[1:] != users[:-1])) + 1
bounds = np.concatenate([[0], breaks, [len(df)]])
starts = np.concatenate(
    [np.arange(a, b - window + 1, step) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= window]
).astype(np.int64)

idx = starts[:, None] + np.arange(window)[None, :]
windows = (x[idx] - np.asarray(card["scaler"]["mean"], np.float32)) / np.asarray(card["scaler"]["scale"], np.float32)
windows = windows.astype(np.float32)
counts = np.zeros((len(starts), len(classes)), np.int64)
np.add.at(counts, (np.repeat(np.arange(len(starts)), window), labels[idx].ravel()), 1)
y_true = counts.argmax(axis=1)

session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
t_inf = time.perf_counter()
probs = np.concatenate([session.run(None, {name: windows[i : i + 64]})[0] for i in range(0, len(windows), 64)])
inference_seconds = time.perf_counter() - t_inf
y_pred = probs.argmax(axis=1)

labels_all = list(range(len(classes)))
p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels_all, zero_division=0)
mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels_all, average="macro", zero_division=0)
wp, wr, wf, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels_all, average="weighted", zero_division=0)
report = {
    "accuracy": accuracy_score(y_true, y_pred),
    "cohen_kappa": cohen_kappa_score(y_true, y_pred),
    "macro": {"precision": mp, "recall": mr, "f1": mf},
    "weighted": {"precision": wp, "recall": wr, "f1": wf},
    "per_class": [
        {"class": c, "precision": p[i], "recall": r[i], "f1": f[i], "support": int(s[i])} for i, c in enumerate(classes)
    ],
    "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels_all).tolist(),
}
os.makedirs(out_dir, exist_ok=True)
out = pd.DataFrame(
    {
        "window": np.arange(len(starts)),
        "start_row": starts,
        "end_row": starts + window,
        "t_start": t[starts],
        "t_end": t[starts + window - 1] + period,
        "predicted": np.asarray(classes)[y_pred],
        "confidence": probs.max(axis=1),
    }
)
for i, c in enumerate(classes):
    out["p_" + c] = probs[:, i]
out["true"] = np.asarray(classes)[y_true]
out.to_csv(os.path.join(out_dir, "predictions.csv"), index=False)
json.dump(report, open(os.path.join(out_dir, "report.json"), "w"), indent=2)
print(
    json.dumps(
        {
            "seconds": time.perf_counter() - t_start,
            "inference_seconds": inference_seconds,
            "windows": int(len(starts)),
            "accuracy": report["accuracy"],
        }
    )
)
