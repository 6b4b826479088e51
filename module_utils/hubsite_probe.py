"""hubsite_probe: act like a real user against a JupyterHub site, with the Python standard library only.

The probe logs in through the hub's login form (or reuses a saved session), makes sure the user's
server runs, completes the single-user server's OAuth dance with the hub, starts (or reuses) a kernel,
runs code over the kernel websocket (RFC 6455 client, Jupyter's default JSON message protocol),
writes and reads a file with the contents API, and can stop the server at the end.

No Ansible import here: ``library/hubsite_probe.py`` wraps it as a module, and bench scripts can load
this file by path (``importlib.util.spec_from_file_location``) or run it as a small CLI
(``python3 module_utils/hubsite_probe.py --help``).

Protocol notes (JupyterHub 6.1, jupyter_server 2.x):

* ``GET hub/login`` sets an anonymous ``_xsrf`` cookie (path ``<base>hub/``) and puts the same token in
  the form; ``POST hub/login`` answers 302 with ``jupyterhub-hub-login``, ``jupyterhub-session-id`` and a
  fresh, logged-in ``_xsrf`` cookie, or re-renders the form with HTTP 403 for bad credentials.
  The redirect after login is not followed: it may point at ``hub/spawn``, which would start the server.
* Cookie-authenticated requests that change state (POST, PUT, DELETE) must carry ``X-XSRFToken`` equal
  to the ``_xsrf`` cookie of that path: the hub's on ``<base>hub/``, the single-user server's on
  ``<base>user/<name>/`` (set by its ``oauth_callback``). The anonymous xsrf token is tied to the client
  address and User-Agent, so one probe keeps one User-Agent.
* A single-user server only knows the user after its own OAuth with the hub: a page (not API) request
  without its cookie redirects to ``hub/api/oauth2/authorize``, which redirects (the user owns the
  server, so there is no consent page) to ``user/<name>/oauth_callback``, which sets the server's cookie.
* The kernel websocket is cookie-authenticated; jupyter_server compares the ``Origin`` header with the
  ``Host`` header it receives, so a front proxy must pass ``Host`` with the port (``$http_host``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import hashlib
import html
import http.client
import http.cookiejar
import json
import os
import re
import socket
import ssl
import struct
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

__all__ = [
    "USER_AGENT",
    "HttpClient",
    "HttpResponse",
    "Probe",
    "ProbeError",
    "WebSocket",
    "WebSocketClosed",
    "execute_code",
    "parse_resolve",
]

USER_AGENT = "hubsite-probe/1.0 (Python http.client)"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
JUPYTER_PROTOCOL_VERSION = "5.3"
MAX_REDIRECTS = 10
MAX_WS_MESSAGE = 64 * 1024 * 1024
# Browsers send Sec-Fetch-Mode; JupyterHub sets _xsrf cookies on "navigate" requests only, checks the
# X-XSRFToken of "cors" API requests (GETs included) and logs a warning for requests without the header.
NAVIGATE = {"Sec-Fetch-Mode": "navigate"}


# form: the hub's own login form (PAM, Kerberos passwords); oidc: the hub's "Sign in with" button, the OpenID
# Connect provider's login form, and the redirects back to the hub (authorization code flow); spnego: Kerberos
# single sign-on, the login page's 401 answered with a SPNEGO token (made by the probe's ``negotiate``).
LOGIN_METHODS = ("form", "oidc", "spnego")


def gssapi_negotiate(hostname):
    """A SPNEGO token for HTTP@hostname from the default credential cache, delegating the ticket (python-gssapi)."""
    import gssapi  # only for login_method spnego

    service = gssapi.Name(f"HTTP@{hostname}", gssapi.NameType.hostbased_service)
    flags = [gssapi.RequirementFlag.delegate_to_peer, gssapi.RequirementFlag.out_of_sequence_detection]
    context = gssapi.SecurityContext(name=service, usage="initiate", flags=flags, mech=gssapi.MechType.kerberos)
    return base64.b64encode(context.step()).decode()


class ProbeError(Exception):
    """A failed probe step; ``msg`` is one line for an ops person, without secrets."""

    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.msg = msg
        self.extra = extra
        self.steps = []
        self.result = {}


class WebSocketClosed(Exception):
    """The server closed the websocket (or the connection dropped)."""

    def __init__(self, code, reason=""):
        super().__init__(f"close code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


def _now():
    return time.monotonic()


def _origin(scheme, host, port):
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + ("" if port == default else f":{port}")


def _host_header(scheme, host, port):
    return _origin(scheme, host, port).split("://", 1)[1]


def _split_url(url):
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ProbeError(f"unsupported URL scheme in {url!r}: use http:// or https://")
    if not parts.hostname:
        raise ProbeError(f"no host name in URL {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return scheme, parts.hostname.lower(), port, target


def _public(url):
    """URL without query and fragment, for messages (OAuth codes and states stay out of them)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def parse_resolve(resolve):
    """Normalise ``{"host[:port]": "ip[:port]"}`` to ``{"host" or "host:port": (ip, port or None)}``."""
    out = {}
    for key, value in (resolve or {}).items():
        key = str(key).strip().lower()
        value = str(value).strip()
        if not key or not value:
            raise ProbeError(f"resolve entry {key!r}: {value!r} must map a host name to 'ip[:port]'")
        port = None
        if value.startswith("["):
            addr, _, rest = value[1:].partition("]")
            if rest.startswith(":"):
                port = rest[1:]
        elif value.count(":") == 1:
            addr, port = value.split(":")
        else:
            addr = value
        if port is not None:
            try:
                port = int(port)
            except ValueError:
                raise ProbeError(f"resolve entry {key!r}: bad port in {value!r}") from None
            if not 0 < port < 65536:
                raise ProbeError(f"resolve entry {key!r}: bad port in {value!r}")
        out[key] = (addr, port)
    return out


class HttpResponse:
    """A complete response (the body is read)."""

    def __init__(self, method, url, status, reason, headers, body):
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ProbeError(
                f"{self.method} {_public(self.url)} answered HTTP {self.status} without JSON "
                f"(starts with {self.text[:80]!r}): is this the JupyterHub site?"
            ) from None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def error_message(self):
        """Short reason from a JupyterHub/jupyter_server error body, or the start of the body."""
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if isinstance(data, dict):
            for key in ("message", "reason", "error"):
                if data.get(key):
                    return str(data[key])[:300]
        text = re.sub(r"<[^>]*>", " ", self.text)
        text = re.sub(r"\s+", " ", text).strip()
        return text[:200]

    def describe(self):
        msg = self.error_message()
        return f"HTTP {self.status}" + (f": {msg}" if msg else "")


class _MappedHTTPConnection(http.client.HTTPConnection):
    """HTTPConnection whose socket comes from an opener (resolve mapping, TLS with the original SNI)."""

    def __init__(self, host, port, opener, timeout):
        super().__init__(host, port, timeout=timeout)
        self._opener = opener

    def connect(self):
        self.sock = self._opener()


class _MappedHTTPSConnection(_MappedHTTPConnection):
    default_port = http.client.HTTPS_PORT


class HttpClient:
    """Tiny browser: keep-alive connections, a cookie jar, no automatic redirects.

    ``resolve`` works like ``curl --resolve``: the TCP connection goes to the mapped address while the
    ``Host`` header, TLS SNI and certificate check keep the name from the URL.
    """

    def __init__(
        self,
        *,
        validate_certs=True,
        ca_path=None,
        resolve=None,
        timeout=30.0,
        cookie_jar=None,
        user_agent=USER_AGENT,
    ):
        self.timeout = timeout
        self.user_agent = user_agent
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.resolve = parse_resolve(resolve)
        self.jar = cookie_jar if cookie_jar is not None else http.cookiejar.LWPCookieJar()
        self._conns = {}
        self._ssl_context = None

    # -- connections -------------------------------------------------------------------------------

    @property
    def ssl_context(self):
        if self._ssl_context is None:
            ctx = ssl.create_default_context()
            if self.validate_certs:
                if self.ca_path:
                    try:
                        if os.path.isdir(self.ca_path):
                            ctx.load_verify_locations(capath=self.ca_path)
                        else:
                            ctx.load_verify_locations(cafile=self.ca_path)
                    except (OSError, ssl.SSLError) as exc:
                        raise ProbeError(f"cannot load CA bundle ca_path={self.ca_path}: {exc}") from None
            else:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl_context = ctx
        return self._ssl_context

    def mapped_address(self, host, port):
        """(address, port) the resolve option sends host:port to, or None."""
        entry = self.resolve.get(f"{host}:{port}") or self.resolve.get(host)
        if entry is None:
            return None
        addr, mapped_port = entry
        return addr, mapped_port or port

    def _via(self, host, port):
        mapped = self.mapped_address(host, port)
        if mapped is None:
            return ""
        addr = f"[{mapped[0]}]" if ":" in mapped[0] else mapped[0]
        return f" (connecting to {addr}:{mapped[1]} as set by resolve)"

    def open_socket(self, scheme, host, port):
        """Connected socket (TLS-wrapped for https) with clear error messages."""
        origin = _origin(scheme, host, port)
        via = self._via(host, port)
        address = self.mapped_address(host, port) or (host, port)
        try:
            sock = socket.create_connection(address, timeout=self.timeout)
        except socket.gaierror as exc:
            raise ProbeError(
                f"cannot connect to {origin}{via}: cannot resolve {address[0]} ({exc.strerror or exc}); "
                f"map it with resolve: {{'{host}': 'ip[:port]'}}"
            ) from None
        except TimeoutError:
            raise ProbeError(f"cannot connect to {origin}{via}: timed out after {self.timeout:g} s") from None
        except OSError as exc:
            raise ProbeError(f"cannot connect to {origin}{via}: {exc.strerror or exc}") from None
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme != "https":
            return sock
        try:
            return self.ssl_context.wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            reason = (exc.verify_message or exc.reason or str(exc)).rstrip(".")
            if "mismatch" in reason or "hostname" in reason.lower():
                hint = (
                    f"; the certificate does not name {host}: use the site's own name in url "
                    "(with resolve to reach it at another address)"
                )
            elif self.ca_path:
                hint = f"; set ca_path to the CA bundle that signed the site certificate (now {self.ca_path})"
            else:
                hint = "; set ca_path to the CA bundle that signed the site certificate (or validate_certs: false)"
            raise ProbeError(f"TLS certificate verification failed for {origin}{via}: {reason}{hint}") from None
        except ssl.SSLError as exc:
            sock.close()
            raise ProbeError(f"TLS handshake with {origin}{via} failed: {exc.reason or exc}") from None
        except TimeoutError:
            sock.close()
            raise ProbeError(f"TLS handshake with {origin}{via} timed out after {self.timeout:g} s") from None
        except OSError as exc:
            sock.close()
            raise ProbeError(f"TLS handshake with {origin}{via} failed: {exc.strerror or exc}") from None

    def _connection(self, scheme, host, port):
        key = (scheme, host, port)
        conn = self._conns.get(key)
        if conn is not None and conn.sock is not None:
            return conn, False
        cls = _MappedHTTPSConnection if scheme == "https" else _MappedHTTPConnection
        conn = cls(host, port, lambda: self.open_socket(scheme, host, port), self.timeout)
        conn.connect()
        self._conns[key] = conn
        return conn, True

    def close(self):
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    # -- cookies -----------------------------------------------------------------------------------

    def cookie_header(self, url):
        req = urllib.request.Request(url)
        self.jar.add_cookie_header(req)
        return req.get_header("Cookie")

    def cookie_value(self, name, url):
        """Value of the cookie ``name`` the jar would send to ``url`` (the most specific path wins)."""
        header = self.cookie_header(url) or ""
        for chunk in header.split(";"):
            key, _, value = chunk.strip().partition("=")
            if key == name:
                return value
        return None

    # -- requests ----------------------------------------------------------------------------------

    def request(self, method, url, *, body=None, headers=None, json_body=None, form=None):
        """One request, no redirect following; cookies go out and come back through the jar."""
        scheme, host, port, target = _split_url(url)
        hdrs = {"User-Agent": self.user_agent, "Accept": "*/*"}
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode("utf-8")
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        cookie = self.cookie_header(url)
        if cookie:
            hdrs["Cookie"] = cookie
        origin = _origin(scheme, host, port)
        for attempt in (0, 1):
            conn, fresh = self._connection(scheme, host, port)
            try:
                conn.request(method, target, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                self._conns.pop((scheme, host, port), None)
                if not fresh and attempt == 0:
                    continue  # a kept-alive connection the server had closed: once more on a new one
                raise ProbeError(
                    f"{origin}{self._via(host, port)} dropped the connection during {method} {_public(url)}: {exc}"
                ) from None
            except TimeoutError:
                conn.close()
                self._conns.pop((scheme, host, port), None)
                raise ProbeError(
                    f"no answer from {origin}{self._via(host, port)} to {method} {_public(url)} "
                    f"within {self.timeout:g} s"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._conns.pop((scheme, host, port), None)
                raise ProbeError(f"{method} {_public(url)} failed: {exc}") from None
            break
        if resp.will_close:
            conn.close()
            self._conns.pop((scheme, host, port), None)
        self.jar.extract_cookies(resp, urllib.request.Request(url, method=method))
        return HttpResponse(method, url, resp.status, resp.reason, resp.headers, data)

    def navigate(self, url, *, max_redirects=MAX_REDIRECTS, headers=None):
        """GET following redirects by hand (cookies kept). Returns (last response, list of URLs visited)."""
        chain = [url]
        resp = self.request("GET", url, headers=headers)
        while resp.status in (301, 302, 303, 307, 308) and resp.header("Location"):
            if len(chain) > max_redirects:
                raise ProbeError(f"too many redirects starting at {_public(chain[0])}: {' -> '.join(_paths(chain))}")
            url = urllib.parse.urljoin(url, resp.header("Location"))
            chain.append(url)
            resp = self.request("GET", url, headers=headers)
        return resp, chain


def _paths(urls):
    return [urllib.parse.urlsplit(u).path for u in urls]


# -- websocket (RFC 6455 client) -------------------------------------------------------------------


def _mask(key, data):
    n = len(data)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


class WebSocket:
    """Minimal RFC 6455 client over an already connected (TLS) socket."""

    OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

    def __init__(self, sock):
        self.sock = sock
        self._buf = bytearray()
        self.closed = False
        self.pings = 0

    @classmethod
    def connect(cls, client, url, headers=None, timeout=30.0):
        """Open ``url`` (http(s) or ws(s)) as a websocket through ``client`` (its resolve, TLS and cookies)."""
        http_url = re.sub(r"^ws", "http", url, count=1)
        scheme, host, port, target = _split_url(http_url)
        sock = client.open_socket(scheme, host, port)
        ws = cls(sock)
        try:
            ws._handshake(client, http_url, scheme, host, port, target, headers or {}, _now() + timeout)
        except BaseException:
            sock.close()
            raise
        return ws

    def _handshake(self, client, url, scheme, host, port, target, headers, deadline):
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        hdrs = {
            "Host": _host_header(scheme, host, port),
            "User-Agent": client.user_agent,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
            "Origin": _origin(scheme, host, port),
        }
        cookie = client.cookie_header(url)
        if cookie:
            hdrs["Cookie"] = cookie
        hdrs.update(headers)
        lines = [f"GET {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in hdrs.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            while b"\r\n\r\n" not in self._buf:
                if len(self._buf) > 65536:
                    raise ProbeError(f"websocket {_public(url)}: response headers too long")
                self._fill(deadline)
        except WebSocketClosed:
            raise ProbeError(f"websocket {_public(url)}: connection closed during the handshake") from None
        except TimeoutError:
            raise ProbeError(f"websocket {_public(url)}: no handshake answer in time") from None
        head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
        self._buf = bytearray(rest)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        resp_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            resp_headers[name.strip().lower()] = value.strip()
        if status != 101:
            length = int(resp_headers.get("content-length", "0") or 0)
            with contextlib.suppress(WebSocketClosed, TimeoutError, OSError):
                while len(self._buf) < min(length, 4096):
                    self._fill(min(deadline, _now() + 2))
            body = bytes(self._buf[: min(length, 4096)])
            detail = HttpResponse("GET", url, status, "", {}, body).error_message()
            hint = ""
            if status == 403:
                hint = (
                    f" (check that the front proxy passes the Host header with its port: "
                    f"Origin {hdrs['Origin']} must match the Host the server sees)"
                )
            raise ProbeError(
                f"websocket {_public(url)} refused: HTTP {status}" + (f": {detail}" if detail else "") + hint,
                http_status=status,
            )
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode("ascii")
        if resp_headers.get("upgrade", "").lower() != "websocket":
            raise ProbeError(f"websocket {_public(url)}: 101 answer without 'Upgrade: websocket'")
        if resp_headers.get("sec-websocket-accept") != accept:
            raise ProbeError(f"websocket {_public(url)}: bad Sec-WebSocket-Accept in the handshake answer")

    def _fill(self, deadline):
        remaining = deadline - _now()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise
        except OSError as exc:
            self.closed = True
            raise WebSocketClosed(1006, f"connection lost: {exc}") from None
        if not chunk:
            self.closed = True
            raise WebSocketClosed(1006, "connection closed without a close frame")
        self._buf.extend(chunk)

    def _recv_exact(self, n, deadline):
        while len(self._buf) < n:
            self._fill(deadline)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def recv_frame(self, deadline):
        b0, b1 = self._recv_exact(2, deadline)
        fin, rsv, opcode = bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F
        masked, length = bool(b1 & 0x80), b1 & 0x7F
        if rsv:
            raise ProbeError("websocket protocol error: reserved bits set (no extension was negotiated)")
        if length == 126:
            (length,) = struct.unpack("!H", self._recv_exact(2, deadline))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._recv_exact(8, deadline))
        if length > MAX_WS_MESSAGE:
            raise ProbeError(f"websocket frame of {length} bytes is too large")
        key = self._recv_exact(4, deadline) if masked else None
        payload = self._recv_exact(length, deadline)
        if key:
            payload = _mask(key, payload)
        return fin, opcode, payload

    def recv_message(self, deadline):
        """Next complete data message as (opcode, bytes); answers pings, raises WebSocketClosed on close."""
        message_opcode, parts, size = None, [], 0
        while True:
            fin, opcode, payload = self.recv_frame(deadline)
            if opcode == self.OP_PING:
                self.pings += 1
                with contextlib.suppress(WebSocketClosed):  # a close frame may already be on its way
                    self.send_frame(self.OP_PONG, payload)
                continue
            if opcode == self.OP_PONG:
                continue
            if opcode == self.OP_CLOSE:
                code, reason = 1005, ""
                if len(payload) >= 2:
                    (code,) = struct.unpack("!H", payload[:2])
                    reason = payload[2:].decode("utf-8", "replace")
                if not self.closed:
                    with contextlib.suppress(WebSocketClosed):  # the server may have closed the TCP connection too
                        self.send_frame(self.OP_CLOSE, payload[:2])
                self.closed = True
                raise WebSocketClosed(code, reason)
            if opcode in (self.OP_TEXT, self.OP_BINARY):
                if message_opcode is not None:
                    raise ProbeError("websocket protocol error: new message inside a fragmented one")
                message_opcode = opcode
            elif opcode == self.OP_CONT:
                if message_opcode is None:
                    raise ProbeError("websocket protocol error: continuation frame without a message")
            else:
                raise ProbeError(f"websocket protocol error: unknown opcode {opcode:#x}")
            parts.append(payload)
            size += len(payload)
            if size > MAX_WS_MESSAGE:
                raise ProbeError(f"websocket message larger than {MAX_WS_MESSAGE} bytes")
            if fin:
                return message_opcode, b"".join(parts)

    def send_frame(self, opcode, payload, fin=True):
        header = bytearray([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header.append(0x80 | 126)
            header.extend(struct.pack("!H", n))
        else:
            header.append(0x80 | 127)
            header.extend(struct.pack("!Q", n))
        key = os.urandom(4)
        try:
            self.sock.sendall(bytes(header) + key + _mask(key, payload))
        except OSError as exc:
            self.closed = True
            raise WebSocketClosed(1006, f"connection lost while sending: {exc}") from None

    def send_text(self, text):
        self.send_frame(self.OP_TEXT, text.encode("utf-8"))

    def close(self, code=1000, reason=""):
        """Close handshake (waits briefly for the server's close frame), then the socket."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(WebSocketClosed, TimeoutError, OSError, ProbeError):
                self.send_frame(self.OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"))
                deadline = _now() + 1.0
                while self.recv_frame(deadline)[1] != self.OP_CLOSE:
                    pass
        with contextlib.suppress(OSError):
            self.sock.close()


# -- Jupyter messaging over the kernel websocket ---------------------------------------------------


def _decode_jupyter(opcode, data):
    """Message dict from a text frame (JSON) or a legacy binary frame (offsets + JSON + buffers)."""
    if opcode == WebSocket.OP_TEXT:
        return json.loads(data.decode("utf-8"))
    (nbufs,) = struct.unpack("!I", data[:4])
    offsets = [*struct.unpack("!" + "I" * nbufs, data[4 : 4 * (nbufs + 1)]), None]
    return json.loads(data[offsets[0] : offsets[1]].decode("utf-8"))


def _jupyter_message(msg_type, content, *, session_id, username, channel="shell"):
    msg_id = uuid.uuid4().hex
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "header": {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "session": session_id,
            "username": username,
            "version": JUPYTER_PROTOCOL_VERSION,
            "date": date,
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "buffers": [],
        "channel": channel,
    }


def execute_code(ws, code, *, session_id, username, deadline, kernel_id=""):
    """Run ``code`` over a kernel websocket; wait for both execute_reply and the idle status.

    Returns a dict: stdout, stderr, results (text/plain of execute_result/display_data), status,
    execution_count, error (dict or None), messages (count of messages for this request).
    """
    msg = _jupyter_message(
        "execute_request",
        {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        session_id=session_id,
        username=username,
    )
    msg_id = msg["header"]["msg_id"]
    out = {
        "stdout": "",
        "stderr": "",
        "results": [],
        "status": None,
        "execution_count": None,
        "error": None,
        "messages": 0,
    }
    reply = idle = False
    seen = []
    try:
        ws.send_text(json.dumps(msg))
        while not (reply and idle):
            try:
                opcode, data = ws.recv_message(deadline)
            except TimeoutError:
                raise ProbeError(
                    f"no execute reply from kernel {kernel_id} in time (seen: {', '.join(seen) or 'nothing'})"
                ) from None
            try:
                m = _decode_jupyter(opcode, data)
            except (ValueError, struct.error):
                continue
            if (m.get("parent_header") or {}).get("msg_id") != msg_id:
                continue
            out["messages"] += 1
            msg_type = m.get("msg_type") or (m.get("header") or {}).get("msg_type")
            content = m.get("content") or {}
            channel = m.get("channel")
            if msg_type == "status":
                state = content.get("execution_state")
                seen.append(f"status {state}")
                idle = idle or state == "idle"
            elif msg_type == "stream":
                seen.append(f"stream {content.get('name')}")
                if content.get("name") == "stderr":
                    out["stderr"] += content.get("text", "")
                else:
                    out["stdout"] += content.get("text", "")
            elif msg_type in ("execute_result", "display_data"):
                seen.append(msg_type)
                text = (content.get("data") or {}).get("text/plain")
                if text is not None:
                    out["results"].append(text)
            elif msg_type == "error":
                seen.append("error")
                out["error"] = {"ename": content.get("ename"), "evalue": content.get("evalue")}
            elif msg_type == "execute_reply" and channel in (None, "shell"):
                seen.append(f"execute_reply {content.get('status')}")
                reply = True
                out["status"] = content.get("status")
                out["execution_count"] = content.get("execution_count")
                if content.get("status") == "error" and not out["error"]:
                    out["error"] = {"ename": content.get("ename"), "evalue": content.get("evalue")}
            else:
                seen.append(str(msg_type))
    except WebSocketClosed as exc:
        raise ProbeError(
            f"websocket closed before the execute reply ({exc}; seen: {', '.join(seen) or 'nothing'})"
        ) from None
    return out


# -- the probe -------------------------------------------------------------------------------------


class Probe:
    """One user's walk through the site. ``run()`` returns a result dict or raises ProbeError
    (with ``.steps`` and ``.result`` filled in so far)."""

    def __init__(
        self,
        url,
        username,
        password=None,
        *,
        login_method="form",
        negotiate=None,
        session_file=None,
        server_name="",
        timeout=120,
        kernel_name="python3",
        kernel_id=None,
        code=None,
        expect_output=None,
        file_path=None,
        file_content=None,
        stop=False,
        validate_certs=True,
        ca_path=None,
        resolve=None,
        kernel_shutdown=False,
        execute_timeout=60,
        http_timeout=30,
        poll_interval=0.25,
        max_poll_interval=2.0,
    ):
        if login_method not in LOGIN_METHODS:
            raise ProbeError(f"login_method {login_method!r} is not supported (supported: {', '.join(LOGIN_METHODS)})")
        self.login_method = login_method
        # spnego: a callable that takes the site's host name and returns a fresh base64 SPNEGO token
        self.negotiate = negotiate or gssapi_negotiate
        if not url:
            raise ProbeError("url is required")
        self.url = url if url.endswith("/") else url + "/"
        _split_url(self.url)
        self.username = username
        self.password = password
        self.session_file = session_file
        self.server_name = server_name or ""
        self.timeout = float(timeout)
        self.kernel_name = kernel_name
        self.kernel_id = kernel_id
        self.code = code
        self.expect_output = expect_output
        if expect_output is not None:
            try:
                self._expect_re = re.compile(expect_output)
            except re.error as exc:
                raise ProbeError(f"expect_output is not a valid regular expression: {exc}") from None
        self.file_path = file_path
        self.file_content = file_content
        if file_path is not None:
            if file_path.startswith("/") or ".." in file_path.split("/") or not file_path.strip("/"):
                raise ProbeError(f"file_path {file_path!r} must be a path relative to the user's home")
        elif file_content is not None:
            raise ProbeError("file_content needs file_path")
        self.stop = stop
        self.kernel_shutdown = kernel_shutdown
        self.execute_timeout = float(execute_timeout)
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.client = HttpClient(
            validate_certs=validate_certs,
            ca_path=ca_path,
            resolve=resolve,
            timeout=http_timeout,
        )
        self.steps = []
        self.result = {}
        self._t0 = None

    # -- helpers -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, name):
        entry = {"name": name, "seconds": 0.0, "ok": False, "detail": ""}
        self.steps.append(entry)
        t0 = _now()
        try:
            yield entry
            entry["ok"] = True
        except ProbeError as exc:
            entry["detail"] = exc.msg
            if "http_status" in exc.extra:
                entry["http_status"] = exc.extra["http_status"]
            raise
        except Exception as exc:  # an unexpected bug or library error still ends as one clear line
            entry["detail"] = f"{type(exc).__name__}: {exc}"
            raise ProbeError(f"{name} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            entry["seconds"] = round(_now() - t0, 3)

    def hub_url(self, path):
        return self.url + "hub/" + path

    @property
    def user_path(self):
        return urllib.parse.quote(self.username, safe="@~")

    def _server_api_path(self):
        if self.server_name:
            return f"users/{self.user_path}/servers/{urllib.parse.quote(self.server_name, safe='@~')}"
        return f"users/{self.user_path}/server"

    def _xsrf_headers(self, url, mode="cors"):
        """Headers of a browser's same-origin fetch: Sec-Fetch-Mode and the _xsrf cookie of that path."""
        headers = {"Sec-Fetch-Mode": mode}
        token = self.client.cookie_value("_xsrf", url)
        if token:
            headers["X-XSRFToken"] = token
        return headers

    def hub_api(self, method, path, *, json_body=None, retry_xsrf=True):
        url = self.hub_url("api/" + path)
        resp = self.client.request(method, url, headers=self._xsrf_headers(url), json_body=json_body)
        if resp.status == 403 and retry_xsrf and "xsrf" in resp.error_message().lower():
            # no _xsrf cookie, or one that does not fit this session any more: a hub page sets a fresh one
            self.client.request("GET", self.hub_url("home"), headers=NAVIGATE)
            return self.hub_api(method, path, json_body=json_body, retry_xsrf=False)
        return resp

    def server_api(self, method, path, *, json_body=None):
        url = self.result["server_url"] + "api/" + path
        return self.client.request(method, url, headers=self._xsrf_headers(url), json_body=json_body)

    def _sleep_poll(self, delay, deadline):
        time.sleep(max(0.0, min(delay, deadline - _now())))
        return min(delay * 2, self.max_poll_interval)

    # -- session file ------------------------------------------------------------------------------

    def load_session(self):
        if not self.session_file or not os.path.exists(self.session_file):
            return False
        try:
            self.client.jar.load(self.session_file, ignore_discard=True, ignore_expires=False)
        except (OSError, http.cookiejar.LoadError) as exc:
            self.result.setdefault("warnings", []).append(
                f"session_file {self.session_file} not loaded ({exc}); logging in with the form"
            )
            self.client.jar.clear()
            return False
        return True

    def save_session(self):
        if not self.session_file:
            return
        directory = os.path.dirname(os.path.abspath(self.session_file))
        tmp = None
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".hubsite-probe-", dir=directory)  # mode 0600 from the start
            os.close(fd)
            self.client.jar.save(tmp, ignore_discard=True, ignore_expires=False)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.session_file)
        except OSError as exc:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise ProbeError(f"cannot write session_file {self.session_file}: {exc.strerror or exc}") from None

    # -- steps -------------------------------------------------------------------------------------

    def step_hub_api(self):
        with self.step("hub_api") as st:
            resp = self.client.request("GET", self.hub_url("api"), headers={"Sec-Fetch-Mode": "cors"})
            st["http_status"] = resp.status
            if resp.status != 200:
                raise ProbeError(f"GET {self.hub_url('api')} answered {resp.describe()}", http_status=resp.status)
            data = resp.json()
            if not isinstance(data, dict) or "version" not in data:
                raise ProbeError(f"GET {self.hub_url('api')} answered JSON without 'version': is this JupyterHub?")
            self.result["hub_version"] = data["version"]
            st["detail"] = f"JupyterHub {data['version']}"

    def _current_user(self):
        resp = self.hub_api("GET", "user")
        if resp.status != 200:
            return resp, None
        model = resp.json()
        return resp, model if isinstance(model, dict) else None

    def step_login(self):
        with self.step("login") as st:
            if self.load_session():
                resp, model = self._current_user()
                if model and model.get("name") == self.username:
                    if not self.client.cookie_value("_xsrf", self.hub_url("api/user")):
                        self.client.request("GET", self.hub_url("home"), headers=NAVIGATE)
                    self.result["login"] = "cookie"
                    self._note_instance(resp)
                    st["detail"] = f"session from {self.session_file} still valid"
                    st["http_status"] = resp.status
                    return model
                self.client.jar.clear()
            if self.login_method == "spnego":
                return self._login_spnego(st)
            if self.password is None:
                raise ProbeError(f"no valid session for {self.username} in session_file and no password to log in with")
            if self.login_method == "oidc":
                return self._login_oidc(st)
            login_url = self.hub_url("login")
            page = self.client.request("GET", login_url, headers=NAVIGATE)
            # 401 with WWW-Authenticate: Negotiate is Kerberos single sign-on's login page: a browser without a
            # ticket shows its body, the password form
            negotiate = (page.header("WWW-Authenticate") or "").lower().startswith("negotiate")
            if page.status != 200 and not (page.status == 401 and negotiate):
                raise ProbeError(f"GET {login_url} answered {page.describe()}", http_status=page.status)
            match = re.search(r'name="_xsrf"\s+value="([^"]*)"', page.text) or re.search(
                r'value="([^"]*)"\s+name="_xsrf"', page.text
            )
            xsrf = match.group(1) if match else self.client.cookie_value("_xsrf", login_url)
            if not xsrf:
                raise ProbeError(f"GET {login_url}: no _xsrf token in the login page or its cookies")
            form = {"_xsrf": xsrf, "username": self.username, "password": self.password}
            resp = self.client.request("POST", login_url, form=form, headers=NAVIGATE)
            # A/B routing: the hub that checked the password may hand the login over to the other instance with a
            # 307 (after setting the front's routing cookie); a browser posts the same form again, and so do we.
            handovers = []
            while resp.status in (307, 308) and resp.header("Location"):
                if len(handovers) >= MAX_REDIRECTS:
                    raise ProbeError(f"too many login hand-overs (307) starting at {login_url}")
                handovers.append(resp.header("X-Hubsite-Instance") or "")
                login_url = urllib.parse.urljoin(login_url, resp.header("Location"))
                resp = self.client.request("POST", login_url, form=form, headers=NAVIGATE)
            self.result["login_handovers"] = len(handovers)
            st["http_status"] = resp.status
            if resp.status in (301, 302, 303):
                self._note_instance(resp)
                _, model = self._current_user()
                if not model or model.get("name") != self.username:
                    raise ProbeError(
                        f"login at {login_url} redirected but GET hub/api/user does not show {self.username}: "
                        "check the hub's cookie settings (secure cookies over plain http?)"
                    )
                self.result["login"] = "form"
                st["detail"] = f"logged in with the form (HTTP {resp.status})" + (
                    f" after {len(handovers)} hand-over(s) to another instance" if handovers else ""
                )
                return model
            shown = re.search(r'class="[^"]*login_error[^"]*"[^>]*>\s*([^<]+?)\s*<', resp.text)
            shown = shown.group(1) if shown else ""
            if resp.status == 403 and ("invalid username or password" in resp.text.lower() or not shown):
                raise ProbeError(
                    f"login refused for {self.username} at {login_url}: bad username or password (HTTP 403)",
                    http_status=403,
                )
            if shown:
                raise ProbeError(
                    f"login refused for {self.username} at {login_url}: {shown} (HTTP {resp.status})",
                    http_status=resp.status,
                )
            raise ProbeError(
                f"login for {self.username} at {login_url} failed: {resp.describe()}", http_status=resp.status
            )

    def _login_spnego(self, st):
        """Kerberos single sign-on as a browser with a ticket does it: the login page answers 401 with
        ``WWW-Authenticate: Negotiate``, the same GET again with a SPNEGO token logs the user in (a redirect)."""
        login_url = self.hub_url("login")
        first = self.client.request("GET", login_url, headers=NAVIGATE)
        asked = (first.header("WWW-Authenticate") or "").strip().lower().startswith("negotiate")
        if first.status != 401 or not asked:
            raise ProbeError(
                f"GET {login_url} did not ask for a Kerberos ticket (401 with WWW-Authenticate: Negotiate): "
                f"{first.describe()}",
                http_status=first.status,
            )
        hostname = urllib.parse.urlsplit(login_url).hostname
        try:
            token = self.negotiate(hostname)
        except Exception as exc:  # noqa: BLE001 - whatever the Kerberos client says
            raise ProbeError(f"no SPNEGO token for HTTP@{hostname}: {' '.join(str(exc).split())}") from None
        resp = self.client.request("GET", login_url, headers={**NAVIGATE, "Authorization": f"Negotiate {token}"})
        handovers = 0
        # A/B routing: a hand-over (307) to the other instance, which asks for a ticket again
        while resp.status in (307, 308) and resp.header("Location") and handovers < MAX_REDIRECTS:
            handovers += 1
            login_url = urllib.parse.urljoin(login_url, resp.header("Location"))
            again = self.client.request("GET", login_url, headers=NAVIGATE)
            if again.status != 401:
                resp = again
                break
            resp = self.client.request(
                "GET", login_url, headers={**NAVIGATE, "Authorization": f"Negotiate {self.negotiate(hostname)}"}
            )
        self.result["login_handovers"] = handovers
        st["http_status"] = resp.status
        if resp.status not in (301, 302, 303):
            shown = re.search(r'class="[^"]*login_error[^"]*"[^>]*>\s*([^<]+?)\s*<', resp.text)
            raise ProbeError(
                f"login refused for {self.username} (Kerberos single sign-on) at {login_url}: "
                f"{shown.group(1) if shown else resp.describe()} (HTTP {resp.status})",
                http_status=resp.status,
            )
        self._note_instance(resp)
        _, model = self._current_user()
        if not model or model.get("name") != self.username:
            raise ProbeError(
                f"the Kerberos single sign-on at {login_url} logged in {model.get('name') if model else 'nobody'}, "
                f"not {self.username}"
            )
        self.result["login"] = "spnego"
        st["detail"] = "logged in with a Kerberos ticket (SPNEGO)" + (
            f" after {handovers} hand-over(s) to another instance" if handovers else ""
        )
        return model

    def _login_oidc(self, st):
        """The authorization code flow as a browser does it: the hub's oauth_login redirects to the provider, whose
        login form we fill in; the provider redirects back to the hub's oauth_callback, which logs the user in."""
        start = self.hub_url("oauth_login")
        page, chain = self.client.navigate(start, headers=NAVIGATE)
        form = re.search(r'<form[^>]*\baction="([^"]+)"', page.text) if page.status in (200, 401) else None
        if not form or 'name="password"' not in page.text:
            raise ProbeError(
                f"GET {start} did not reach the provider's login form: {page.describe()} "
                f"(via {' -> '.join(_public(u) for u in chain)})",
                http_status=page.status,
            )
        provider_url = chain[-1]
        action = urllib.parse.urljoin(provider_url, html.unescape(form.group(1)))
        fields = {"login": self.username, "password": self.password}
        if 'name="username"' in page.text:
            fields = {"username": self.username, "password": self.password}
        resp = self.client.request("POST", action, form=fields, headers=NAVIGATE)
        st["http_status"] = resp.status
        if resp.status not in (301, 302, 303) or not resp.header("Location"):
            shown = re.search(r'class="[^"]*(?:login_error|error)[^"]*"[^>]*>\s*([^<]+?)\s*<', resp.text)
            raise ProbeError(
                f"login refused for {self.username} by the provider at {_public(action)}: "
                f"{shown.group(1) if shown else 'no redirect back to the hub'} (HTTP {resp.status})",
                http_status=resp.status,
            )
        back, back_chain = self.client.navigate(urllib.parse.urljoin(action, resp.header("Location")), headers=NAVIGATE)
        callback = next((u for u in back_chain if urllib.parse.urlsplit(u).path.endswith("/oauth_callback")), None)
        if callback is None:
            raise ProbeError(
                f"the provider did not send {self.username} back to the hub's oauth_callback: "
                f"{' -> '.join(_public(u) for u in back_chain)} ended with {back.describe()}",
                http_status=back.status,
            )
        if back.status >= 400:
            raise ProbeError(
                f"login refused for {self.username} by the hub after the provider's login: {back.describe()}",
                http_status=back.status,
            )
        self._note_instance(back)
        _, model = self._current_user()
        if not model or model.get("name") != self.username:
            raise ProbeError(
                f"the OIDC login ended at {_public(back_chain[-1])} but the hub does not show {self.username}"
            )
        self.result["login"] = "oidc"
        self.result["provider"] = _public(provider_url).split("?")[0]
        st["detail"] = f"logged in through the OIDC provider at {urllib.parse.urlsplit(provider_url).netloc}"
        return model

    def _note_instance(self, resp):
        """With A/B routing the front says which instance answered (X-Hubsite-Instance: a or b)."""
        instance = resp.header("X-Hubsite-Instance")
        if instance:
            self.result["instance"] = instance

    def _server_state(self, model):
        servers = model.get("servers") if isinstance(model, dict) else None
        if servers is None:
            return None, "unknown (no 'servers' in hub/api/user: missing read:servers scope?)"
        server = servers.get(self.server_name)
        if not server:
            return None, "not running"
        if server.get("ready"):
            return server, "ready"
        if server.get("pending"):
            return server, f"pending {server['pending']}"
        return server, "starting (not ready)"

    def step_server_ready(self, model):
        with self.step("server_ready") as st:
            deadline = _now() + self.timeout
            server, state = self._server_state(model)
            spawned = False
            gone = 0
            delay = self.poll_interval
            while state != "ready":
                if state.startswith("unknown"):
                    raise ProbeError(f"cannot see the server state of {self.username}: {state}")
                just_posted = False
                if state == "not running" and spawned:
                    gone += 1
                    if gone >= 2:  # twice in a row after a 201/202: not a race with the model, the spawn failed
                        raise ProbeError(
                            f"server for {self.username} stopped while starting: the spawn failed (see the hub log)"
                        )
                elif state == "not running":
                    resp = self.hub_api("POST", self._server_api_path())
                    st["http_status"] = resp.status
                    if resp.status in (201, 202):
                        spawned = just_posted = True
                    elif not (resp.status == 400 and "already running" in resp.error_message()):
                        raise ProbeError(
                            f"starting the server for {self.username} failed: {resp.describe()}",
                            http_status=resp.status,
                        )
                else:
                    gone = 0
                if not just_posted:  # the POST itself waits up to the hub's slow_spawn_timeout (10 s)
                    delay = self._sleep_poll(delay, deadline)
                resp, model = self._current_user()
                if model is None:
                    raise ProbeError(f"GET hub/api/user failed while waiting for the server: {resp.describe()}")
                server, state = self._server_state(model)
                if state != "ready" and _now() >= deadline:
                    raise ProbeError(
                        f"server for {self.username} not ready after {self.timeout:g} s (last state: {state})"
                    )
            self.result["server_was_running"] = not spawned
            st["detail"] = "spawned" if spawned else "already running"
            server_url = urllib.parse.urljoin(self.url, server.get("url") or self._default_server_path())
            self.result["server_url"] = server_url if server_url.endswith("/") else server_url + "/"

    def _default_server_path(self):
        base = urllib.parse.urlsplit(self.url).path
        path = f"{base}user/{self.user_path}/"
        if self.server_name:
            path += urllib.parse.quote(self.server_name, safe="@~") + "/"
        return path

    def _has_server_cookie(self, server_url):
        """Is there a cookie scoped to the server's path (its OAuth cookie from an earlier run)?"""
        server_path = urllib.parse.urlsplit(server_url).path
        hub_path = urllib.parse.urlsplit(self.hub_url("")).path
        return any(
            c.path not in ("", "/") and server_path.startswith(c.path) and not c.path.startswith(hub_path)
            for c in self.client.jar
        )

    def step_server_auth(self):
        with self.step("server_auth") as st:
            server_url = self.result["server_url"]
            status_url = server_url + "api/status"
            how = "cookie"
            resp = None
            if self._has_server_cookie(server_url):
                resp = self.client.request("GET", status_url, headers=self._xsrf_headers(status_url))
            if resp is None or resp.status != 200:
                how = "oauth"
                page, chain = self.client.navigate(server_url, headers=NAVIGATE)
                if page.status != 200:
                    raise ProbeError(
                        f"could not open {self.username}'s server through the hub's OAuth: {page.describe()} "
                        f"after {' -> '.join(_paths(chain))}",
                        http_status=page.status,
                    )
                resp = self.client.request("GET", status_url, headers=self._xsrf_headers(status_url))
            st["http_status"] = resp.status
            if resp.status != 200:
                raise ProbeError(
                    f"GET {status_url} answered {resp.describe()} after the OAuth login", http_status=resp.status
                )
            if not self.client.cookie_value("_xsrf", status_url):
                self.client.navigate(server_url, headers=NAVIGATE)
            status = resp.json()
            st["detail"] = f"{how}; kernels running: {status.get('kernels')}"

    def step_kernel(self):
        with self.step("kernel") as st:
            if self.kernel_id:
                resp = self.server_api("GET", f"kernels/{urllib.parse.quote(self.kernel_id, safe='')}")
                st["http_status"] = resp.status
                if resp.status == 404:
                    raise ProbeError(
                        f"kernel {self.kernel_id} is gone (HTTP 404 from {self.username}'s server)", http_status=404
                    )
                if resp.status != 200:
                    raise ProbeError(f"kernel {self.kernel_id}: {resp.describe()}", http_status=resp.status)
                model = resp.json()
                self.result["kernel_reused"] = True
                st["detail"] = f"reused {model.get('name')} kernel {self.kernel_id} ({model.get('execution_state')})"
            else:
                resp = self.server_api("POST", "kernels", json_body={"name": self.kernel_name})
                st["http_status"] = resp.status
                if resp.status not in (200, 201):
                    raise ProbeError(
                        f"starting a {self.kernel_name} kernel on {self.username}'s server failed: {resp.describe()}",
                        http_status=resp.status,
                    )
                model = resp.json()
                self.kernel_id = model["id"]
                self.result["kernel_reused"] = False
                st["detail"] = f"started {model.get('name')} kernel {self.kernel_id}"
            self.result["kernel_id"] = self.kernel_id
            self.result["kernel_name"] = model.get("name", self.kernel_name)

    def step_execute(self):
        with self.step("execute") as st:
            session_id = uuid.uuid4().hex
            channels = (
                self.result["server_url"]
                + f"api/kernels/{urllib.parse.quote(self.kernel_id, safe='')}/channels?session_id={session_id}"
            )
            deadline = _now() + self.execute_timeout
            ws = WebSocket.connect(
                self.client, channels, headers=self._xsrf_headers(channels, "websocket"), timeout=self.execute_timeout
            )
            try:
                try:
                    out = execute_code(
                        ws,
                        self.code,
                        session_id=session_id,
                        username=self.username,
                        deadline=deadline,
                        kernel_id=self.kernel_id,
                    )
                except ProbeError as exc:
                    if exc.msg.startswith("no execute reply"):
                        exc.msg = exc.msg.replace("in time", f"within {self.execute_timeout:g} s")
                        exc.args = (exc.msg,)
                    raise
            finally:
                ws.close()
            self.result["output"] = out["stdout"]
            self.result["output_stderr"] = out["stderr"]
            self.result["execute_result"] = "\n".join(out["results"])
            self.result["execution_count"] = out["execution_count"]
            if out["error"]:
                err = out["error"]
                raise ProbeError(f"kernel error: {err.get('ename')}: {err.get('evalue')}")
            if out["status"] != "ok":
                raise ProbeError(f"kernel answered the execute request with status {out['status']!r}")
            detail = f"execution_count {out['execution_count']}, {len(out['stdout'])} chars of stdout"
            if self.expect_output is not None:
                if not self._expect_re.search(out["stdout"].rstrip("\n")):
                    raise ProbeError(
                        f"output {out['stdout'].rstrip(chr(10))[:500]!r} does not match expect_output "
                        f"{self.expect_output!r}"
                    )
                detail += ", matched expect_output"
            st["detail"] = detail

    def _contents_url(self):
        return "contents/" + urllib.parse.quote(self.file_path.strip("/"), safe="/")

    def step_file_write(self):
        with self.step("file_write") as st:
            body = {"type": "file", "format": "text", "content": self.file_content}
            resp = self.server_api("PUT", self._contents_url(), json_body=body)
            st["http_status"] = resp.status
            if resp.status not in (200, 201):
                raise ProbeError(
                    f"writing {self.file_path} on {self.username}'s server failed: {resp.describe()}",
                    http_status=resp.status,
                )
            st["detail"] = f"wrote {len(self.file_content)} chars to {self.file_path}"

    def step_file_read(self):
        with self.step("file_read") as st:
            resp = self.server_api("GET", self._contents_url() + "?content=1&type=file&format=text")
            st["http_status"] = resp.status
            if resp.status != 200:
                raise ProbeError(
                    f"reading {self.file_path} on {self.username}'s server failed: {resp.describe()}",
                    http_status=resp.status,
                )
            content = resp.json().get("content")
            self.result["file_read_back"] = content
            if self.file_content is not None and content != self.file_content:
                raise ProbeError(f"{self.file_path} read back differs from what was written: {content[:200]!r}")
            st["detail"] = f"read {len(content or '')} chars from {self.file_path}"

    def step_kernel_shutdown(self):
        with self.step("kernel_shutdown") as st:
            resp = self.server_api("DELETE", f"kernels/{urllib.parse.quote(self.kernel_id, safe='')}")
            st["http_status"] = resp.status
            if resp.status not in (200, 204, 404):
                raise ProbeError(f"shutting down kernel {self.kernel_id} failed: {resp.describe()}")
            self.result["kernel_shut_down"] = True
            st["detail"] = f"kernel {self.kernel_id} " + ("was already gone" if resp.status == 404 else "shut down")

    def step_stop(self):
        with self.step("stop") as st:
            deadline = _now() + self.timeout
            resp = self.hub_api("DELETE", self._server_api_path())
            st["http_status"] = deleted = resp.status
            if deleted not in (202, 204):
                raise ProbeError(
                    f"stopping the server for {self.username} failed: {resp.describe()}", http_status=deleted
                )
            delay = self.poll_interval
            state = "pending stop"
            while True:
                resp, model = self._current_user()
                if model is None:
                    raise ProbeError(f"GET hub/api/user failed while waiting for the stop: {resp.describe()}")
                _, state = self._server_state(model)
                if state == "not running":
                    break
                if _now() >= deadline:
                    raise ProbeError(
                        f"server for {self.username} not stopped after {self.timeout:g} s (last state: {state})"
                    )
                delay = self._sleep_poll(delay, deadline)
            self.result["stopped"] = True
            st["detail"] = "stopped" if deleted == 204 else "stopped (after pending stop)"

    # -- entry points ------------------------------------------------------------------------------

    def _finish(self):
        self.result["steps"] = self.steps
        self.result["total_seconds"] = round(_now() - self._t0, 3)
        self.client.close()
        return self.result

    def _base_result(self):
        self._t0 = _now()
        self.steps = []
        self.result = {
            "changed": False,
            "url": self.url,
            "username": self.username,
            "server_name": self.server_name,
        }

    def check(self):
        """Check mode: only GET hub/api (JSON with 'version')."""
        self._base_result()
        try:
            self.step_hub_api()
        except ProbeError as exc:
            exc.steps, exc.result = self.steps, self._finish()
            raise
        return self._finish()

    def run(self):
        self._base_result()
        server_up = False
        try:
            self.step_hub_api()
            model = self.step_login()
            self.step_server_ready(model)
            server_up = True
            self.step_server_auth()
            if self.code is not None or self.kernel_id or self.kernel_shutdown:
                self.step_kernel()
            if self.code is not None:
                self.step_execute()
            if self.file_path is not None:
                if self.file_content is not None:
                    self.step_file_write()
                self.step_file_read()
            if self.kernel_shutdown and self.kernel_id:
                self.step_kernel_shutdown()
            if self.stop:
                self.step_stop()
            self.save_session()
        except ProbeError as exc:
            self._cleanup_after_failure(server_up)
            if self.result.get("login"):
                with contextlib.suppress(ProbeError):
                    self.save_session()
            exc.steps, exc.result = self.steps, self._finish()
            raise
        return self._finish()

    def _cleanup_after_failure(self, server_up):
        """Best effort: do the requested kernel shutdown / stop even when a step failed."""
        if not server_up:
            return
        failed = self.steps[-1]["name"] if self.steps else ""
        if self.kernel_shutdown and self.kernel_id and failed not in ("kernel", "kernel_shutdown", "server_auth"):
            with contextlib.suppress(ProbeError):
                self.step_kernel_shutdown()
        if self.stop and failed != "stop":
            with contextlib.suppress(ProbeError):
                self.step_stop()


def main(argv=None):
    """Small CLI for bench scripts; the password comes from $HUBSITE_PROBE_PASSWORD."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--login-method", choices=LOGIN_METHODS, default="form")
    parser.add_argument("--session-file")
    parser.add_argument("--server-name", default="")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--kernel-name", default="python3")
    parser.add_argument("--kernel-id")
    parser.add_argument("--code")
    parser.add_argument("--expect-output")
    parser.add_argument("--file-path")
    parser.add_argument("--file-content")
    parser.add_argument("--stop", action="store_true")
    parser.add_argument("--kernel-shutdown", action="store_true")
    parser.add_argument("--no-validate-certs", action="store_true")
    parser.add_argument("--ca-path")
    parser.add_argument("--resolve", action="append", default=[], metavar="HOST=IP[:PORT]")
    parser.add_argument("--check", action="store_true", help="only GET hub/api")
    args = parser.parse_args(argv)
    try:
        probe = Probe(
            args.url,
            args.username,
            os.environ.get("HUBSITE_PROBE_PASSWORD"),
            login_method=args.login_method,
            session_file=args.session_file,
            server_name=args.server_name,
            timeout=args.timeout,
            kernel_name=args.kernel_name,
            kernel_id=args.kernel_id,
            code=args.code,
            expect_output=args.expect_output,
            file_path=args.file_path,
            file_content=args.file_content,
            stop=args.stop,
            validate_certs=not args.no_validate_certs,
            ca_path=args.ca_path,
            resolve=dict(item.split("=", 1) for item in args.resolve),
            kernel_shutdown=args.kernel_shutdown,
        )
        result = probe.check() if args.check else probe.run()
    except ProbeError as exc:
        print(json.dumps({"failed": True, "msg": exc.msg, **exc.result, "steps": exc.steps}, indent=2))
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
