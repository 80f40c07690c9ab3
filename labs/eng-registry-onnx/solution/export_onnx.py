"""Export the champion to ONNX and prove it predicts like the registered model.

Loads `models:/churn-classifier@champion`, converts it with skl2onnx (one float32 input named
`input` with a dynamic batch, zipmap disabled so probabilities are a plain tensor, target
opset 17 / ai.onnx.ml 3), runs it with ONNX Runtime on data/eval.csv and writes parity.json.

Run it after register.py with:  python export_onnx.py
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
import mlflow.sklearn
import numpy as np
import onnxruntime as ort
import pandas as pd
from mlflow import MlflowClient
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType

TRACKING_URI = "sqlite:///mlflow.db"
MODEL_NAME = "churn-classifier"
ALIAS = "champion"
LABEL = "churned"
RTOL, ATOL = 1e-4, 1e-5


def main() -> None:
    mlflow.set_tracking_uri(TRACKING_URI)
    client = MlflowClient(tracking_uri=TRACKING_URI)
    version = client.get_model_version_by_alias(MODEL_NAME, ALIAS)
    model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{ALIAS}")

    X_eval = pd.read_csv("data/eval.csv").drop(columns=[LABEL])
    n_features = X_eval.shape[1]
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options={"zipmap": False},
    )
    with open("model.onnx", "wb") as fh:
        fh.write(onx.SerializeToString())

    session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    x32 = X_eval.to_numpy(dtype=np.float32)
    names = [o.name for o in session.get_outputs()]
    labels, proba = session.run(names, {"input": x32})
    # The registered model sees the same float32 values (as float64), with its column names.
    reference = pd.DataFrame(x32.astype(np.float64), columns=X_eval.columns)
    ref_labels = model.predict(reference)
    ref_proba = model.predict_proba(reference)

    report = {
        "model": MODEL_NAME,
        "alias": ALIAS,
        "version": int(version.version),
        "rows": int(x32.shape[0]),
        "labels_equal": bool(np.array_equal(labels, ref_labels)),
        "max_abs_diff": float(np.max(np.abs(proba - ref_proba))),
        "allclose": bool(np.allclose(proba, ref_proba, rtol=RTOL, atol=ATOL)),
        "rtol": RTOL,
        "atol": ATOL,
    }
    with open("parity.json", "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
