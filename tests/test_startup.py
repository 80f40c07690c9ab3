"""Fast where people wait: the first screen imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "mlflow",
    "sklearn",
    "scipy",
    "kubernetes",
    "docker",
    "pandas",
    "numpy",
    "onnxruntime",
    "onnx",
    "skl2onnx",
    "pyarrow",
]

SCRIPT = """
import asyncio, json, sys
from grader.settings import Settings
from tui.app import make_app
from tui.screens.home import HomeScreen

async def main():
    app = make_app(Settings(learner="startup"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("down", "l")  # the labs screen too
        await pilot.pause()
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
    print(json.dumps({"screen": "home", "heavy": heavy}))

HEAVY = %r
asyncio.run(main())
"""


def test_home_and_labs_screens_import_nothing_heavy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT % HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"screen": "home", "heavy": []}
