"""Dynamic batching: the latency cost and throughput gain of waiting to fill a batch."""

from __future__ import annotations

import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import fix, num, numeric, places


def _draw(rng: random.Random) -> dict[str, float | int]:
    return {
        "overhead_ms": rng.randint(30, 200) / 10,
        "per_item_ms": rng.randint(2, 30) / 10,
        "max_batch": rng.choice([4, 8, 16, 32]),
        "max_delay_ms": rng.choice([2, 5, 10, 20]),
    }


def _model(p: dict[str, float | int]) -> str:
    a, c, b, d = p["overhead_ms"], p["per_item_ms"], p["max_batch"], p["max_delay_ms"]
    return (
        f"A GPU model server runs one batch at a time; a batch of b requests takes "
        f"t(b) = {num(a)} + {num(c)} · b ms (a fixed {num(a)} ms per batch plus {num(c)} ms per "
        f"request). Dynamic batching waits at most {num(d)} ms for a batch to fill, up to "
        f"{num(b)} requests; at peak load every batch is full."
    )


@register("batching_added_latency")
def batching_added_latency(rng: random.Random) -> Generated:
    """Worst-case extra latency from a batching delay and a full batch."""
    p = _draw(rng)
    a, c, b, d = p["overhead_ms"], p["per_item_ms"], p["max_batch"], p["max_delay_ms"]
    t1, tb = a + c, a + c * b
    value = d + tb - t1
    stem = (
        _model(p)
        + " Compared with one request served alone on an idle server, what is the worst-case "
        "extra latency a request sees at peak? Count the wait for its batch to form and the "
        "longer compute of a full batch, but not queueing behind other batches. Give it in "
        f"milliseconds {places(1)}."
    )
    steps = [
        f"Alone: t(1) = {num(a)} + {num(c)} = {fix(t1, 2)} ms.",
        f"Full batch: t({num(b)}) = {num(a)} + {num(c)} · {num(b)} = {fix(tb, 2)} ms.",
        f"Worst case adds the whole batching delay: {num(d)} + ({fix(tb, 2)} − {fix(t1, 2)}) "
        f"= {fix(value, 2)} ms.",
        "Triton's `max_queue_delay_microseconds` is this delay: it trades tail latency for "
        "larger batches.",
    ]
    return numeric(stem, steps, value, 1, dict(p), unit="ms")


@register("batching_throughput_gain")
def batching_throughput_gain(rng: random.Random) -> Generated:
    """Throughput gain factor of full batches over one-at-a-time serving."""
    p = _draw(rng)
    a, c, b = p["overhead_ms"], p["per_item_ms"], p["max_batch"]
    t1, tb = a + c, a + c * b
    single_rps = 1000 / t1
    batch_rps = 1000 * b / tb
    value = batch_rps / single_rps
    stem = (
        _model(p)
        + " With batches run back to back, by what factor does peak throughput (requests per "
        "second) grow compared with serving one request at a time? Give the factor "
        f"{places(2)}."
    )
    steps = [
        f"One at a time: 1 request per t(1) = {fix(t1, 2)} ms → {fix(single_rps, 2)} req/s.",
        f"Full batches: {num(b)} requests per t({num(b)}) = {fix(tb, 2)} ms → "
        f"{fix(batch_rps, 2)} req/s.",
        f"Gain: {fix(batch_rps, 2)} / {fix(single_rps, 2)} = {num(b)} · {fix(t1, 2)} / "
        f"{fix(tb, 2)} = {fix(value, 3)}×.",
        f"The gain comes from amortising the fixed {num(a)} ms; it is bounded by t(1) / "
        f"{num(c)} = {fix(t1 / c, 2)}× however large the batch.",
    ]
    return numeric(stem, steps, value, 2, dict(p), unit="×")
