"""A Streamlit session without a browser: speaks the app's own WebSocket protocol (BackMsg / ForwardMsg protobufs).

It does what the browser client does for the widgets ae-lab uses: it opens a page with a rerun request, keeps every
widget's current value, and sends the full widget state with every rerun (a widget inside a fragment reruns only that
fragment). Each run is timed from the BackMsg sent to the ForwardMsg that reports the end of the script run.
Loopback only: the URL must point at this machine.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import connect

LOOPBACK = ("127.0.0.1", "localhost", "::1")
FINISHED_OK = ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")


class ProtocolError(RuntimeError):
    """The server closed the connection, timed out, or answered something a browser would not accept."""


@dataclass
class Run:
    """What one script run sent back."""

    seconds: float  # from the BackMsg to the end-of-run ForwardMsg
    status: str  # the ScriptFinishedStatus name
    exceptions: list[str] = field(default_factory=list)  # error boxes (st.exception or an uncaught error)
    errors: list[str] = field(default_factory=list)  # st.error alerts
    elements: int = 0
    nbytes: int = 0  # bytes of ForwardMsgs received

    @property
    def ok(self) -> bool:
        return self.status in FINISHED_OK and not self.exceptions


@dataclass
class _Widget:
    id: str
    kind: str  # the Element oneof name: slider, selectbox, ...
    field: str  # the WidgetState value field
    value: object
    proto: object
    fragment_id: str


def _initial(kind: str, p) -> tuple[str, object] | None:
    """(WidgetState field, value) for a widget as drawn, like the browser's first value for it."""
    if kind == "slider":
        if len(p.options):  # select_slider: option strings
            return "string_array_value", list(p.raw_value) if p.set_value else [p.options[int(i)] for i in p.default]
        return "double_array_value", list(p.value) if p.set_value else list(p.default)
    if kind in ("selectbox", "radio"):
        if p.set_value:
            return "string_value", p.raw_value
        return ("string_value", p.options[p.default]) if p.HasField("default") and len(p.options) else None
    if kind == "multiselect":
        return "string_array_value", list(p.raw_values) if p.set_value else [p.options[int(i)] for i in p.default]
    if kind == "checkbox":
        return "bool_value", p.value if p.set_value else p.default
    if kind == "number_input":
        if p.set_value:
            return "double_value", p.value
        return ("double_value", p.default) if p.HasField("default") else None
    if kind == "text_input":
        return "string_value", p.value if p.set_value else p.default
    return None  # buttons send a trigger only when clicked; uploads only once a file is sent


class Session:
    """One browser tab's worth of Streamlit session, over one WebSocket."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None, timeout: float = 120.0) -> None:
        host = urllib.parse.urlsplit(url).hostname
        if host not in LOOPBACK:
            raise ValueError(f"only loopback servers may be driven, not {host!r}")
        self.url, self.timeout = url.rstrip("/"), timeout
        self.cookies = dict(cookies or {})
        self.widgets: dict[str, _Widget] = {}
        self.buttons: dict[str, tuple[str, str]] = {}  # label -> (widget id, fragment id)
        self.elements: dict[tuple, object] = {}  # delta path -> Element, as now on the page
        self.page_hash = ""
        self.page_name = ""
        self.query = ""
        self.session_id: str | None = None
        self.ws = None

    # --- connection ---------------------------------------------------------------------------------------------
    def connect(self) -> None:
        """Like a browser: fetch the health endpoint first (it sets the XSRF cookie, and a sticky proxy its route
        cookie), then open the WebSocket with the cookies."""
        self._xsrf_cookie()
        ws_url = "ws" + self.url[len("http") :] + "/_stcore/stream"
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else None
        self._conn = connect(
            ws_url,
            subprotocols=["streamlit"],
            additional_headers=headers,
            max_size=None,
            open_timeout=self.timeout,
            compression=None,
        )
        self.ws = self._conn.__enter__()  # the client wants to be entered like a context manager

    def close(self) -> None:
        if self.ws is not None:
            self._conn.__exit__(None, None, None)
            self.ws = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what a user does -----------------------------------------------------------------------------------------
    def open(self, page: str = "", query: str = "") -> Run:
        """Load a page (its URL path, '' for the default page) like a browser opening the address."""
        if self.ws is None:
            self.connect()
        self.page_name, self.page_hash, self.query = page, "", query
        self.widgets.clear()
        self.elements.clear()
        return self._rerun()

    def switch_page(self, page: str) -> Run:
        self.page_name, self.page_hash = page, ""
        return self._rerun()

    def widget(self, key: str) -> _Widget:
        """The widget whose user key is `key` (Streamlit ends a keyed widget's id with '-<key>')."""
        for w in self.widgets.values():
            if w.id.endswith(f"-{key}"):
                return w
        raise KeyError(f"no widget with key {key!r} on the page; have {sorted(self.keys())}")

    def keys(self) -> list[str]:
        return [w.id.rsplit("-", 1)[-1] for w in self.widgets.values()]

    def set(self, key: str, value) -> Run:
        """Change a widget's value as a user would, and rerun (the widget's fragment only, if it is in one)."""
        w = self.widget(key)
        if w.field == "double_array_value" and not isinstance(value, list | tuple):
            value = [float(value)]
        elif w.field == "string_array_value" and isinstance(value, str):
            value = [value]
        elif w.field == "double_value":
            value = float(value)
        elif w.field == "string_value":
            value = str(value)
        w.value = value
        return self._rerun(fragment_id=w.fragment_id)

    def set_component(self, key: str, state: dict) -> Run:
        """Send a custom component's state as its frontend would (any JSON: a script need not use the page)."""
        w = self.widget(key)
        w.value = json.dumps(state)
        return self._rerun(fragment_id=w.fragment_id)

    def click(self, label: str) -> Run:
        """Press the button with this label."""
        if label not in self.buttons:
            raise KeyError(f"no button labelled {label!r}; have {sorted(self.buttons)}")
        wid, fragment_id = self.buttons[label]
        return self._rerun(trigger=wid, fragment_id=fragment_id)

    def rerun(self, fragment_id: str = "") -> Run:
        return self._rerun(fragment_id=fragment_id)

    # --- what the page shows ----------------------------------------------------------------------------------------
    def of_kind(self, kind: str) -> list:
        return [getattr(el, kind) for _, el in sorted(self.elements.items()) if el.WhichOneof("type") == kind]

    def html(self, contains: str = "") -> list[str]:
        return [h.body for h in self.of_kind("html") if contains in h.body]

    def texts(self) -> list[str]:
        """Markdown, headings, alerts and progress texts, in page order."""
        out = []
        for _, el in sorted(self.elements.items()):
            kind = el.WhichOneof("type")
            if kind in ("markdown", "alert", "heading", "progress", "text"):
                p = getattr(el, kind)
                out.append(getattr(p, "body", "") or getattr(p, "text", ""))
        return out

    # --- uploads ------------------------------------------------------------------------------------------------------
    def upload(self, key: str, files: list[tuple[str, bytes, str]]) -> Run:
        """Send files to a file_uploader the way the browser does: ask for upload URLs, PUT each file, then rerun with
        the uploader's state. files: (name, content, mime type)."""
        w = self.widget(key)
        req = BackMsg()
        req.file_urls_request.request_id = f"r{time.monotonic_ns()}"
        req.file_urls_request.session_id = self.session_id or ""
        req.file_urls_request.file_names.extend(name for name, _, _ in files)
        self.ws.send(req.SerializeToString())
        urls = None
        deadline = time.monotonic() + self.timeout
        while urls is None:
            msg, _ = self._recv(deadline)
            if msg.WhichOneof("type") == "file_urls_response":
                urls = list(msg.file_urls_response.file_urls)
        xsrf = self._xsrf_cookie()
        state = w.proto  # the FileUploader proto, for max size
        info = []
        for (name, content, mime), u in zip(files, urls, strict=True):
            self._put(u.upload_url, name, content, mime, xsrf)
            info.append({"file_id": u.file_id, "name": name, "size": len(content), "urls": u})
        w.field, w.value = "file_uploader_state_value", (state.max_upload_size_mb * 1024 * 1024, info)
        return self._rerun(fragment_id=w.fragment_id)

    def _xsrf_cookie(self) -> str | None:
        if "_streamlit_xsrf" not in self.cookies:
            with urllib.request.urlopen(self.url + "/_stcore/health", timeout=self.timeout) as r:
                for header in r.headers.get_all("Set-Cookie") or []:
                    name, _, rest = header.partition("=")
                    self.cookies.setdefault(name.strip(), rest.split(";", 1)[0])
        return self.cookies.get("_streamlit_xsrf")

    def _put(self, upload_url: str, name: str, content: bytes, mime: str, xsrf: str | None) -> None:
        boundary = f"----aelab{time.monotonic_ns()}"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: {mime}\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        url = upload_url if upload_url.startswith("http") else self.url + upload_url
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if xsrf:
            headers["X-Xsrftoken"] = xsrf
        if self.cookies:  # all of them, as a browser sends: the route cookie keeps the upload on the session's replica
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        r = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        with urllib.request.urlopen(r, timeout=self.timeout) as resp:
            if resp.status >= 300:
                raise ProtocolError(f"upload refused: HTTP {resp.status}")

    # --- the protocol -------------------------------------------------------------------------------------------------
    def _state(self, msg: BackMsg, trigger: str | None) -> None:
        states = msg.rerun_script.widget_states.widgets
        for w in self.widgets.values():
            if w.value is None:  # a component nobody has sent a value for yet
                continue
            s = WidgetState(id=w.id)
            if w.field == "double_array_value":
                s.double_array_value.data.extend(w.value)
            elif w.field == "string_array_value":
                s.string_array_value.data.extend(w.value)
            elif w.field == "file_uploader_state_value":
                _, info = w.value
                for f in info:
                    ufi = s.file_uploader_state_value.uploaded_file_info.add()
                    ufi.file_id, ufi.name, ufi.size = f["file_id"], f["name"], f["size"]
                    ufi.file_urls.CopyFrom(f["urls"])
            else:
                setattr(s, w.field, w.value)
            states.append(s)
        if trigger:
            states.append(WidgetState(id=trigger, trigger_value=True))

    def _rerun(self, fragment_id: str = "", trigger: str | None = None) -> Run:
        if self.ws is None:
            self.connect()
        msg = BackMsg()
        rs = msg.rerun_script
        rs.query_string = self.query
        rs.page_script_hash = self.page_hash
        rs.page_name = self.page_name
        if fragment_id:
            rs.fragment_id = fragment_id
        self._state(msg, trigger)
        t0 = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        return self._collect(t0, fragment_id)

    def _recv(self, deadline: float) -> tuple[ForwardMsg, int]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtocolError("timed out waiting for the server")
        try:
            raw = self.ws.recv(timeout=left)
        except TimeoutError:
            raise ProtocolError("timed out waiting for the server") from None
        except Exception as e:  # noqa: BLE001 - any transport failure is a disconnect to the caller
            raise ProtocolError(f"disconnected: {type(e).__name__}: {e}") from None
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        return msg, len(raw)

    def _collect(self, t0: float, fragment_id: str) -> Run:
        deadline = time.monotonic() + self.timeout
        run = Run(0.0, "")
        touched: set[tuple] = set()
        seen_widgets: set[str] = set()
        while True:
            msg, n = self._recv(deadline)
            run.nbytes += n
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                ns = msg.new_session
                self.page_hash = ns.page_script_hash or self.page_hash
                if ns.initialize.session_id:
                    self.session_id = ns.initialize.session_id
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "navigation":
                self.page_hash = msg.navigation.page_script_hash or self.page_hash
            elif kind == "delta":
                path = tuple(msg.metadata.delta_path)
                touched.add(path)
                d = msg.delta
                if d.WhichOneof("type") == "new_element":
                    el = d.new_element
                    self.elements[path] = el
                    run.elements += 1
                    self._see(el, d.fragment_id, seen_widgets, run)
                elif d.WhichOneof("type") == "add_block":
                    self.elements.pop(path, None)
            elif kind == "script_finished":
                run.status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                if run.status == "FINISHED_EARLY_FOR_RERUN":
                    continue  # a rerun the script asked for (st.rerun) follows at once
                run.seconds = time.perf_counter() - t0
                if not fragment_id and run.status == "FINISHED_SUCCESSFULLY":
                    # The browser forgets what the run did not draw: stale elements and widgets go.
                    self.elements = {p: e for p, e in self.elements.items() if p in touched}
                    self.widgets = {i: w for i, w in self.widgets.items() if i in seen_widgets}
                    self.buttons = {k: v for k, v in self.buttons.items() if v[0] in seen_widgets}
                elif run.status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY":
                    # So does it after a fragment run, for the widgets of the fragments that ran (the one asked
                    # for and any nested in it): one they did not draw this time is no longer sent.
                    ran = {fragment_id} | {self.widgets[i].fragment_id for i in seen_widgets if i in self.widgets}
                    self.widgets = {
                        i: w for i, w in self.widgets.items() if i in seen_widgets or w.fragment_id not in ran
                    }
                    self.buttons = {k: v for k, v in self.buttons.items() if v[0] in seen_widgets or v[1] not in ran}
                return run
            elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
                run.exceptions.append(msg.session_event.script_compilation_exception.message)

    def _see(self, el, fragment_id: str, seen: set[str], run: Run) -> None:
        kind = el.WhichOneof("type")
        if kind == "exception":
            run.exceptions.append(el.exception.message or el.exception.type or "error")
            return
        if kind == "alert" and el.alert.format == el.alert.ERROR:
            run.errors.append(el.alert.body)
        p = getattr(el, kind, None)
        wid = getattr(p, "id", "") if p is not None else ""
        if not wid or not wid.startswith("$$ID"):
            return
        seen.add(wid)
        known = self.widgets.get(wid)
        first = _initial(kind, p)
        if kind == "file_uploader":
            if known is None:
                self.widgets[wid] = _Widget(wid, kind, "file_uploader_state_value", (0, []), p, fragment_id)
            else:
                known.proto, known.fragment_id = p, fragment_id
            return
        if kind == "button":
            self.buttons[p.label] = (wid, fragment_id)  # a click reruns the button's fragment
            return
        if kind == "bidi_component":  # a custom component (the drawing canvas): no value until one is sent
            if known is None:
                self.widgets[wid] = _Widget(wid, kind, "json_value", None, p, fragment_id)
            else:
                known.proto, known.fragment_id = p, fragment_id
            return
        if first is None:
            return
        if known is None or getattr(p, "set_value", False):
            self.widgets[wid] = _Widget(wid, kind, first[0], first[1], p, fragment_id)
        else:
            known.proto, known.fragment_id = p, fragment_id


def describe(run: Run) -> str:
    return json.dumps({"s": round(run.seconds, 3), "status": run.status, "exceptions": run.exceptions[:2]})
