"""Name the best run of the experiment `cancer-baselines` by its test F1.

Your job (see README.md): find the finished run with the highest `f1` metric, write
best_run.json and tag that run best=true.

Run it after train.py with:  python pick_best.py
"""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "cancer-baselines"


def main() -> None:
    # TODO 1: search the experiment's FINISHED runs, best f1 first.
    # TODO 2: write best_run.json: {"run_id": ..., "metric": "f1", "f1": ...}
    # TODO 3: tag that run best=true (and make sure no other run keeps best=true).
    print("pick_best.py: nothing done yet - see the TODOs")


if __name__ == "__main__":
    main()
