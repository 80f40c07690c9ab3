"""Time to certlab's first screen, and the cost of loading the whole bank.

Run: python bench/startup.py [runs]. Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

FIRST_SCREEN = """
import asyncio, time
t0 = time.perf_counter()
from grader.settings import Settings
from tui.app import make_app
async def main():
    app = make_app(Settings(learner="bench"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        t1 = time.perf_counter()
        await app.workers.wait_for_complete()
        await pilot.pause()
        t2 = time.perf_counter()
    print(f"{t1 - t0:.4f} {t2 - t0:.4f}")
asyncio.run(main())
"""

LOAD = """
import time
t0 = time.perf_counter()
from grader.content import load_content
c = load_content()
print(f"{time.perf_counter() - t0:.4f} {len(c.questions)} {len(c.labs)}")
"""


def main(runs: int = 5) -> None:
    first, ready, load = [], [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_SCREEN], capture_output=True, text=True, check=True
        ).stdout.split()
        first.append(float(out[0]))
        ready.append(float(out[1]))
        out = subprocess.run(
            [sys.executable, "-c", LOAD], capture_output=True, text=True, check=True
        ).stdout.split()
        load.append(float(out[0]))
        questions, labs = out[1], out[2]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    python = time.perf_counter() - t0
    print(f"runs: {runs}; bare python start: {python * 1000:.0f} ms")
    print(f"first screen (imports + app + home):  median {statistics.median(first) * 1000:.0f} ms")
    print(f"bank loaded in the background worker: median {statistics.median(ready) * 1000:.0f} ms")
    print(
        f"load_content() of {questions} questions and {labs} labs, cold process: "
        f"median {statistics.median(load) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
