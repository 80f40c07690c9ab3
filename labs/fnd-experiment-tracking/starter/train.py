"""Train three baseline classifiers on breast_cancer and print their test metrics.

The training and the metrics already work. Your job (see README.md): add MLflow tracking so
every candidate becomes a run in the experiment `cancer-baselines`, stored in the SQLite
database `mlflow.db` next to this script.

Run it with:  python train.py
"""

from __future__ import annotations

import os

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# The split the grader recomputes your metrics on. Do not change these three values.
TEST_SIZE = 0.25
RANDOM_STATE = 42
STRATIFY = True

TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "cancer-baselines"

# (run name, model_type param, hyperparameters)
CANDIDATES = [
    ("logreg-c0.01", "logistic_regression", {"C": 0.01}),
    ("logreg-c1", "logistic_regression", {"C": 1.0}),
    ("forest-200", "random_forest", {"n_estimators": 200, "max_depth": 4}),
]


def build(model_type: str, params: dict):
    if model_type == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=1000))
    return RandomForestClassifier(**params, random_state=RANDOM_STATE)


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=TEST_SIZE,
        random_state=RANDOM_STATE,
        stratify=y if STRATIFY else None,
    )

    # TODO 1: point MLflow at TRACKING_URI and select the experiment EXPERIMENT.

    for run_name, model_type, params in CANDIDATES:
        # TODO 2: wrap each candidate in an MLflow run named `run_name`.
        model = build(model_type, params)
        model.fit(X_train, y_train)
        predictions = model.predict(X_test)
        accuracy = accuracy_score(y_test, predictions)
        f1 = f1_score(y_test, predictions)  # binary F1 of class 1 (benign)
        print(f"{run_name:14s} accuracy={accuracy:.4f} f1={f1:.4f}")
        # TODO 3: log the params (model_type and the hyperparameters), the metrics
        #         `accuracy` and `f1`, the tags dataset=breast_cancer and purpose=baseline,
        #         and the fitted model with mlflow.sklearn.log_model(..., name="model").


if __name__ == "__main__":
    main()
