"""A student's session without a browser: Solara's websocket protocol, spoken plainly.

A Solara page talks to its server over one websocket carrying Jupyter kernel
messages. On load the page fetches `/` (which sets the `solara-session-id`
cookie), opens `/jupyter/api/kernels/<kernel id>/channels?session_id=<page id>`,
asks for the kernel's info, opens a `solara.control` comm and sends it `run`;
the server renders the app and sends every widget's state (`comm_open`), then
`finished`. A click is a `custom` comm message to the button's widget; the
server handles it between a `busy` and an `idle` status message, sending the
widgets the redraw changed (`update`) in between.

`Session` does exactly that, keeps every widget's state as the page's widget
manager would, and times a click from sending it to the `idle` that closes its
handling: the server's step and redraw as a browser receives them, without the
browser's own drawing.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

COOKIE = "solara-session-id"
CLICK = {"button": 0, "buttons": 0, "altKey": False, "ctrlKey": False}
"""What a click event carries here (a browser sends the whole pointer event)."""


def decode(frame: str | bytes) -> dict[str, Any]:
    """A kernel message from a websocket frame, text or Solara's binary framing.

    Binary frames start with the number of parts and their offsets (32-bit, big
    endian); the first part is the message's JSON, the rest its buffers.
    """
    if isinstance(frame, str):
        return json.loads(frame)
    count = struct.unpack("!I", frame[:4])[0]
    offsets = struct.unpack("!" + "I" * count, frame[4 : 4 * (count + 1)])
    end = offsets[1] if count > 1 else len(frame)
    return json.loads(frame[offsets[0] : end].decode("utf8"))


def session_cookie(url: str) -> str:
    """Load the page as a browser does; the session cookie it sets."""
    with urllib.request.urlopen(url, timeout=60) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == COOKIE:
                return rest.split(";", 1)[0]
    raise RuntimeError(f"{url} set no {COOKIE} cookie")


@dataclass
class Step:
    """What one click brought: its time and the widget updates that came with it."""

    seconds: float
    """From sending the click to the last message of its handling (`idle`)."""
    last_update_seconds: float
    """From sending the click to the last widget update it caused."""
    updates: list[dict[str, Any]] = field(default_factory=list)
    """Each widget update: its comm id and the state it changed."""


class Session:
    """One page's session on a Solara server, driven over its websocket."""

    def __init__(self, url: str) -> None:
        """A session on the app at `url` (http://host:port/), not yet open."""
        self.url = url
        self.kernel_id = str(uuid.uuid4())
        self.page_id = str(uuid.uuid4())
        self.widgets: dict[str, dict[str, Any]] = {}
        """Every widget's state by comm id, as the page's widget manager keeps it."""
        self.root: str | None = None
        self._ws: ClientConnection | None = None
        self._replies: dict[str, asyncio.Queue[tuple[float, dict[str, Any]]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def open(self, timeout: float = 180.0) -> None:
        """Load the page, connect, run the app and wait until it is rendered."""
        cookie = await asyncio.to_thread(session_cookie, self.url)
        ws_url = self.url.replace("http", "ws", 1).rstrip("/")
        address = (
            f"{ws_url}/jupyter/api/kernels/{self.kernel_id}/channels"
            f"?session_id={self.page_id}"
        )
        self._ws = await connect(
            address,
            additional_headers={"Cookie": f"{COOKIE}={cookie}"},
            max_size=None,
            compression=None,
        )
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._start(), timeout)

    async def _start(self) -> None:
        """The messages a page sends on load, in its order."""
        await self._request("kernel_info_request", {})
        control = str(uuid.uuid4())
        await self._send(
            "comm_open",
            {"comm_id": control, "target_name": "solara.control", "data": {}},
        )
        run = {
            "path": "/",
            "dark": False,
            "themes": {"light": {}, "dark": {}},
            "appName": None,
        }
        _, messages = await self._request(
            "comm_msg", {"comm_id": control, "data": {"method": "run", "args": run}}
        )
        for message in messages:
            data = message["content"].get("data", {})
            if data.get("method") == "finished":
                self.root = data["widget_id"]
        if self.root is None:
            raise RuntimeError("the app did not finish rendering")
        theme = self.find(lambda state: "dark_effective" in state)
        if theme is not None:  # the page tells the server its colour scheme
            await self._request(
                "comm_msg",
                {"comm_id": theme, "data": _update({"dark_effective": False})},
            )

    def find(self, match: Any) -> str | None:
        """The comm id of the first widget whose state `match(state)` accepts."""
        return next((key for key, state in self.widgets.items() if match(state)), None)

    def button(self, label: str) -> str:
        """The comm id of the button labelled `label`."""
        found = self.find(
            lambda state: (
                state.get("_model_name") == "BtnModel"
                and state.get("children") == [label]
            )
        )
        if found is None:
            raise LookupError(f"no button {label!r}")
        return found

    def text(self, css_class: str) -> str:
        """The text of the widget carrying `css_class` (as `solara.Text` draws it)."""
        found = self.find(
            lambda state: css_class in str(state.get("class_", "")).split()
        )
        if found is None:
            raise LookupError(f"no widget of class {css_class!r}")
        return "".join(
            child
            for child in self.widgets[found].get("children", [])
            if isinstance(child, str)
        )

    async def click(self, label: str) -> Step:
        """Click a button; the time to the end of its handling, and what changed."""
        content = {
            "comm_id": self.button(label),
            "data": {"method": "custom", "content": {"event": "click", "data": CLICK}},
        }
        started = time.perf_counter()
        arrivals = await self._request("comm_msg", content, timed=True)
        ended, messages = arrivals
        updates, last = [], started
        for arrived, message in messages:
            data = message["content"].get("data", {})
            if (
                message["header"]["msg_type"] == "comm_msg"
                and data.get("method") == "update"
            ):
                updates.append(
                    {"comm_id": message["content"]["comm_id"], "state": data["state"]}
                )
                last = arrived
        return Step(ended - started, last - started, updates)

    async def close(self) -> None:
        """Drop the connection, as a closed tab or a lost network does."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader

    async def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        """Send a shell message; its id."""
        assert self._ws is not None
        msg_id = str(uuid.uuid4())
        message = {
            "header": {
                "msg_id": msg_id,
                "msg_type": msg_type,
                "session": self.page_id,
                "username": "",
                "version": "5.2",
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "buffers": [],
            "channel": "shell",
        }
        self._replies[msg_id] = asyncio.Queue()
        await self._ws.send(json.dumps(message))
        return msg_id

    async def _request(
        self, msg_type: str, content: dict[str, Any], timed: bool = False
    ) -> Any:
        """Send a message and collect what the server sent in reply, up to `idle`.

        Returns the arrival time of `idle` and the replies, each with its arrival
        time when `timed`, else the replies alone.
        """
        msg_id = await self._send(msg_type, content)
        queue = self._replies[msg_id]
        replies: list[tuple[float, dict[str, Any]]] = []
        try:
            while True:
                arrived, message = await queue.get()
                if (
                    message["header"]["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"
                ):
                    break
                replies.append((arrived, message))
        finally:
            del self._replies[msg_id]
        if timed:
            return arrived, replies
        return arrived, [message for _, message in replies]

    async def _read(self) -> None:
        """Keep the widgets' state and hand each reply to the request it answers."""
        assert self._ws is not None
        async for frame in self._ws:
            arrived = time.perf_counter()
            message = decode(frame)
            msg_type = message["header"]["msg_type"]
            content = message["content"]
            if msg_type == "comm_open":
                self.widgets[content["comm_id"]] = dict(
                    content.get("data", {}).get("state", {})
                )
            elif (
                msg_type == "comm_msg"
                and content.get("data", {}).get("method") == "update"
            ):
                self.widgets.setdefault(content["comm_id"], {}).update(
                    content["data"]["state"]
                )
            elif msg_type == "comm_close":
                self.widgets.pop(content["comm_id"], None)
            queue = self._replies.get(
                message.get("parent_header", {}).get("msg_id", "")
            )
            if queue is not None:
                queue.put_nowait((arrived, message))


def _update(state: dict[str, Any]) -> dict[str, Any]:
    """A widget-state update as the widget manager sends it."""
    return {"method": "update", "state": state, "buffer_paths": []}
