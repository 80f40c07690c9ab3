"""Name the best run of the experiment `cancer-baselines` by its test F1.

Writes best_run.json ({"run_id", "metric", "f1"}) and tags that run best=true; any other run
that still carries best=true from an earlier pick is re-tagged best=false.

Run it after train.py with:  python pick_best.py
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow import MlflowClient

TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "cancer-baselines"


def main() -> None:
    client = MlflowClient(tracking_uri=TRACKING_URI)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise SystemExit(f"no experiment {EXPERIMENT!r}: run train.py first")
    runs = client.search_runs(
        [experiment.experiment_id],
        "attributes.status = 'FINISHED'",
        order_by=["metrics.f1 DESC"],
    )
    runs = [r for r in runs if "f1" in r.data.metrics]
    if not runs:
        raise SystemExit("no finished run with an f1 metric: run train.py first")
    best = runs[0]
    best_f1 = best.data.metrics["f1"]

    with open("best_run.json", "w", encoding="utf-8") as fh:
        json.dump({"run_id": best.info.run_id, "metric": "f1", "f1": best_f1}, fh, indent=2)

    for run in runs[1:]:
        if run.data.tags.get("best") == "true":
            client.set_tag(run.info.run_id, "best", "false")
    client.set_tag(best.info.run_id, "best", "true")
    print(f"best run {best.info.run_id} ({best.info.run_name}) f1={best_f1:.4f}")


if __name__ == "__main__":
    main()
