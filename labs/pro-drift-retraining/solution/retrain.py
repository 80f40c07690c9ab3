"""Drift-triggered retraining behind a promotion gate (reference solution).

    python retrain.py --batch incoming/sample_drift.csv [--tracking-uri sqlite:///mlflow.db]

1. PSI of every feature of the batch against data/reference.csv (10 reference-decile bins,
   empty bins 1e-6); drifted when the max PSI >= 0.25.
2. Not drifted: touch nothing, print the summary, exit 0.
3. Drifted: train a challenger on reference + batch, evaluate champion and challenger on
   data/holdout.csv, register the challenger (alias `challenger`, tags), and move
   `champion` to it only when its F1 beats the champion's by at least 0.02.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import pandas as pd

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "support_minutes",
    "data_usage_gb",
    "days_since_upgrade",
]
LABEL = "churned"
MODEL_NAME = "churn-classifier"
EXPERIMENT = "churn-retraining"
PSI_THRESHOLD = 0.25
PSI_BINS = 10
PSI_EPS = 1e-6
MARGIN = 0.02


def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    edges = np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1))[1:-1]
    r = np.bincount(np.digitize(ref, edges), minlength=PSI_BINS) / len(ref)
    c = np.bincount(np.digitize(cur, edges), minlength=PSI_BINS) / len(cur)
    r = np.clip(r, PSI_EPS, None)
    c = np.clip(c, PSI_EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


def recipe():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])


def f1_on(model, frame: pd.DataFrame) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(frame[LABEL], model.predict(frame[FEATURES])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", required=True, help="CSV of new labelled data")
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--reference", default="data/reference.csv")
    parser.add_argument("--holdout", default="data/holdout.csv")
    args = parser.parse_args(argv)

    ref = pd.read_csv(args.reference)
    cur = pd.read_csv(args.batch)
    missing = [c for c in [*FEATURES, LABEL] if c not in cur.columns]
    if missing:
        print(f"batch {args.batch} lacks columns {missing}", file=sys.stderr)
        return 2
    per_feature = {f: psi(ref[f].to_numpy(float), cur[f].to_numpy(float)) for f in FEATURES}
    psi_max = max(per_feature.values())
    drifted = psi_max >= PSI_THRESHOLD
    summary: dict = {
        "drifted": drifted,
        "trigger": "drift" if drifted else "none",
        "psi_max": round(psi_max, 6),
        "psi": {f: round(v, 6) for f, v in per_feature.items()},
    }
    if not drifted:
        summary.update(promoted=False, version=None)
        print(json.dumps(summary))
        return 0

    # Drifted: MLflow is imported only now, so a stable batch costs nothing.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_registry_uri(args.tracking_uri)
    client = MlflowClient()
    hold = pd.read_csv(args.holdout)

    champion_version = client.get_model_version_by_alias(MODEL_NAME, "champion")
    champion = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    f1_champion = f1_on(champion, hold)

    both = pd.concat([ref, cur], ignore_index=True)
    challenger = recipe().fit(both[FEATURES], both[LABEL])
    f1_challenger = f1_on(challenger, hold)
    passed = f1_challenger - f1_champion >= MARGIN

    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name="challenger"):
        mlflow.log_params({"trigger": "drift", "training_rows": len(both), "batch": args.batch})
        mlflow.log_metrics(
            {"psi_max": psi_max, "f1_champion": f1_champion, "f1_challenger": f1_challenger}
        )
        info = mlflow.sklearn.log_model(
            challenger,
            name="model",
            registered_model_name=MODEL_NAME,
            pip_requirements=["scikit-learn", "pandas"],
        )
    version = str(info.registered_model_version)
    tags = {
        "trigger": "drift",
        "psi_max": f"{psi_max:.6f}",
        "f1_champion": f"{f1_champion:.6f}",
        "f1_challenger": f"{f1_challenger:.6f}",
        "validation": "passed" if passed else "failed",
    }
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    client.set_registered_model_alias(MODEL_NAME, "challenger", version)
    if passed:
        client.set_registered_model_alias(MODEL_NAME, "champion", version)

    summary.update(
        f1_champion=round(f1_champion, 6),
        f1_challenger=round(f1_challenger, 6),
        validation=tags["validation"],
        promoted=passed,
        version=int(version),
        previous_champion=int(champion_version.version),
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
