#!/usr/bin/env python3
"""Log a HAR Monitor model to an MLflow tracking server the way Python users do, and register a version of it.

Used by tests/mlflow.rs to check that `har-monitor mlflow pull` reads versions that were not pushed by
har-monitor itself. Two Python ways are supported:

  --how pyfunc     mlflow.pyfunc.log_model(name=..., artifacts={...}, registered_model_name=...): MLflow 3 stores a
                   "logged model"; the version's source is `models:/m-...` and the files sit under `artifacts/`
                   beside MLmodel, python_model.pkl, requirements.txt.
  --how artifacts  mlflow.log_artifacts(dir, "model") in a run, then MlflowClient().create_model_version(source=
                   "runs:/<run>/model"): the version's source is a `runs:/` URI, the files under `model/`.

Prints one JSON line: {"name", "version", "source", "run_id"}.

    python scripts/mlflow_log_python_version.py --tracking-uri http://127.0.0.1:5000 \
        --model models/demo/demo-1dcnn-bilstm.onnx --name demo-python --how pyfunc [--alias staging]

Needs only `pip install mlflow` (tested with 3.17).
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient


class HarOnnxModel(mlflow.pyfunc.PythonModel):
    """A placeholder pyfunc: the files are what matter; har-monitor runs the ONNX itself."""

    def predict(self, context, model_input, params=None):  # pragma: no cover - never served
        raise NotImplementedError("run the ONNX model with har-monitor")


def model_files(model: Path, with_baseline: bool) -> dict:
    stem = model.name[: -len(".onnx")] if model.name.endswith(".onnx") else model.stem
    files = {"onnx": model, "card": model.with_name(f"{stem}.model.json")}
    baseline = model.with_name(f"{stem}.baseline.json")
    if with_baseline and baseline.is_file():
        files["baseline"] = baseline
    for key, path in files.items():
        if not path.is_file():
            sys.exit(f"{path}: missing ({key})")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--model", required=True, type=Path, help="the .onnx; its card <stem>.model.json beside it")
    parser.add_argument("--name", required=True, help="registered model name")
    parser.add_argument("--how", choices=["pyfunc", "artifacts"], default="pyfunc")
    parser.add_argument("--experiment", default="anxiety-activity-recognition")
    parser.add_argument("--alias", default=None)
    parser.add_argument("--no-baseline", action="store_true", help="leave the drift baseline out")
    args = parser.parse_args()

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment(args.experiment)
    files = model_files(args.model, not args.no_baseline)
    tags = {"project": "MasterArbeit_MLops", "model_type": "1D-CNN-BiLSTM", "task": "activity-recognition"}

    with mlflow.start_run(run_name=f"python-{args.how}", tags=tags) as run:
        if args.how == "pyfunc":
            info = mlflow.pyfunc.log_model(
                name="har_model",
                python_model=HarOnnxModel(),
                artifacts={key: str(path) for key, path in files.items()},
                registered_model_name=args.name,
                pip_requirements=["mlflow"],
            )
            version = str(info.registered_model_version)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                for path in files.values():
                    shutil.copy(path, Path(tmp) / path.name)
                mlflow.log_artifacts(tmp, artifact_path="model")
            # MLflow 3's register_model() wants a logged model; the client call registers plain run artifacts.
            client = MlflowClient()
            try:
                client.create_registered_model(args.name)
            except mlflow.exceptions.MlflowException as e:
                if e.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            registered = client.create_model_version(
                args.name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
            )
            version = str(registered.version)

    client = MlflowClient()
    if args.alias:
        client.set_registered_model_alias(args.name, args.alias, version)
    mv = client.get_model_version(args.name, version)
    print(json.dumps({"name": args.name, "version": version, "source": mv.source, "run_id": mv.run_id}))


if __name__ == "__main__":
    main()
