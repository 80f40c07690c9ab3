"""End to end in a real browser: headless Chromium opens `certlab serve` and reaches Home.

textual-serve's page draws the app into an xterm.js canvas, so the screen's text is not in the
DOM. The page's WebSocket is wrapped before the page's own scripts run: every binary frame (the
app's terminal output) is also appended to ``window.__certlabScreen``, which the test reads
over the Chrome DevTools Protocol and strips of escape sequences. Keys go in as a person's
would, through the browser (``Input.insertText`` and ``Input.dispatchKeyEvent``).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
WAIT = 60.0  # seconds, the bound on every wait

#: runs before the page's scripts: keep a copy of every binary frame, decoded, as one string
CAPTURE_SCRIPT = """
(() => {
  const Native = window.WebSocket;
  const decoder = new TextDecoder("utf-8");
  window.__certlabScreen = "";
  window.__certlabSockets = 0;
  class Capturing extends Native {
    constructor(...args) {
      super(...args);
      window.__certlabSockets += 1;
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string") {
          const bytes = new Uint8Array(event.data);
          window.__certlabScreen += decoder.decode(bytes, {stream: true});
        }
      });
    }
  }
  window.WebSocket = Capturing;
})();
"""

ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, colours, modes
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS and other strings
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|\x1b[()][0-9A-Za-z]"  # character sets
)


def plain(text: str) -> str:
    """Terminal output without its escape sequences."""
    return ANSI.sub("", text)


def need(ok: bool, reason: str) -> None:
    """Skip when something this test needs is missing, or fail where CI requires the test."""
    if ok:
        return
    if os.environ.get("CERTLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CERTLAB_REQUIRE_BROWSER=1, but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], describe: Callable[[], str] = str) -> Any:
    """Poll ``probe`` until it returns something truthy, at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {WAIT:.0f} s\n{describe()}")
        time.sleep(0.1)


def stop(process: subprocess.Popen | None) -> None:
    """End a process started in its own session and everything it started (its group)."""
    if process is None:
        return

    def group_alive() -> bool:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        deadline = time.monotonic() + 10  # the group's other processes end after its leader
        while group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is not None and not group_alive():
            return


class DevTools:
    """A minimal Chrome DevTools Protocol client for one page."""

    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=WAIT, suppress_origin=True)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result; events that arrive meanwhile are dropped."""
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") != call_id:
                continue
            if "error" in reply:
                raise AssertionError(f"{method} failed: {reply['error']}")
            return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def press_enter(self) -> None:
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        self.call("Input.dispatchKeyEvent", type="keyDown", text="\r", **key)
        self.call("Input.dispatchKeyEvent", type="keyUp", **key)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


@contextlib.contextmanager
def certlab_server(tmp_path: Path) -> Iterator[str]:
    """`certlab serve` on a free loopback port, with its own CERTLAB_HOME; yields its URL."""
    port = free_port()
    env = {**os.environ, "CERTLAB_HOME": str(tmp_path / "server")}
    log = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}/"
    server = None
    with log.open("w") as out:
        try:
            server = subprocess.Popen(
                [sys.executable, "-m", "grader", "serve", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

            def serving() -> bool:
                assert server.poll() is None, f"certlab serve exited:\n{log.read_text()}"
                try:
                    with urllib.request.urlopen(url, timeout=5) as page:
                        return page.status == 200 and "certlab" in page.read().decode()
                except OSError:  # not listening yet (URLError, a reset, a timeout)
                    return False

            wait_for("certlab serve listening", serving, log.read_text)
            yield url
        finally:
            stop(server)
    assert "Serving certlab at" in log.read_text()


@contextlib.contextmanager
def chromium(tmp_path: Path) -> Iterator[DevTools]:
    """Headless Chromium on about:blank, driven over the DevTools Protocol."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    log = tmp_path / "chromium.log"
    browser = devtools = None
    with log.open("w") as out:
        try:
            browser = subprocess.Popen(
                [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,800",
                 f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            active = profile / "DevToolsActivePort"  # Chromium writes the port it chose here

            def debugging_port() -> int | None:
                assert browser.poll() is None, f"Chromium exited:\n{log.read_text()}"
                lines = active.read_text().split() if active.is_file() else []
                return int(lines[0]) if lines else None

            port = wait_for("Chromium's debugging port", debugging_port, log.read_text)

            def page_target() -> str | None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=5) as r:
                        targets = json.load(r)
                except OSError:  # not listening yet (URLError, a reset, a timeout)
                    return None
                pages = [t for t in targets if t.get("type") == "page"]
                return pages[0]["webSocketDebuggerUrl"] if pages else None

            devtools = DevTools(wait_for("Chromium's page", page_target, log.read_text))
            yield devtools
        finally:
            if devtools is not None:
                devtools.close()
            stop(browser)


def test_chromium_opens_certlab_serve_and_reaches_home(tmp_path: Path) -> None:
    need(Path(CHROMIUM).is_file(), "Chromium is not installed (apt-get install chromium)")
    for module in ("textual_serve", "websocket"):
        try:
            __import__(module)
        except ImportError:
            need(False, f"{module} is not installed (pip install -e '.[test]')")

    with certlab_server(tmp_path) as url, chromium(tmp_path) as page:
        page.call("Page.enable")
        page.call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE_SCRIPT)
        page.call("Page.navigate", url=url)

        def screen() -> str:
            return plain(page.evaluate("window.__certlabScreen || ''"))

        def until(text: str) -> str:
            def shown() -> str | None:
                now = screen()
                return now if text in now else None

            return wait_for(
                f"{text!r} on the served screen",
                shown,
                lambda: f"the screen so far:\n{screen()[-3000:]}",
            )

        until("Who is learning here?")
        assert page.evaluate("window.__certlabSockets") == 1  # the page's own connection
        # keys reach the app through xterm.js's input element, as a person's typing does
        page.evaluate("document.querySelector('.xterm-helper-textarea').focus(), true")
        page.call("Input.insertText", text="maria")
        until("maria")
        page.press_enter()
        shown = until("MLOps Foundation")
        assert "certification lab — maria" in shown  # Home's header, for this learner

        shot = page.call("Page.captureScreenshot", format="png")
        png = base64.b64decode(shot["data"])
        (tmp_path / "home.png").write_bytes(png)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        # the terminal really is on the page, drawn into a canvas (not as text in the DOM)
        assert page.evaluate("document.querySelectorAll('#terminal canvas').length") >= 1

    assert (tmp_path / "server" / "data" / "certlab.db").is_file()  # created before serving
