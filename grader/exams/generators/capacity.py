"""Capacity planning: LLM GPU memory, quantisation, Little's law and replica counts."""

from __future__ import annotations

import random

from grader.exams.generators import Generated, register
from grader.exams.generators._util import ceil_safe, fix, near_int, num, numeric, places

# (billions of parameters, layers, hidden size, attention heads): LLaMA-family shapes.
MODELS = [(7, 32, 4096, 32), (13, 40, 5120, 40), (33, 60, 6656, 52), (65, 80, 8192, 64)]
WEIGHT_PRECISIONS = [("FP16", 2), ("BF16", 2), ("FP8", 1), ("INT8", 1)]
KV_PRECISIONS = [("FP16", 2), ("FP8", 1)]
GPUS = [("A100 80GB", 80), ("H100 80GB", 80), ("H200", 141), ("L40S", 48)]
GB = 1e9


def kv_bytes(layers: int, hidden: int, nbytes: int, tokens: int, batch: int) -> int:
    """KV cache bytes: 2 (K and V) × layers × hidden × bytes × tokens × batch."""
    return 2 * layers * hidden * nbytes * tokens * batch


@register("gpus_for_llm")
def gpus_for_llm(rng: random.Random) -> Generated:
    """GPUs needed for an LLM's weights plus KV cache with headroom."""
    while True:
        params_b, layers, hidden, _ = rng.choice(MODELS)
        wname, wbytes = rng.choice(WEIGHT_PRECISIONS)
        kname, kbytes = rng.choice(KV_PRECISIONS)
        tokens = rng.choice([2048, 4096, 8192])
        batch = rng.choice([4, 8, 16, 32, 64])
        headroom = rng.choice([10, 15, 20])
        gpu, mem = rng.choice(GPUS)
        weights = params_b * wbytes
        kv = kv_bytes(layers, hidden, kbytes, tokens, batch) / GB
        total = (weights + kv) * (1 + headroom / 100)
        ratio = total / mem
        if 1 < ratio <= 16 and not near_int(ratio, 0.01):
            break
    gpus = ceil_safe(ratio)
    stem = (
        f"You must serve a {params_b}-billion-parameter decoder-only model ({layers} layers, "
        f"hidden size {hidden:,}, standard multi-head attention) with weights in {wname} "
        f"({wbytes} byte{'s' if wbytes > 1 else ''} per parameter) and the KV cache in {kname} "
        f"({kbytes} byte{'s' if kbytes > 1 else ''} per value). Size it for {batch} concurrent "
        f"sequences of {tokens:,} tokens each. Use weights = parameters × bytes and KV cache = "
        "2 × layers × hidden × bytes × tokens × batch, add "
        f"{headroom}% headroom on top of their sum for activations and fragmentation, and take "
        f"1 GB = 10⁹ bytes. How many {gpu} GPUs ({mem} GB each) are needed? Ignore "
        "tensor-parallel constraints and round up to a whole number."
    )
    steps = [
        f"Weights: {params_b} · 10⁹ · {wbytes} B = {fix(weights, 2)} GB.",
        f"KV cache: 2 · {layers} · {hidden:,} · {kbytes} · {tokens:,} · {batch} = "
        f"{kv_bytes(layers, hidden, kbytes, tokens, batch):,} B = {fix(kv, 2)} GB.",
        f"With {headroom}% headroom: ({fix(weights, 2)} + {fix(kv, 2)}) · "
        f"{1 + headroom / 100:g} = {fix(total, 2)} GB.",
        f"GPUs: {fix(total, 2)} / {mem} = {fix(ratio, 3)}, rounded up to {gpus}.",
        "The KV cache grows with batch × context and often outweighs the weights; grouped-query "
        "attention, FP8 KV caches and paged attention are the usual levers.",
    ]
    params = {
        "params_b": params_b,
        "layers": layers,
        "hidden": hidden,
        "weight_precision": wname,
        "weight_bytes": wbytes,
        "kv_precision": kname,
        "kv_bytes": kbytes,
        "tokens": tokens,
        "batch": batch,
        "headroom_pct": headroom,
        "gpu": gpu,
        "gpu_mem_gb": mem,
    }
    return numeric(stem, steps, gpus, None, params, unit="GPUs")


@register("kv_cache_gb")
def kv_cache_gb(rng: random.Random) -> Generated:
    """KV cache size for a batch of sequences, with or without grouped-query attention."""
    params_b, layers, hidden, heads = rng.choice(MODELS)
    kname, kbytes = rng.choice(KV_PRECISIONS)
    tokens = rng.choice([1024, 2048, 4096, 8192, 16384])
    batch = rng.choice([1, 4, 8, 16, 32])
    gqa = rng.random() < 0.5
    kv_heads = rng.choice([h for h in (4, 8) if heads % h == 0]) if gqa else heads
    value = kv_bytes(layers, hidden, kbytes, tokens, batch) * kv_heads / heads / GB
    attention = (
        f"grouped-query attention with {kv_heads} key/value heads shared by {heads} query heads"
        if gqa
        else f"standard multi-head attention ({heads} heads)"
    )
    stem = (
        f"A {params_b}-billion-parameter decoder has {layers} layers, hidden size {hidden:,} and "
        f"{attention}. The KV cache is stored in {kname} ({kbytes} byte"
        f"{'s' if kbytes > 1 else ''} per value). With multi-head attention the cache takes "
        "2 × layers × hidden × bytes × tokens × batch bytes; with grouped-query attention "
        "multiply by (key/value heads ÷ query heads). How much memory does the cache need for "
        f"{batch} sequence{'s' if batch > 1 else ''} of {tokens:,} tokens, in GB "
        f"(1 GB = 10⁹ bytes), {places(2)}?"
    )
    full = kv_bytes(layers, hidden, kbytes, tokens, batch)
    steps = [
        f"Multi-head size: 2 · {layers} · {hidden:,} · {kbytes} · {tokens:,} · {batch} "
        f"= {full:,} B = {fix(full / GB, 4)} GB.",
    ]
    if gqa:
        steps.append(
            f"Grouped-query attention keeps only {kv_heads} of {heads} key/value heads: "
            f"{fix(full / GB, 4)} · {kv_heads}/{heads} = {fix(value, 4)} GB."
        )
    else:
        steps.append(f"No grouping, so the cache is {fix(value, 4)} GB.")
    params: dict[str, object] = {
        "params_b": params_b,
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "kv_bytes": kbytes,
        "kv_precision": kname,
        "tokens": tokens,
        "batch": batch,
    }
    if gqa:
        params["kv_heads"] = kv_heads
    return numeric(stem, steps, value, 2, params, unit="GB")


_FROM = [("FP32", 4), ("FP16", 2), ("BF16", 2)]
_TO = [("INT8", 1), ("INT4", 0.5)]


@register("quantisation_memory_saved")
def quantisation_memory_saved(rng: random.Random) -> Generated:
    """Weight memory saved by quantising a model."""
    params_b = rng.choice([1.5, 3, 7, 8, 13, 34, 70])
    fname, fbytes = rng.choice(_FROM)
    tname, tbytes = rng.choice(_TO)
    before = params_b * fbytes
    after = params_b * tbytes
    saved = before - after
    stem = (
        f"A {num(params_b)}-billion-parameter model is stored in {fname} ({fbytes} bytes per "
        f"parameter) and quantised to {tname} ({num(tbytes)} byte"
        f"{'s' if tbytes > 1 else ''} per parameter). Counting weights only (ignore "
        "quantisation scales, zero-points and the KV cache) and taking 1 GB = 10⁹ bytes, how "
        f"many GB of memory does quantisation save? Give it {places(1)}."
    )
    steps = [
        f"Before: {num(params_b)} · 10⁹ · {fbytes} B = {fix(before, 2)} GB.",
        f"After: {num(params_b)} · 10⁹ · {num(tbytes)} B = {fix(after, 2)} GB.",
        f"Saved: {fix(before, 2)} − {fix(after, 2)} = {fix(saved, 2)} GB "
        f"({fix(100 * saved / before, 1)}% less).",
    ]
    params = {
        "params_b": params_b,
        "from_precision": fname,
        "from_bytes": fbytes,
        "to_precision": tname,
        "to_bytes": tbytes,
    }
    return numeric(stem, steps, saved, 1, params, unit="GB")


@register("littles_law_concurrency")
def littles_law_concurrency(rng: random.Random) -> Generated:
    """In-flight requests from arrival rate and latency (L = λ·W)."""
    rate = rng.randint(20, 2_000)
    latency = rng.choice([35, 48, 60, 85, 120, 180, 250, 400, 650])
    value = rate * latency / 1000
    stem = (
        f"A fraud-scoring service receives a steady {rate:,} requests per second and each "
        f"request spends on average {latency} ms in the system. By Little's law, how many "
        f"requests are in flight on average? Give it {places(1)}."
    )
    steps = [
        "Little's law: L = λ · W, with λ and W in the same time unit.",
        f"W = {latency} ms = {num(latency / 1000)} s.",
        f"L = {rate:,} · {num(latency / 1000)} = {fix(value, 2)} requests in flight.",
        "This is the concurrency the replicas must hold at once (before any safety margin).",
    ]
    params = {"rate_rps": rate, "latency_ms": latency}
    return numeric(stem, steps, value, 1, params, unit="requests")


@register("replicas_for_throughput")
def replicas_for_throughput(rng: random.Random) -> Generated:
    """Replicas needed for a peak load at a target utilisation, optionally N+1."""
    while True:
        peak = rng.randint(10, 500) * 10
        per_replica = rng.randint(20, 400)
        target = rng.choice([60, 65, 70, 75, 80])
        raw = peak / (per_replica * target / 100)
        if 1 < raw <= 60 and not near_int(raw, 0.01):
            break
    spare = rng.random() < 0.5
    base = ceil_safe(raw)
    replicas = base + (1 if spare else 0)
    stem = (
        f"Load tests show one model replica saturates at {per_replica} requests per second. "
        f"Peak traffic is {peak:,} requests per second and the team runs replicas at no more "
        f"than {target}% of their saturation throughput"
        + (", plus 1 spare replica so a node loss does not breach that limit" if spare else "")
        + ". How many replicas are needed? Answer as a whole number."
    )
    steps = [
        f"Usable throughput per replica: {per_replica} · {target / 100:g} = "
        f"{num(round(per_replica * target / 100, 4))} req/s.",
        f"Replicas for the peak: {peak:,} / {num(round(per_replica * target / 100, 4))} = "
        f"{fix(raw, 3)}, rounded up to {base}.",
    ]
    if spare:
        steps.append(f"Add the spare: {base} + 1 = {replicas}.")
    params: dict[str, int] = {
        "peak_rps": peak,
        "per_replica_rps": per_replica,
        "target_util_pct": target,
    }
    if spare:
        params["spare_replicas"] = 1
    return numeric(stem, steps, replicas, None, params, unit="replicas")
