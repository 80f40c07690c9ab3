"""FinOps: unit costs of inference on rented GPUs."""

from __future__ import annotations

import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import fix, num, numeric, places


@register("cost_per_thousand_inferences")
def cost_per_thousand_inferences(rng: random.Random) -> Generated:
    """Cost of 1,000 inferences from GPU price, throughput and utilisation."""
    while True:
        price = rng.randint(60, 1_200) / 100
        gpus = rng.choice([1, 1, 2, 4])
        throughput = rng.randint(5, 150)
        util = rng.choice([30, 40, 50, 60, 70, 80, 90])
        served_h = throughput * util / 100 * 3600
        value = price * gpus / served_h * 1000
        if value >= 0.01:
            break
    stem = (
        f"A model replica runs on {gpus} GPU{'s' if gpus > 1 else ''} rented at "
        f"${price:.2f} per GPU-hour. At full load a replica serves {throughput} requests per "
        f"second, but over the month it averages {util}% of that. What does serving 1,000 "
        f"inferences cost, in US dollars {places(4)}?"
    )
    steps = [
        f"Replica cost per hour: {gpus} · ${price:.2f} = ${price * gpus:.2f}.",
        f"Requests actually served per hour: {throughput} · {util / 100:g} · 3,600 = "
        f"{num(round(served_h, 4))}.",
        f"Cost per request: ${price * gpus:.2f} / {num(round(served_h, 4))} = "
        f"${fix(price * gpus / served_h, 7)}.",
        f"Per 1,000: ${fix(value, 5)}.",
        "Idle capacity is paid for: raising utilisation (autoscaling, batching, bin-packing) "
        "lowers the unit cost in proportion.",
    ]
    params = {
        "price_per_gpu_hour": price,
        "gpus_per_replica": gpus,
        "throughput_rps": throughput,
        "utilisation_pct": util,
    }
    return numeric(stem, steps, value, 4, params, unit="USD")


@register("cost_per_million_tokens")
def cost_per_million_tokens(rng: random.Random) -> Generated:
    """Cost of one million generated tokens on a tensor-parallel LLM replica."""
    price = rng.randint(150, 900) / 100
    gpus = rng.choice([1, 2, 4, 8])
    tokens_s = rng.randint(8, 120) * 50
    util = rng.choice([40, 50, 60, 70, 80])
    served_h = tokens_s * util / 100 * 3600
    value = price * gpus / served_h * 1_000_000
    stem = (
        f"An LLM replica uses {gpus} GPU{'s' if gpus > 1 else ''} (tensor parallel) at "
        f"${price:.2f} per GPU-hour. At saturation it generates {tokens_s:,} output tokens per "
        f"second across all its sequences; averaged over the day it runs at {util}% of that. "
        f"What does one million output tokens cost, in US dollars {places(2)}?"
    )
    steps = [
        f"Replica cost per hour: {gpus} · ${price:.2f} = ${price * gpus:.2f}.",
        f"Tokens per hour: {tokens_s:,} · {util / 100:g} · 3,600 = {num(round(served_h, 4))}.",
        f"Per million: ${price * gpus:.2f} / {num(round(served_h, 4))} · 1,000,000 = "
        f"${fix(value, 4)}.",
    ]
    params = {
        "price_per_gpu_hour": price,
        "gpus_per_replica": gpus,
        "tokens_per_s": tokens_s,
        "utilisation_pct": util,
    }
    return numeric(stem, steps, value, 2, params, unit="USD")
