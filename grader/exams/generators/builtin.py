"""The built-in generators: importing this module registers them all."""

from __future__ import annotations

from grader.exams.generators import (  # noqa: F401
    batching,
    capacity,
    cost,
    drift,
    gpu_sharing,
    reliability,
    rollout,
    stats,
)
