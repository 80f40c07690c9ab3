"""grader/ never imports the TUI, and heavy libraries stay out of the start-up path."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import REPO

FORBIDDEN = [
    "textual",
    "tui",
    "mlflow",
    "sklearn",
    "scipy",
    "kubernetes",
    "docker",
    "onnxruntime",
    "pandas",
    "numpy",
]

IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
import grader

imported = []
for info in pkgutil.walk_packages(grader.__path__, "grader."):
    if info.name == "grader.__main__":  # running it would run the CLI
        continue
    importlib.import_module(info.name)
    imported.append(info.name)
forbidden = json.loads(sys.argv[1])
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in forbidden
)
print(json.dumps({"imported": imported, "loaded": loaded}))
"""


def test_importing_every_grader_module_pulls_in_no_tui_and_no_heavy_library():
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, json.dumps(FORBIDDEN)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    # the walk really covered the engine, not just the top-level package
    for module in (
        "grader.cli",
        "grader.content.loader",
        "grader.exams.session",
        "grader.exams.generators.builtin",
        "grader.store.db",
    ):
        assert module in report["imported"]
    assert report["loaded"] == []


def test_python_m_grader_version_prints_certlab_and_textual_versions():
    from importlib.metadata import version

    proc = subprocess.run(
        [sys.executable, "-m", "grader", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [f"certlab {version('certlab')}", f"textual {version('textual')}"]
