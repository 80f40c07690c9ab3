"""``type: onnx`` — an ONNX model's metadata, and parity against the lab's reference model.

Document: ``{inputs, outputs, opsets, producer, producer_version, ir_version, providers,
available_providers, output_types, accepts_float32, zipmap, parity}``. ``opsets`` maps a
domain to its version, with the default domain named ``ai.onnx``. ``parity`` is None unless
the check names ``reference`` and ``data`` (``checks.py:function``, called as ``fn(ctx)``);
otherwise it is ``{ran, ok, rows, labels_equal, label_mismatches, allclose, max_abs_diff,
zipmap, reason, error}`` — a model that cannot run on float32 data gives ``ran: false`` with the
error, never an exception.
"""

from __future__ import annotations

from typing import Any

from grader.checks.sources.base import (
    SourceContext,
    SourceError,
    display,
    number,
    require,
    resolve,
)
from grader.checks.sources.file import read_bytes
from grader.checks.sources.labcode import call_lab_function

MAX_MODEL_BYTES = 500 * 1024 * 1024
ZIPMAP_REASON = (
    "the model outputs probabilities as a ZipMap (a list of {label: probability} maps), not a "
    "tensor; export with options={<Estimator>: {'zipmap': False}}"
)


def load(spec: dict[str, Any], ctx: SourceContext) -> dict[str, Any]:
    """Metadata of the ONNX file ``spec["path"]``, plus parity when asked for."""
    path = resolve(require(spec, "path"), ctx)
    name = display(path, ctx)
    data = read_bytes(path, name, limit=MAX_MODEL_BYTES)
    model = _parse(data, name)
    session = _session(data, name)
    inputs = [_io(arg) for arg in session.get_inputs()]
    outputs = [_io(arg) for arg in session.get_outputs()]
    import onnxruntime as ort

    doc: dict[str, Any] = {
        "inputs": inputs,
        "outputs": outputs,
        "opsets": _opsets(model),
        "producer": model.producer_name or None,
        "producer_version": model.producer_version or None,
        "ir_version": model.ir_version,
        "providers": list(session.get_providers()),
        "available_providers": list(ort.get_available_providers()),
        "output_types": [o["type"] for o in outputs],
        "accepts_float32": bool(inputs) and all(i["type"] == "tensor(float)" for i in inputs),
        "zipmap": any(_is_zipmap(o["type"]) for o in outputs),
        "parity": None,
    }
    reference, data_ref = spec.get("reference"), spec.get("data")
    if reference is not None or data_ref is not None:
        if reference is None or data_ref is None:
            raise SourceError("the check's onnx source needs both `reference` and `data`")
        rtol = number(spec, "rtol", 1e-4, low=0, high=1)
        atol = number(spec, "atol", 1e-5, low=0, high=1)
        ref_model = call_lab_function(reference, ctx)
        x = call_lab_function(data_ref, ctx)
        doc["parity"] = parity(session, ref_model, x, rtol=rtol, atol=atol)
    return doc


def _parse(data: bytes, name: str) -> Any:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise SourceError(
            f"{name} is not a valid ONNX model ({exc}); write it with onnx.save(model, path) "
            "or open(path, 'wb').write(model.SerializeToString())"
        ) from exc
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise SourceError(f"{name} is not a valid ONNX model (no graph inside)")
    return model


def _session(data: bytes, name: str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's pybind errors share no useful base class
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"ONNX Runtime cannot load {name}: {reason}") from exc


def _io(arg: Any) -> dict[str, Any]:
    shape = arg.shape if isinstance(arg.shape, list) else []
    return {
        "name": arg.name,
        "type": arg.type,
        "shape": [dim if isinstance(dim, int) and dim >= 0 else None for dim in shape],
    }


def _opsets(model: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for opset in model.opset_import:  # skl2onnx may list a domain twice
        domain = opset.domain or "ai.onnx"
        out[domain] = max(out.get(domain, 0), int(opset.version))
    return out


def _is_zipmap(type_name: str) -> bool:
    return type_name.startswith("seq(map(")


def parity(session: Any, reference: Any, x: Any, *, rtol: float, atol: float) -> dict[str, Any]:
    """Compare the ONNX model with the fitted ``reference`` on ``x`` (sent as float32)."""
    import numpy as np

    result: dict[str, Any] = {
        "ran": False,
        "ok": False,
        "rows": None,
        "labels_equal": None,
        "label_mismatches": None,
        "allclose": None,
        "max_abs_diff": None,
        "zipmap": False,
        "rtol": rtol,
        "atol": atol,
        "reason": None,
        "error": None,
    }
    try:
        x32 = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise SourceError(f"the lab's data is not numeric: {exc}") from exc
    if x32.ndim == 1:
        x32 = x32.reshape(-1, 1)
    result["rows"] = int(x32.shape[0])
    inputs = session.get_inputs()
    if len(inputs) != 1:
        result["error"] = result["reason"] = (
            f"the model has {len(inputs)} inputs; parity needs a single tensor input"
        )
        return result
    try:
        outputs = _run(session, inputs[0], x32)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if inputs[0].type != "tensor(float)":
            message = f"the model's input is {inputs[0].type}, not tensor(float): {message}"
        result["error"] = result["reason"] = message
        return result
    result["ran"] = True
    try:
        expected_labels = np.asarray(reference.predict(x))
    except Exception as exc:
        raise SourceError(f"the lab's reference model failed to predict: {exc}") from exc
    names = [o.name for o in session.get_outputs()]
    labels = np.asarray(outputs[0]).reshape(-1)
    classifier = hasattr(reference, "predict_proba") and len(outputs) >= 2
    if not classifier:
        # one output: labels, or regression values compared with tolerance
        got = np.asarray(outputs[0], dtype=float).reshape(expected_labels.shape)
        want = expected_labels.astype(float)
        diff = float(np.max(np.abs(got - want))) if got.size else 0.0
        close = bool(np.allclose(got, want, rtol=rtol, atol=atol))
        result.update(max_abs_diff=diff, allclose=close, labels_equal=close, ok=close)
        result["label_mismatches"] = int(np.sum(~np.isclose(got, want, rtol=rtol, atol=atol)))
        if not close:
            result["reason"] = f"predictions differ from the reference (max difference {diff:.3g})"
        return result
    mismatches = _label_mismatches(labels, expected_labels.reshape(-1))
    result["labels_equal"] = mismatches == 0
    result["label_mismatches"] = mismatches
    proba_out = outputs[1]
    expected_proba = np.asarray(reference.predict_proba(x), dtype=float)
    if isinstance(proba_out, list) and (not proba_out or isinstance(proba_out[0], dict)):
        result["zipmap"] = True
        result["allclose"] = False
        result["reason"] = ZIPMAP_REASON
        got = _from_zipmap(proba_out, getattr(reference, "classes_", None))
        if got is not None and got.shape == expected_proba.shape:
            result["max_abs_diff"] = float(np.max(np.abs(got - expected_proba)))
        return result
    got = np.asarray(proba_out, dtype=float)
    if got.shape != expected_proba.shape:
        result["allclose"] = False
        result["reason"] = (
            f"output {names[1]!r} has shape {list(got.shape)}, the reference gives "
            f"{list(expected_proba.shape)}"
        )
        return result
    result["max_abs_diff"] = float(np.max(np.abs(got - expected_proba))) if got.size else 0.0
    result["allclose"] = bool(np.allclose(got, expected_proba, rtol=rtol, atol=atol))
    result["ok"] = bool(result["labels_equal"] and result["allclose"])
    if not result["labels_equal"]:
        result["reason"] = f"{mismatches} of {len(labels)} labels differ from the reference"
    elif not result["allclose"]:
        result["reason"] = (
            f"probabilities differ from the reference by up to {result['max_abs_diff']:.3g} "
            f"(rtol {rtol:g}, atol {atol:g})"
        )
    return result


def _run(session: Any, arg: Any, x32: Any) -> list[Any]:
    """Run on the whole batch, or row by row when the model's batch size is fixed at 1."""
    import numpy as np

    first = arg.shape[0] if isinstance(arg.shape, list) and arg.shape else None
    if first == 1 and x32.shape[0] > 1:
        parts = [session.run(None, {arg.name: x32[i : i + 1]}) for i in range(x32.shape[0])]
        merged: list[Any] = []
        for k in range(len(parts[0])):
            pieces = [p[k] for p in parts]
            if isinstance(pieces[0], list):
                merged.append([item for piece in pieces for item in piece])
            else:
                merged.append(np.concatenate([np.asarray(p) for p in pieces]))
        return merged
    return session.run(None, {arg.name: x32})


def _label_mismatches(got: Any, want: Any) -> int:
    import numpy as np

    if got.shape != want.shape:
        return int(max(got.size, want.size))
    if got.dtype.kind in "OUS" or want.dtype.kind in "OUS":
        return int(np.sum(got.astype(str) != want.astype(str)))
    return int(np.sum(got != want))


def _from_zipmap(rows: list[dict[Any, float]], classes: Any) -> Any:
    import numpy as np

    if not rows:
        return None
    keys = list(classes) if classes is not None else sorted(rows[0])
    try:
        return np.asarray([[row[k] for k in keys] for row in rows], dtype=float)
    except (KeyError, TypeError, ValueError):
        return None
