"""Turning a blueprint's domain weights into question counts."""

from __future__ import annotations

import math
from collections.abc import Mapping


def allocate(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Largest-remainder allocation of ``total`` questions over ``weights``.

    Each domain gets ``floor(share)``; the questions left over go one each to the largest
    fractional parts (ties to the heavier domain, then to the earlier one), so the counts sum
    to ``total`` exactly. 80 questions at 28/26/22/24 give 22/21/18/19.
    """
    if total < 0:
        raise ValueError("total must not be negative")
    weight_sum = sum(weights.values())
    if not weights or weight_sum <= 0:
        raise ValueError("weights must be positive")
    shares = {k: total * w / weight_sum for k, w in weights.items()}
    counts = {k: math.floor(s) for k, s in shares.items()}
    order = list(weights)
    leftover = total - sum(counts.values())
    by_remainder = sorted(
        order, key=lambda k: (-(shares[k] - counts[k]), -weights[k], order.index(k))
    )
    for k in by_remainder[:leftover]:
        counts[k] += 1
    return counts
