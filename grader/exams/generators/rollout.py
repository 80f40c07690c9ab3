"""Rollouts: canary sizing and traffic shares under replica-ratio splitting."""

from __future__ import annotations

import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import fix, numeric, places

_SPLIT_NOTE = (
    "Both Deployments carry the same `app` label and sit behind one Service that selects only "
    "`app`, so traffic splits roughly in proportion to ready endpoints (replica-ratio canary)."
)


@register("canary_replicas")
def canary_replicas(rng: random.Random) -> Generated:
    """Smallest canary replica count that reaches a target traffic share."""
    target = rng.choice([5, 10, 15, 20, 25, 30, 40, 50])
    if rng.random() < 0.5:
        stable = rng.randint(3, 20)
        canary = -(-target * stable // (100 - target))  # ceil of target·S / (100 − target)
        total = stable + canary
        stem = (
            f"A model runs as a stable Deployment with {stable} ready replicas that must stay "
            f"as they are. A canary Deployment is added beside it. {_SPLIT_NOTE} What is the "
            f"smallest number of canary replicas that gives the canary at least {target}% of "
            "the traffic? Answer as a whole number."
        )
        raw = target * stable / (100 - target)
        steps = [
            "With S stable and C canary replicas the canary's share is C / (S + C). Solving "
            "C / (S + C) ≥ s gives C ≥ s · S / (1 − s).",
            f"C ≥ {target / 100:g} · {stable} / (1 − {target / 100:g}) = {fix(raw, 3)}, so "
            f"C = {canary}.",
            f"Check: {canary} / ({stable} + {canary}) = {fix(100 * canary / total, 1)}% "
            f"≥ {target}%.",
        ]
        params = {"stable_replicas": stable, "target_pct": target}
    else:
        total = rng.randint(4, 40)
        canary = -(-target * total // 100)  # ceil of target·T / 100
        stem = (
            f"A model must keep exactly {total} ready replicas in total, split between a stable "
            f"and a canary Deployment. {_SPLIT_NOTE} What is the smallest number of the "
            f"{total} replicas that must be canary for the canary to get at least {target}% of "
            "the traffic? Answer as a whole number."
        )
        steps = [
            "With T replicas in total and C of them canary, the canary's share is C / T, so "
            "C ≥ s · T.",
            f"C ≥ {target / 100:g} · {total} = {fix(target * total / 100, 2)}, so C = {canary} "
            f"(and {total - canary} stable).",
            f"Check: {canary} / {total} = {fix(100 * canary / total, 1)}% ≥ {target}%.",
        ]
        params = {"total_replicas": total, "target_pct": target}
    steps.append(
        "Replica ratios only approximate the split (per-connection balancing, keep-alive); exact "
        "percentages need a mesh, Gateway API weights or Knative."
    )
    return numeric(stem, steps, canary, None, params, unit="replicas")


@register("canary_traffic_share")
def canary_traffic_share(rng: random.Random) -> Generated:
    """Share of traffic the canary receives from ready replica counts."""
    stable = rng.randint(2, 16)
    canary = rng.randint(1, 6)
    not_ready = rng.randint(1, canary - 1) if canary > 1 and rng.random() < 0.4 else 0
    ready = canary - not_ready
    value = 100 * ready / (stable + ready)
    stem = (
        f"A stable Deployment has {stable} ready replicas and a canary Deployment has {canary} "
        "replicas"
        + (
            f", of which {not_ready} {'is' if not_ready == 1 else 'are'} failing the readiness "
            "probe"
            if not_ready
            else ", all ready"
        )
        + f". {_SPLIT_NOTE} What share of requests reaches the canary? Give it as a "
        f"percentage {places(1)}."
    )
    steps = []
    if not_ready:
        steps.append(
            f"Pods that fail readiness are removed from the Service's endpoints, so only "
            f"{canary} − {not_ready} = {ready} canary replica{'s' if ready > 1 else ''} "
            f"receive{'' if ready > 1 else 's'} traffic."
        )
    steps += [
        f"Canary share = canary endpoints / all endpoints = {ready} / ({stable} + {ready}) "
        f"= {ready} / {stable + ready}.",
        f"= {fix(value / 100, 4)} = {fix(value, 1)}%.",
    ]
    params: dict[str, int] = {"stable_replicas": stable, "canary_replicas": canary}
    if not_ready:
        params["canary_not_ready"] = not_ready
    return numeric(stem, steps, value, 1, params, unit="%")
