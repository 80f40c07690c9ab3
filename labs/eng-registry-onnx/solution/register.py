"""Register the two best churn candidates and point the aliases at them.

Ranks the FINISHED runs of `churn-candidates` by `val_auc`, registers the best run's logged
model and the runner-up's (the best run with a strictly lower `val_auc`, so a re-run of the
champion is never its own challenger) as versions of `churn-classifier`, and sets the aliases
`champion` and `challenger`.

Run it with:  python register.py
"""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from mlflow import MlflowClient

TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "churn-candidates"
MODEL_NAME = "churn-classifier"
METRIC = "val_auc"  # higher is better


def model_uri(run) -> str:
    """The run's logged model as a models:/ URI (MLflow 3 logged models live outside runs)."""
    outputs = run.outputs.model_outputs if run.outputs else []
    if not outputs:
        raise SystemExit(f"run {run.info.run_id} has no logged model")
    return f"models:/{outputs[0].model_id}"


def main() -> None:
    mlflow.set_tracking_uri(TRACKING_URI)
    client = MlflowClient(tracking_uri=TRACKING_URI)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise SystemExit(f"no experiment {EXPERIMENT!r} in {TRACKING_URI}")
    runs = client.search_runs(
        [experiment.experiment_id],
        "attributes.status = 'FINISHED'",
        order_by=[f"metrics.{METRIC} DESC"],
    )
    runs = [r for r in runs if METRIC in r.data.metrics]
    champion = runs[0]
    best = champion.data.metrics[METRIC]
    challenger = next(r for r in runs if r.data.metrics[METRIC] < best)

    for alias, run in (("champion", champion), ("challenger", challenger)):
        version = mlflow.register_model(model_uri(run), MODEL_NAME)
        client.set_registered_model_alias(MODEL_NAME, alias, version.version)
        print(
            f"{alias:10s} -> version {version.version} "
            f"({run.data.tags.get('candidate', run.info.run_name)}, "
            f"{METRIC}={run.data.metrics[METRIC]:.4f})"
        )
    print("aliases:", client.get_registered_model(MODEL_NAME).aliases)


if __name__ == "__main__":
    main()
