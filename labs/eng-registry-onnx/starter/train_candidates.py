"""Train the four churn candidates and log them to MLflow (already run for you by setup).

`certlab lab start` generated data/train.csv, data/valid.csv and data/eval.csv and ran this
script once, so mlflow.db already holds four FINISHED runs in the experiment
`churn-candidates`, each with params, the validation metrics `val_auc`, `val_f1` and
`val_accuracy`, the tag `candidate`, and a logged model named `model`.

You do not need to run it again (running it again adds four identical runs, which is
harmless). Do not edit it: the grader refits these candidates to check your ONNX export.
"""

from __future__ import annotations

import os
from pathlib import Path

TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "churn-candidates"
LABEL = "churned"
# skops (MLflow 3's default format for scikit-learn) must trust the trees of the ensembles.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def candidates() -> list[tuple[str, str, dict, object]]:
    """(candidate name, model_type, hyperparameters, unfitted estimator), in training order."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def logreg(c: float) -> object:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))

    return [
        ("logreg-c0.01", "logistic_regression", {"C": 0.01}, logreg(0.01)),
        ("logreg-c1", "logistic_regression", {"C": 1.0}, logreg(1.0)),
        (
            "forest-d6",
            "random_forest",
            {"n_estimators": 150, "max_depth": 6},
            RandomForestClassifier(n_estimators=150, max_depth=6, random_state=7),
        ),
        (
            "gboost-d3",
            "gradient_boosting",
            {"n_estimators": 100, "max_depth": 3},
            GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=7),
        ),
    ]


def split(frame):
    """(X, y) of a data frame: every column but the label, and the label."""
    return frame.drop(columns=[LABEL]), frame[LABEL]


def validation_metrics(model, X_valid, y_valid) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    predictions = model.predict(X_valid)
    return {
        "val_auc": float(roc_auc_score(y_valid, model.predict_proba(X_valid)[:, 1])),
        "val_f1": float(f1_score(y_valid, predictions)),
        "val_accuracy": float(accuracy_score(y_valid, predictions)),
    }


def main() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature

    data = Path("data")
    X_train, y_train = split(pd.read_csv(data / "train.csv"))
    X_valid, y_valid = split(pd.read_csv(data / "valid.csv"))

    mlflow.set_tracking_uri(TRACKING_URI)
    mlflow.set_experiment(EXPERIMENT)
    for name, model_type, params, model in candidates():
        with mlflow.start_run(run_name=name):
            model.fit(X_train, y_train)
            metrics = validation_metrics(model, X_valid, y_valid)
            mlflow.log_params({"model_type": model_type, **params})
            mlflow.log_metrics(metrics)
            mlflow.set_tags({"candidate": name, "dataset": "churn"})
            mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(X_train, model.predict(X_train)),
                pip_requirements=["scikit-learn"],
                skops_trusted_types=TRUSTED_TYPES,
            )
            shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
            print(f"{name:13s} {shown}")


if __name__ == "__main__":
    main()
