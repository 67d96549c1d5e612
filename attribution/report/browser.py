"""Headless Chromium for reports: find it, and open a page over the DevTools protocol to check it.

The PDF (`report.pdf`) and the browser test both use Debian's Chromium (``apt-get install
chromium``), found as ``chromium`` on PATH or through ``ATTRIBUTION_CHROMIUM``. `open_page` loads
a local HTML file in a fresh headless profile, waits for the load event and reports what a reader
would see: the title, every image and whether it loaded, console errors, uncaught exceptions and
failed loads, and a full-page PNG screenshot.

The protocol client is a few dozen lines over `websocket-client` (already installed with Jupyter's
server, pinned in constraints.txt): one websocket to the browser, one flattened session to the page.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attribution.errors import ReportError

__all__ = [
    "HEADLESS_FLAGS",
    "BrowserMissing",
    "PageReport",
    "find_chromium",
    "open_page",
]

HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",  # containers and CI run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)
"""Flags for a quiet, offline, reproducible headless Chromium (a fresh --user-data-dir is added)."""

_INSTALL = (
    "install Debian's Chromium (sudo apt-get install -y chromium) or point ATTRIBUTION_CHROMIUM "
    "at a Chromium or Chrome executable"
)


class BrowserMissing(ReportError):
    """No Chromium to print the PDF or open a page with (the message says how to install one)."""


def find_chromium() -> str:
    """Path of the Chromium executable: ATTRIBUTION_CHROMIUM, else `chromium` on PATH."""
    configured = os.environ.get("ATTRIBUTION_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise BrowserMissing(
                f"ATTRIBUTION_CHROMIUM={configured!r} is not an executable", fix=_INSTALL
            )
        return found
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise BrowserMissing("headless Chromium was not found (no `chromium` on PATH)", fix=_INSTALL)


@dataclass(frozen=True)
class PageReport:
    """What a reader of a page would see, as values a test can assert on."""

    url: str
    title: str
    text_length: int  # characters of visible text
    images: tuple[dict[str, Any], ...]  # src (shortened), complete, natural_width, natural_height
    console_errors: tuple[str, ...]  # console.error/assert, uncaught exceptions, failed loads
    screenshot: bytes = field(repr=False)  # full-page PNG

    @property
    def broken_images(self) -> tuple[dict[str, Any], ...]:
        return tuple(i for i in self.images if not i["complete"] or i["natural_width"] <= 0)


_IMAGES_JS = """JSON.stringify({
  title: document.title,
  text_length: document.body ? document.body.innerText.length : 0,
  height: Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)),
  images: Array.from(document.images).map(i => ({
    src: i.currentSrc.length > 80 ? i.currentSrc.slice(0, 60) + '…(' + i.currentSrc.length + ' chars)' : i.currentSrc,
    complete: i.complete, natural_width: i.naturalWidth, natural_height: i.naturalHeight}))
})"""


def open_page(
    html_path: str | Path, *, width: int = 1100, height: int = 900, timeout: float = 60.0
) -> PageReport:
    """Load `html_path` in headless Chromium and report its title, images, errors and a screenshot."""
    path = Path(html_path).resolve()
    if not path.is_file():
        raise ReportError(f"{str(path)!r} does not exist", fix="render the report first")
    with _chromium(timeout=timeout) as ws_url, _Cdp(ws_url, timeout=timeout) as cdp:
        target = cdp.call("Target.createTarget", url="about:blank")["targetId"]
        session = cdp.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            cdp.call(f"{domain}.enable", session=session)
        cdp.call(
            "Emulation.setDeviceMetricsOverride",
            session=session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        cdp.events.clear()
        cdp.call("Page.navigate", session=session, url=path.as_uri())
        cdp.wait_for("Page.loadEventFired", session=session)
        state = json.loads(
            cdp.call(
                "Runtime.evaluate", session=session, expression=_IMAGES_JS, returnByValue=True
            )["result"]["value"]
        )
        full = max(height, min(int(state["height"]), 16_000))
        cdp.call(
            "Emulation.setDeviceMetricsOverride",
            session=session,
            width=width,
            height=full,
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = cdp.call("Page.captureScreenshot", session=session, format="png")["data"]
        errors = tuple(_error_text(e) for e in cdp.events if _is_error(e))
    import base64

    return PageReport(
        url=path.as_uri(),
        title=state["title"],
        text_length=int(state["text_length"]),
        images=tuple(state["images"]),
        console_errors=errors,
        screenshot=base64.b64decode(shot),
    )


def _is_error(event: dict[str, Any]) -> bool:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return True
    if method == "Runtime.consoleAPICalled":
        return params.get("type") in ("error", "assert")
    if method == "Log.entryAdded":
        return params.get("entry", {}).get("level") == "error"
    return False


def _error_text(event: dict[str, Any]) -> str:
    params = event.get("params", {})
    if event["method"] == "Runtime.exceptionThrown":
        d = params.get("exceptionDetails", {})
        return "exception: " + str(d.get("exception", {}).get("description") or d.get("text"))
    if event["method"] == "Runtime.consoleAPICalled":
        args = params.get("args", [])
        return "console.error: " + " ".join(
            str(a.get("value", a.get("description", ""))) for a in args
        )
    entry = params.get("entry", {})
    return f"{entry.get('source', 'log')}: {entry.get('text', '')} {entry.get('url', '')}".strip()


@contextlib.contextmanager
def _chromium(*, timeout: float) -> Iterator[str]:
    """Start headless Chromium with a fresh profile and a DevTools port; yield its websocket URL."""
    exe = find_chromium()
    # Chromium's helper processes may still be writing into the profile as it is removed
    with tempfile.TemporaryDirectory(
        prefix="attribution-chromium-", ignore_cleanup_errors=True
    ) as tmp:
        profile = Path(tmp) / "profile"
        cmd = [
            exe,
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        log = open(Path(tmp) / "chromium.log", "wb")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            port_file = profile / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = (Path(tmp) / "chromium.log").read_text(errors="replace")[-800:]
                    raise ReportError(
                        f"headless Chromium ({exe}) did not start (exit code {proc.poll()})",
                        fix=f"run it by hand to see why; its output ended with: {tail.strip()}",
                    )
                time.sleep(0.05)
            port, ws_path = port_file.read_text().splitlines()[:2]
            yield f"ws://127.0.0.1:{port.strip()}{ws_path.strip()}"
        finally:
            _stop(proc)
            log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End Chromium and its helper processes (its own process group, started for that)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # helpers (renderer, zygote) may outlive the browser by a moment; reap them before cleanup
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


class _Cdp:
    """A minimal synchronous DevTools-protocol client: calls wait for their reply; events queue."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url, self.timeout = url, timeout
        self.events: list[dict[str, Any]] = []
        self._next = 0

    def __enter__(self) -> _Cdp:
        try:
            import websocket
        except ImportError as exc:  # pragma: no cover - installed with jupyter_server
            raise ReportError(
                "the browser check needs the websocket-client package",
                fix="pip install websocket-client (it comes with jupyter)",
            ) from exc
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                # no Origin header: Chromium refuses websocket clients that send a foreign origin
                self._ws = websocket.create_connection(
                    self.url, timeout=self.timeout, suppress_origin=True
                )
                return self
            except (ConnectionError, websocket.WebSocketException) as exc:
                if time.monotonic() > deadline:
                    raise ReportError(
                        f"cannot connect to headless Chromium's DevTools ({exc})",
                        fix="rerun; if it persists, check that Chromium starts by hand",
                    ) from exc
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self._ws.close()

    def _receive(self) -> dict[str, Any]:
        import websocket

        try:
            return json.loads(self._ws.recv())
        except (websocket.WebSocketException, OSError) as exc:
            raise ReportError(
                f"lost the connection to headless Chromium: {exc}",
                fix="rerun; if it persists, check that Chromium starts by hand",
            ) from exc

    def call(self, method: str, *, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = self._receive()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise ReportError(
                        f"Chromium refused {method}: {reply['error'].get('message')}",
                        fix="update Chromium (the DevTools protocol of versions >= 120 is expected)",
                    )
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise ReportError(f"Chromium did not answer {method} within {self.timeout:g} s")

    def wait_for(self, method: str, *, session: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while time.monotonic() < deadline:
            event = self._receive()
            if "method" in event:
                self.events.append(event)
                if event["method"] == method and event.get("sessionId") == session:
                    return event
        raise ReportError(
            f"the page did not finish loading within {self.timeout:g} s ({method} never came)"
        )
