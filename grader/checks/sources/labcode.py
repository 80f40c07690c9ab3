"""Load a function from a lab's own Python (``checks.py:name``) and call it safely.

The lab's file is loaded by path under a unique module name (never on ``sys.path``), and kept
while the file is unchanged, so several checks of one run share one import. Any failure of the
lab's code becomes a :class:`SourceError` naming the function: a lab bug never crashes the
grader.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.checks.sources.base import NotGradable, SourceContext, SourceError

_lock = threading.Lock()
_modules: dict[Path, tuple[tuple[int, int], ModuleType]] = {}


def split_ref(ref: Any) -> tuple[str, str]:
    """``"checks.py:setup"`` → ``("checks.py", "setup")``; a bare name means ``checks.py``."""
    if not isinstance(ref, str) or not ref.strip():
        raise SourceError(f"invalid lab function reference {ref!r}: expected 'checks.py:name'")
    file, sep, name = ref.strip().rpartition(":")
    if not sep:
        file, name = "checks.py", ref.strip()
    if not name.isidentifier() or not file.endswith(".py"):
        raise SourceError(f"invalid lab function reference {ref!r}: expected 'checks.py:name'")
    return file, name


def load_module(file: str, lab_dir: Path) -> ModuleType:
    """The lab's Python file ``file`` (relative to ``lab_dir``), imported once per version."""
    lab_dir = lab_dir.resolve()
    path = (lab_dir / file).resolve()
    if not path.is_relative_to(lab_dir):
        raise SourceError(f"lab code {file} must be inside the lab folder")
    try:
        stat = path.stat()
    except OSError:
        raise SourceError(f"this lab has no {file} (looked in {lab_dir})") from None
    if not path.is_file():
        raise SourceError(f"lab code {file} is not a file")
    version = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _modules.get(path)
        if cached and cached[0] == version:
            return cached[1]
        digest = hashlib.sha1(f"{path}:{version}".encode()).hexdigest()[:12]
        name = f"_certlab_lab_{path.parent.name.replace('-', '_')}_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise SourceError(f"cannot load lab code {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # a lab bug, including SystemExit, must not escape
            sys.modules.pop(name, None)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise SourceError(
                f"the lab's {file} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        if cached:
            sys.modules.pop(cached[1].__name__, None)
        _modules[path] = (version, module)
        return module


def load_function(lab_dir: Path, ref: Any) -> Callable[..., Any]:
    """The function ``checks.py:name`` of the lab in ``lab_dir``; SourceError when absent."""
    return _lookup(ref, lab_dir)[1]


def _lookup(ref: Any, lab_dir: Path) -> tuple[str, Callable[..., Any]]:
    file, name = split_ref(ref)
    module = load_module(file, lab_dir)
    fn = getattr(module, name, None)
    if fn is None:
        raise SourceError(f"the lab's {file} has no function {name!r}")
    if not callable(fn):
        raise SourceError(f"{file}:{name} is not a function")
    return f"{file}:{name}", fn


def call_lab_function(ref: Any, ctx: SourceContext, *args: Any, **kwargs: Any) -> Any:
    """Call the lab function ``ref`` as ``fn(ctx, *args, **kwargs)``.

    SourceError and NotGradable raised by the function pass through; every other exception
    becomes a SourceError naming the function and the exception.
    """
    label, fn = _lookup(ref, ctx.lab_dir)
    try:
        return fn(ctx, *args, **kwargs)
    except (SourceError, NotGradable):
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit from a lab's code is a bug too
        detail = str(exc) or "(no message)"
        raise SourceError(
            f"the lab function {label} failed: {type(exc).__name__}: {detail}"
        ) from exc
