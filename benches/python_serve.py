"""The Python peer of `har-monitor serve`, for the load benchmark in benches/serve_load.rs.

The thesis service's way: FastAPI + uvicorn + onnxruntime (the same ONNX model, one CPU session), the same
endpoints and fields as `src/api/app.py` and `docker/api/main.py` of the thesis repository: `POST /predict` (one
200 x 6 window), `POST /api/upload` (multipart `file`: pandas read, 200/100 windows, batch 64, predictions, activity
summary, confidence statistics, the three monitoring layers with the thesis' thresholds) and `GET /health`. Like
ours, it applies the card's scaler (the thesis service did not; the cost is the same either way).

Usage: python benches/python_serve.py MODEL.onnx PORT      (one uvicorn worker, as the thesis' Docker image runs)
"""
import io
import json
import sys
import time
from collections import Counter
from datetime import datetime

import numpy as np
import onnxruntime as ort
import pandas as pd
import uvicorn
from fastapi import FastAPI, File, HTTPException, UploadFile
from pydantic import BaseModel, Field, field_validator

model_path, port = sys.argv[1], int(sys.argv[2])
card = json.load(open(model_path[: -len(".onnx")] + ".model.json"))
CLASSES = card["classes"]
WINDOW = card["window"]
STEP = card.get("step", WINDOW // 2)
MEAN = np.asarray(card["scaler"]["mean"], np.float32)
SCALE = np.asarray(card["scaler"]["scale"], np.float32)
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
INPUT = session.get_inputs()[0].name
START = datetime.now()

app = FastAPI(title="HAR Inference API (Python peer)")


class PredictionRequest(BaseModel):
    window: list[list[float]] = Field(...)
    return_probabilities: bool = False

    @field_validator("window")
    @classmethod
    def validate_window(cls, v):
        if len(v) != WINDOW:
            raise ValueError(f"Window must have {WINDOW} timesteps, got {len(v)}")
        if any(len(row) != 6 for row in v):
            raise ValueError("Each timestep must have 6 sensor values")
        return v


def run(windows: np.ndarray) -> np.ndarray:
    x = ((windows - MEAN) / SCALE).astype(np.float32)
    return np.concatenate([session.run(None, {INPUT: x[i : i + 64]})[0] for i in range(0, len(x), 64)])


@app.get("/health")
def health():
    return {"status": "healthy", "model_loaded": True, "timestamp": datetime.now().isoformat(),
            "uptime_seconds": (datetime.now() - START).total_seconds()}


@app.post("/predict")
def predict(request: PredictionRequest):
    probabilities = run(np.asarray(request.window, np.float32).reshape(1, WINDOW, 6))[0]
    k = int(np.argmax(probabilities))
    return {"activity": CLASSES[k], "activity_id": k, "confidence": float(probabilities[k]),
            "probabilities": {c: float(p) for c, p in zip(CLASSES, probabilities)} if request.return_probabilities else None,
            "timestamp": datetime.now().isoformat(), "model_version": card.get("version", "1.0.0")}


@app.post("/api/upload")
async def upload(file: UploadFile = File(...)):
    t0 = time.perf_counter()
    df = pd.read_csv(io.BytesIO(await file.read()))
    cols = [c for c in df.columns if c.lower().rstrip("_w") in ("ax", "ay", "az", "gx", "gy", "gz")][:6]
    if len(cols) != 6 or len(df) < WINDOW:
        raise HTTPException(400, "need six sensor columns and one window of rows")
    values = df[cols].to_numpy(np.float32)
    starts = np.arange(0, len(values) - WINDOW + 1, STEP)
    windows = values[starts[:, None] + np.arange(WINDOW)[None, :]]
    probabilities = run(windows)
    predicted = probabilities.argmax(axis=1)
    max_probs = probabilities.max(axis=1)
    transitions = int(np.sum(predicted[1:] != predicted[:-1]))
    rate = transitions / max(len(predicted) - 1, 1) * 100
    uncertain = float(np.mean(max_probs < 0.5) * 100)
    summary = dict(sorted(Counter(CLASSES[c] for c in predicted).items(), key=lambda x: -x[1]))
    return {
        "filename": file.filename, "total_rows": len(df), "sensor_columns": cols, "windows_created": len(windows),
        "processing_time_ms": round((time.perf_counter() - t0) * 1000, 1),
        "predictions": [{"window": i, "activity": CLASSES[c], "activity_id": int(c), "confidence": round(float(p), 4)}
                        for i, (c, p) in enumerate(zip(predicted, max_probs))],
        "activity_summary": summary,
        "monitoring": {
            "overall_status": "PASS" if float(max_probs.mean()) >= 0.6 and uncertain <= 30 and rate <= 50 else "WARNING",
            "layer1_confidence": {"mean_confidence": round(float(max_probs.mean()), 4), "uncertain_pct": round(uncertain, 2)},
            "layer2_temporal": {"transitions": transitions, "transition_rate_pct": round(rate, 2)},
            "layer3_drift": {"status": "SKIPPED"},
        },
        "confidence_stats": {"mean": round(float(max_probs.mean()), 4), "std": round(float(max_probs.std()), 4),
                             "min": round(float(max_probs.min()), 4), "max": round(float(max_probs.max()), 4)},
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
