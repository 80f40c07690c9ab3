"""Register the two best churn candidates and point the aliases at them.

Your job (see README.md and the lab's instructions):
  - rank the FINISHED runs of the experiment `churn-candidates` by the metric `val_auc`;
  - register the best run's logged model and the runner-up's as versions of the registered
    model `churn-classifier`;
  - set the alias `champion` on the best version and `challenger` on the runner-up's.

Run it with:  python register.py
"""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "churn-candidates"
MODEL_NAME = "churn-classifier"
METRIC = "val_auc"  # higher is better


def main() -> None:
    # TODO 1: MlflowClient(tracking_uri=TRACKING_URI); find the experiment's FINISHED runs,
    #         best METRIC first.
    # TODO 2: the champion is the best run; the challenger is the best run whose METRIC is
    #         strictly lower than the champion's.
    # TODO 3: register each one's logged model (run.outputs.model_outputs[0].model_id, URI
    #         "models:/<model_id>") as a version of MODEL_NAME.
    # TODO 4: set the aliases `champion` and `challenger` on those versions.
    print("register.py: nothing done yet - see the TODOs")


if __name__ == "__main__":
    main()
