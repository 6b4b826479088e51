"""hubsite_probe: the user-like probe against an in-process fake JupyterHub site (HTTP, TLS, websocket)."""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import http.cookies
import importlib.util
import io
import json
import os
import shutil
import socket
import ssl
import stat
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE_UTIL = ROOT / "module_utils" / "hubsite_probe.py"


def _load_probe():
    spec = importlib.util.spec_from_file_location("_hubsite_test_hubsite_probe", MODULE_UTIL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hp = _load_probe()

PASSWORD = "s3cret-Pw!"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- the fake site ---------------------------------------------------------------------------------


class FakeKernel:
    """Runs the test's code with exec; print() goes to a buffer, like a kernel's stdout stream."""

    def __init__(self, name):
        self.id = str(uuid.uuid4())
        self.name = name
        self.count = 0
        self.namespace = {}

    def execute(self, code):
        out = io.StringIO()
        self.namespace["print"] = lambda *a, **kw: print(*a, file=out, **{k: v for k, v in kw.items() if k != "file"})
        self.count += 1
        try:
            exec(compile(code, "<probe>", "exec"), self.namespace)  # noqa: S102 - the fake kernel runs the test's code
        except Exception as exc:  # noqa: BLE001 - any error of the code becomes the kernel's error reply
            return out.getvalue(), (type(exc).__name__, str(exc))
        return out.getvalue(), None


class FakeSite:
    """Just enough of JupyterHub 6 + a single-user server for the probe."""

    def __init__(self, *, tls=None, spawn_delay=0.05, never_ready=False, spawn_fails=False, ws_mode="normal"):
        self.users = {"bob": PASSWORD}
        self.spawn_delay = spawn_delay
        self.never_ready = never_ready
        self.spawn_fails = spawn_fails
        self.ws_mode = ws_mode
        self.lock = threading.RLock()
        self.sessions = {}  # hub login token -> user
        self.user_tokens = {}  # single-user oauth token -> user
        self.codes = {}
        self.servers = {}  # (user, name) -> {"ready_at": float|None, "stopping_at": float|None}
        self.kernels = {}
        self.files = {}
        self.login_posts = 0
        self.handover_users = set()  # A/B: a login of these users is handed over (307) to instance b
        self.spnego_tokens = None  # Kerberos single sign-on: token -> user (None: the login page is a form)
        self.pongs = 0
        self.requests = []
        self.hosts = set()
        self.snis = set()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            ctx.sni_callback = lambda sslsock, name, _ctx: self.snis.add(name)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    # state helpers (called with the lock held)
    def server_model(self, user, name):
        srv = self.servers.get((user, name))
        if srv is None:
            return None
        now = time.monotonic()
        if srv["stopping_at"] is not None:
            if now >= srv["stopping_at"]:
                del self.servers[(user, name)]
                return None
            pending, ready = "stop", False
        elif self.spawn_fails and now >= srv["started"] + 0.1:
            del self.servers[(user, name)]
            return None
        else:
            ready = srv["ready_at"] is not None and now >= srv["ready_at"]
            pending = None if ready else "spawn"
        url = f"/user/{user}/" + (f"{name}/" if name else "")
        return {"name": name, "ready": ready, "pending": pending, "stopped": False, "url": url}


def _ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def _handler_for(site):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle + delayed-ACK stalls

        def log_message(self, *args):
            pass

        # -- plumbing ------------------------------------------------------------------------------
        def cookies(self):
            jar = http.cookies.SimpleCookie()
            for chunk in (self.headers.get("Cookie") or "").split(";"):
                if "=" in chunk:
                    key, value = chunk.strip().split("=", 1)
                    if key not in jar:  # most specific path first, like browsers send them
                        jar[key] = value
            return {k: m.value for k, m in jar.items()}

        def send(self, status, body=b"", *, ctype="text/html", headers=(), cookies=()):
            if isinstance(body, dict | list):
                body, ctype = json.dumps(body).encode(), "application/json"
            elif isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            # what the front adds with A/B routing: the instance the browser's cookie sends it to
            self.send_header("X-Hubsite-Instance", "b" if self.cookies().get("hubsite_instance") == "b" else "a")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(body)

        def body_json(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            return json.loads(raw) if raw else None

        def xsrf_ok(self, expected):
            mode = self.headers.get("Sec-Fetch-Mode", "unspecified")
            if self.command == "GET" and mode != "cors":
                return True
            return expected is not None and self.headers.get("X-XSRFToken") == expected

        def hub_user(self):
            with site.lock:
                return site.sessions.get(self.cookies().get("jupyterhub-hub-login"))

        def do_GET(self):
            self.route()

        def do_POST(self):
            self.route()

        def do_PUT(self):
            self.route()

        def do_DELETE(self):
            self.route()

        def route(self):
            parts = urllib.parse.urlsplit(self.path)
            site.requests.append((self.command, parts.path))
            site.hosts.add(self.headers.get("Host"))
            path, query = parts.path, dict(urllib.parse.parse_qsl(parts.query))
            if path.startswith("/hub/"):
                return self.hub(path[len("/hub/") :], query)
            if path.startswith("/user/"):
                return self.singleuser(path, query)
            return self.send(404, "not found")

        # -- hub -----------------------------------------------------------------------------------
        def hub(self, path, query):
            if path == "api" and self.command == "GET":
                return self.send(200, {"version": "6.1.1"})
            if path == "login" and self.command == "GET" and site.spnego_tokens is not None:
                return self.spnego_login()
            if path == "login" and self.command == "GET":
                token = "anon-" + uuid.uuid4().hex
                page = f'<form><input type="hidden" name="_xsrf" value="{token}"/></form>'
                return self.send(200, page, cookies=[f"_xsrf={token}; Path=/hub/"])
            if path == "login" and self.command == "POST":
                return self.login()
            if path == "home" and self.command == "GET":
                token = self.cookies().get("jupyterhub-hub-login")
                cookies = [f"_xsrf=hx-{token}; Path=/hub/"] if self.hub_user() else []
                return self.send(200, "home", cookies=cookies)
            if path == "api/oauth2/authorize":
                if not self.hub_user():
                    return self.send(302, headers=[("Location", "/hub/login?next=x")])
                code = uuid.uuid4().hex
                with site.lock:
                    site.codes[code] = self.hub_user()
                target = f"{query['redirect_uri']}?code={code}&state={query['state']}"
                return self.send(302, headers=[("Location", target)])
            user = self.hub_user()
            if user is None:
                return self.send(403, {"status": 403, "message": "Missing or invalid credentials"})
            if not self.xsrf_ok("hx-" + self.cookies().get("jupyterhub-hub-login", "")):
                return self.send(403, {"status": 403, "message": f"'_xsrf' argument missing from {self.command}"})
            if path == "api/user" and self.command == "GET":
                with site.lock:
                    servers = {}
                    for u, name in list(site.servers):
                        model = site.server_model(u, name)
                        if u == user and model:
                            servers[name] = model
                return self.send(200, {"kind": "user", "name": user, "servers": servers})
            segments = path.split("/")
            if segments[:2] == ["api", "users"] and len(segments) >= 4 and segments[2] == user:
                name = segments[4] if segments[3] == "servers" and len(segments) > 4 else ""
                return self.server_action(user, name)
            return self.send(404, {"status": 404, "message": "Not Found"})

        def login(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            with site.lock:
                site.login_posts += 1
            if form.get("_xsrf") != self.cookies().get("_xsrf"):
                return self.send(403, '<p class="login_error">Login form invalid or expired. Try again.</p>')
            if site.users.get(form.get("username")) != form.get("password"):
                return self.send(403, '<p class="login_error">Invalid username or password</p>')
            if form["username"] in site.handover_users and self.cookies().get("hubsite_instance") != "b":
                # the main instance hands the login over: routing cookie, then the same URL again with a 307
                return self.send(
                    307,
                    headers=[("Location", self.path)],
                    cookies=["hubsite_instance=b; Path=/; HttpOnly; SameSite=Lax"],  # http: no Secure here
                )
            token = uuid.uuid4().hex
            with site.lock:
                site.sessions[token] = form["username"]
            cookies = [
                f"jupyterhub-hub-login={token}; Path=/hub/; HttpOnly",
                f"jupyterhub-session-id={uuid.uuid4().hex}; Path=/; HttpOnly",
                f"_xsrf=hx-{token}; Path=/hub/",
            ]
            return self.send(302, headers=[("Location", "/hub/spawn")], cookies=cookies)

        def spnego_login(self):
            """The hub's SpnegoLoginHandler: 401 + Negotiate without a token, 403 for a bad one, else a session."""
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme != "Negotiate":
                token = "anon-" + uuid.uuid4().hex
                page = f'<form><input type="hidden" name="_xsrf" value="{token}"/></form>'
                headers = [("WWW-Authenticate", "Negotiate")]
                return self.send(401, page, headers=headers, cookies=[f"_xsrf={token}; Path=/hub/"])
            with site.lock:
                user = site.spnego_tokens.pop(token, None)  # a token is good once (the replay cache)
            if user is None:
                return self.send(403, '<p class="login_error">Your Kerberos ticket was not accepted.</p>')
            session = uuid.uuid4().hex
            with site.lock:
                site.sessions[session] = user
            cookies = [f"jupyterhub-hub-login={session}; Path=/hub/; HttpOnly", f"_xsrf=hx-{session}; Path=/hub/"]
            return self.send(302, headers=[("Location", "/hub/spawn")], cookies=cookies)

        def server_action(self, user, name):
            key = (user, name)
            with site.lock:
                model = site.server_model(user, name)
                if self.command == "POST":
                    if model and model["ready"]:
                        return self.send(400, {"status": 400, "message": f"{user}'s server is already running"})
                    now = time.monotonic()
                    ready_at = None if site.never_ready else now + site.spawn_delay
                    site.servers[key] = {"started": now, "ready_at": ready_at, "stopping_at": None}
                    return self.send(201 if site.spawn_delay == 0 and not site.never_ready else 202, b"")
                if self.command == "DELETE":
                    if model is None:
                        return self.send(204, b"")
                    site.servers[key]["stopping_at"] = time.monotonic() + 0.15
                    return self.send(202, b"")
            return self.send(405, b"")

        # -- single-user server --------------------------------------------------------------------
        def singleuser(self, path, query):
            segments = path.split("/")  # '', 'user', name, rest...
            owner = segments[2]
            with site.lock:
                names = [n for (u, n) in site.servers if u == owner and n and segments[3:4] == [n]]
                name = names[0] if names else ""
                model = site.server_model(owner, name)
            prefix = f"/user/{owner}/" + (f"{name}/" if name else "")
            rest = path[len(prefix) :] if path.startswith(prefix) else None
            if model is None or not model["ready"] or rest is None:
                return self.send(503, "server not running")
            cookie_name = f"jupyterhub-user-{owner}" + (f"-{name}" if name else "")
            token = self.cookies().get(cookie_name)
            with site.lock:
                authed = site.user_tokens.get(token) == owner
            if rest == "":
                return self.send(302, headers=[("Location", prefix + "lab")])
            if rest == "oauth_callback":
                if query.get("state") != self.cookies().get(cookie_name + "-oauth-state"):
                    return self.send(400, "OAuth state does not match")
                with site.lock:
                    if site.codes.pop(query.get("code"), None) != owner:
                        return self.send(403, "bad code")
                    token = uuid.uuid4().hex
                    site.user_tokens[token] = owner
                cookies = [f"{cookie_name}={token}; Path={prefix}; HttpOnly", f"_xsrf=ux-{token}; Path={prefix}"]
                return self.send(302, headers=[("Location", prefix + "lab")], cookies=cookies)
            if rest == "lab":
                if not authed:
                    state = uuid.uuid4().hex
                    redirect_uri = urllib.parse.quote(prefix + "oauth_callback")
                    target = (
                        f"/hub/api/oauth2/authorize?client_id={cookie_name}"
                        f"&redirect_uri={redirect_uri}&response_type=code&state={state}"
                    )
                    return self.send(
                        302,
                        headers=[("Location", target)],
                        cookies=[f"{cookie_name}-oauth-state={state}; Path={prefix}"],
                    )
                return self.send(200, "<html>lab</html>", cookies=[f"_xsrf=ux-{token}; Path={prefix}"])
            if not rest.startswith("api/"):
                return self.send(404, "not found")
            if not authed or not self.xsrf_ok(f"ux-{token}"):
                return self.send(403, {"message": "Forbidden", "reason": None})
            return self.server_api(rest[len("api/") :])

        def server_api(self, rest):
            if rest == "status":
                return self.send(200, {"kernels": len(site.kernels), "connections": 0})
            if rest == "kernels" and self.command == "POST":
                name = (self.body_json() or {}).get("name")
                if name != "python3":
                    return self.send(500, {"message": f"No such kernel named {name}"})
                kernel = FakeKernel(name)
                site.kernels[kernel.id] = kernel
                return self.send(201, {"id": kernel.id, "name": name, "execution_state": "starting"})
            if rest.startswith("kernels/"):
                kid, _, tail = rest[len("kernels/") :].partition("/")
                kernel = site.kernels.get(kid)
                if kernel is None:
                    return self.send(404, {"message": f"Kernel does not exist: {kid}"})
                if tail == "channels":
                    return self.websocket(kernel)
                if self.command == "GET":
                    return self.send(200, {"id": kid, "name": kernel.name, "execution_state": "idle"})
                if self.command == "DELETE":
                    del site.kernels[kid]
                    return self.send(204, b"")
            if rest.startswith("contents/"):
                fpath = urllib.parse.unquote(rest[len("contents/") :])
                if self.command == "PUT":
                    model = self.body_json()
                    created = fpath not in site.files
                    site.files[fpath] = model["content"]
                    return self.send(201 if created else 200, {"name": fpath, "type": "file"})
                if self.command == "GET":
                    if fpath not in site.files:
                        return self.send(404, {"message": f"No such file or directory: {fpath}"})
                    return self.send(200, {"name": fpath, "type": "file", "content": site.files[fpath]})
            return self.send(404, {"message": "Not Found"})

        # -- kernel websocket (RFC 6455, server side) ----------------------------------------------
        def websocket(self, kernel):
            origin = self.headers.get("Origin")
            if origin and urllib.parse.urlsplit(origin).netloc != self.headers.get("Host"):
                return self.send(403, "Cross origin websockets not allowed")
            key = self.headers.get("Sec-WebSocket-Key")
            if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
                return self.send(400, 'Can "Upgrade" only to "WebSocket".')
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", _ws_accept(key))
            self.end_headers()
            self.close_connection = True
            with contextlib.suppress(ConnectionError, OSError, EOFError):
                self.ws_session(kernel)

        def ws_read(self):
            head = self.rfile.read(2)
            if len(head) < 2:
                raise EOFError
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            assert head[1] & 0x80, "client frames must be masked"
            if length == 126:
                (length,) = struct.unpack("!H", self.rfile.read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self.rfile.read(8))
            mask = self.rfile.read(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            return opcode, data

        def ws_frame(self, opcode, payload, fin=True):
            n = len(payload)
            head = bytes([(0x80 if fin else 0) | opcode])
            if n < 126:
                head += bytes([n])
            elif n < 65536:
                head += bytes([126]) + struct.pack("!H", n)
            else:
                head += bytes([127]) + struct.pack("!Q", n)
            self.wfile.write(head + payload)

        def ws_send(self, msg_type, content, parent, channel="iopub", binary_buffers=None):
            msg = {
                "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": "k", "version": "5.3"},
                "msg_id": uuid.uuid4().hex,
                "msg_type": msg_type,
                "parent_header": parent,
                "metadata": {},
                "content": content,
                "channel": channel,
            }
            if binary_buffers is None:
                msg["buffers"] = []
                raw = json.dumps(msg).encode()
                # fragment longer messages: text frame + continuation frames
                chunks = [raw[i : i + 50] for i in range(0, len(raw), 50)] if 60 < len(raw) < 2000 else [raw]
                for i, chunk in enumerate(chunks):
                    self.ws_frame(0x1 if i == 0 else 0x0, chunk, fin=i == len(chunks) - 1)
            else:  # legacy binary protocol: nbufs, offsets, JSON, buffers
                bufs = [json.dumps(msg).encode(), *binary_buffers]
                offsets = [4 * (len(bufs) + 1)]
                for buf in bufs[:-1]:
                    offsets.append(offsets[-1] + len(buf))
                self.ws_frame(0x2, struct.pack("!" + "I" * (len(bufs) + 1), len(bufs), *offsets) + b"".join(bufs))

        def ws_session(self, kernel):
            while True:
                opcode, data = self.ws_read()
                if opcode == 0x8:
                    self.ws_frame(0x8, data[:2])
                    return
                if opcode == 0xA:
                    site.pongs += 1
                    continue
                if opcode != 0x1:
                    continue
                msg = json.loads(data)
                assert msg["channel"] == "shell"
                assert msg["header"]["msg_type"] == "execute_request"
                parent = msg["header"]
                # noise for other requests first, then a ping the client must answer
                self.ws_send("status", {"execution_state": "idle"}, {"msg_id": "someone-else"})
                self.ws_frame(0x9, b"are-you-there")
                self.ws_send("status", {"execution_state": "busy"}, parent)
                if site.ws_mode == "close":
                    self.ws_frame(0x8, struct.pack("!H", 1011) + b"kernel died")
                    return
                if site.ws_mode == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if site.ws_mode == "silent":
                    continue
                stdout, error = kernel.execute(msg["content"]["code"])
                if stdout:
                    self.ws_send("stream", {"name": "stdout", "text": stdout}, parent)
                self.ws_send(
                    "display_data",
                    {"data": {"text/plain": "binary-display"}, "metadata": {}},
                    parent,
                    binary_buffers=[b"\x00\x01"],
                )
                if error:
                    ename, evalue = error
                    self.ws_send("error", {"ename": ename, "evalue": evalue, "traceback": []}, parent)
                    reply = {"status": "error", "ename": ename, "evalue": evalue, "execution_count": kernel.count}
                else:
                    reply = {"status": "ok", "execution_count": kernel.count, "user_expressions": {}}
                self.ws_send("execute_reply", reply, parent, channel="shell")
                self.ws_send("status", {"execution_state": "idle"}, parent)

    return Handler


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A CA and a server certificate for hub.probe.test, made with cryptography."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hubsite probe test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.probe.test")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hub.probe.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    files["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return {k: str(v) for k, v in files.items()}


@pytest.fixture
def site():
    with FakeSite() as fake:
        yield fake


def make_probe(site, **kw):
    kw.setdefault("password", PASSWORD)
    kw.setdefault("timeout", 10)
    kw.setdefault("execute_timeout", 10)
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("max_poll_interval", 0.2)
    kw.setdefault("http_timeout", 5)
    password = kw.pop("password")
    return hp.Probe(kw.pop("url", site.url), kw.pop("username", "bob"), password, **kw)


def run_failing(probe):
    with pytest.raises(hp.ProbeError) as info:
        probe.run()
    err = info.value
    assert err.steps, "a failure reports the steps so far"
    assert PASSWORD not in json.dumps({"msg": err.msg, "steps": err.steps, **err.result})
    return err


def step_names(steps):
    return [s["name"] for s in steps]


# -- tests -----------------------------------------------------------------------------------------


def test_happy_path(site):
    probe = make_probe(
        site,
        code="x = 6 * 7\nprint('answer', x)",
        expect_output=r"^answer 42$",
        file_path="probe/hello.txt",
        file_content="héllo ✓\n",
        kernel_shutdown=True,
        stop=True,
    )
    result = probe.run()
    assert step_names(result["steps"]) == [
        "hub_api",
        "login",
        "server_ready",
        "server_auth",
        "kernel",
        "execute",
        "file_write",
        "file_read",
        "kernel_shutdown",
        "stop",
    ]
    assert all(s["ok"] for s in result["steps"])
    assert all(isinstance(s["seconds"], float) and s["seconds"] >= 0 for s in result["steps"])
    steps = {s["name"]: s for s in result["steps"]}
    assert steps["server_ready"]["detail"] == "spawned"
    assert steps["server_auth"]["detail"].startswith("oauth")
    assert result["changed"] is False
    assert result["login"] == "form"
    assert result["hub_version"] == "6.1.1"
    assert result["output"] == "answer 42\n"
    assert result["execute_result"] == "binary-display"
    assert result["file_read_back"] == "héllo ✓\n"
    assert result["server_url"] == site.url + "user/bob/"
    assert result["server_was_running"] is False
    assert result["kernel_id"]
    assert result["kernel_reused"] is False
    assert result["kernel_shut_down"] is True
    assert not site.kernels
    assert result["stopped"] is True
    assert not site.servers
    assert result["total_seconds"] >= sum(s["seconds"] for s in result["steps"]) - 0.01
    assert site.pongs >= 1, "the server's ping was answered"
    assert PASSWORD not in json.dumps(result)
    assert site.files == {"probe/hello.txt": "héllo ✓\n"}


def test_large_messages_both_ways(site):
    big = "y" * 70000  # > 65535: 64-bit payload lengths from client and server
    result = make_probe(site, code=f"s = {big!r}\nprint(len(s))\nprint(s)").run()
    assert result["output"] == f"70000\n{big}\n"


def test_session_reuse_and_kernel_reuse(site, tmp_path):
    session = tmp_path / "bob.cookies"
    first = make_probe(site, session_file=str(session), code="kept = 'from run 1'").run()
    assert first["login"] == "form"
    assert stat.S_IMODE(os.stat(session).st_mode) == 0o600
    text = session.read_text()
    assert PASSWORD not in text
    assert site.login_posts == 1

    second = make_probe(
        site, session_file=str(session), password=None, kernel_id=first["kernel_id"], code="print(kept)"
    ).run()
    assert second["login"] == "cookie"
    assert site.login_posts == 1, "no second POST of the login form"
    steps = {s["name"]: s for s in second["steps"]}
    assert steps["server_ready"]["detail"] == "already running"
    assert steps["server_auth"]["detail"].startswith("cookie")
    assert second["kernel_reused"] is True
    assert second["kernel_id"] == first["kernel_id"]
    assert second["output"] == "from run 1\n"

    # a session the hub no longer knows: back to the form
    site.sessions.clear()
    third = make_probe(site, session_file=str(session)).run()
    assert third["login"] == "form"
    assert site.login_posts == 2


def test_stale_session_without_password(site, tmp_path):
    session = tmp_path / "bob.cookies"
    make_probe(site, session_file=str(session)).run()
    site.sessions.clear()
    err = run_failing(make_probe(site, session_file=str(session), password=None))
    assert err.msg == "no valid session for bob in session_file and no password to log in with"


def test_bad_credentials(site):
    err = run_failing(make_probe(site, password="wrong"))
    assert err.msg == f"login refused for bob at {site.url}hub/login: bad username or password (HTTP 403)"
    assert step_names(err.steps) == ["hub_api", "login"]
    assert err.steps[-1]["ok"] is False
    assert err.steps[-1]["http_status"] == 403
    assert "wrong" not in json.dumps(err.steps)


def test_server_never_ready(site):
    site.never_ready = True
    started = time.monotonic()
    err = run_failing(make_probe(site, timeout=2, max_poll_interval=0.5))
    assert time.monotonic() - started < 4
    assert err.msg == "server for bob not ready after 2 s (last state: pending spawn)"
    assert err.steps[-1]["name"] == "server_ready"
    assert err.steps[-1]["ok"] is False


def test_spawn_failure(site):
    site.spawn_fails = True
    site.spawn_delay = 1.0
    err = run_failing(make_probe(site))
    assert "the spawn failed" in err.msg


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("close", "websocket closed before the execute reply (close code 1011: kernel died; seen: status busy)"),
        ("drop", "websocket closed before the execute reply (close code 1006: connection closed without a close"),
    ],
)
def test_websocket_closed_before_reply(site, mode, expected):
    site.ws_mode = mode
    err = run_failing(make_probe(site, code="print(1)"))
    assert err.msg.startswith(expected)
    assert err.steps[-1]["name"] == "execute"
    assert not err.steps[-1]["ok"]


def test_execute_timeout(site):
    site.ws_mode = "silent"
    err = run_failing(make_probe(site, code="print(1)", execute_timeout=0.5))
    assert err.msg.startswith("no execute reply from kernel ")
    assert "within 0.5 s (seen: status busy)" in err.msg


def test_kernel_error(site):
    err = run_failing(make_probe(site, code="print(undefined_name)", kernel_shutdown=True))
    assert err.msg == "kernel error: NameError: name 'undefined_name' is not defined"
    names = step_names(err.steps)
    assert names[-2:] == ["execute", "kernel_shutdown"], "the requested cleanup still runs"
    assert not site.kernels


def test_expect_output_mismatch(site):
    err = run_failing(make_probe(site, code="print('actual text')", expect_output="^expected$"))
    assert err.msg == "output 'actual text' does not match expect_output '^expected$'"
    assert err.result["output"] == "actual text\n"


def test_kernel_id_gone(site):
    err = run_failing(make_probe(site, kernel_id="4f1c-gone", code="print(1)"))
    assert err.msg == "kernel 4f1c-gone is gone (HTTP 404 from bob's server)"
    assert err.steps[-1]["http_status"] == 404


def test_unknown_kernel_name(site):
    err = run_failing(make_probe(site, kernel_name="python4", code="print(1)"))
    assert err.msg == "starting a python4 kernel on bob's server failed: HTTP 500: No such kernel named python4"


def test_named_server_and_read_only_file(site):
    site.files["notes.txt"] = "already there"
    result = make_probe(site, server_name="gpu", file_path="notes.txt").run()
    assert result["server_url"] == site.url + "user/bob/gpu/"
    assert result["file_read_back"] == "already there"
    assert "file_write" not in step_names(result["steps"])
    assert ("POST", "/hub/api/users/bob/servers/gpu") in site.requests


def test_missing_file(site):
    err = run_failing(make_probe(site, file_path="nope.txt"))
    assert err.msg == "reading nope.txt on bob's server failed: HTTP 404: No such file or directory: nope.txt"


def test_tls_with_resolve(tls_files):
    with FakeSite(tls=tls_files) as fake:
        # url on the default port: the connection goes to 127.0.0.1:<port>, Host and SNI stay hub.probe.test
        probe = make_probe(
            fake,
            url="https://hub.probe.test/",
            resolve={"hub.probe.test": f"127.0.0.1:{fake.port}"},
            ca_path=tls_files["ca"],
            code="print('tls ok')",
            expect_output="tls ok",
            file_path="t.txt",
            file_content="over tls",
        )
        result = probe.run()
    assert result["output"] == "tls ok\n"
    assert result["server_url"] == "https://hub.probe.test/user/bob/"
    assert result["file_read_back"] == "over tls"
    assert fake.hosts == {"hub.probe.test"}
    assert fake.snis == {"hub.probe.test"}


def test_tls_verify_failure(tls_files):
    with FakeSite(tls=tls_files) as fake:
        probe = make_probe(fake, url=f"https://hub.probe.test:{fake.port}/", resolve={"hub.probe.test": "127.0.0.1"})
        err = run_failing(probe)
        assert err.msg.startswith(
            f"TLS certificate verification failed for https://hub.probe.test:{fake.port} "
            f"(connecting to 127.0.0.1:{fake.port} as set by resolve): "
        )
        assert "set ca_path" in err.msg
        # the right CA but the wrong name
        err = run_failing(make_probe(fake, url=fake.url, ca_path=tls_files["ca"]))
        assert "TLS certificate verification failed for https://127.0.0.1" in err.msg
        assert "does not name 127.0.0.1" in err.msg
        # validate_certs: false gets through
        assert make_probe(fake, url=fake.url, validate_certs=False).check()["hub_version"] == "6.1.1"


def test_cannot_connect():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    probe = hp.Probe("https://hub.probe.test/", "bob", "x", resolve={"hub.probe.test": f"127.0.0.1:{port}"})
    with pytest.raises(hp.ProbeError) as info:
        probe.check()
    assert info.value.msg.startswith(
        f"cannot connect to https://hub.probe.test (connecting to 127.0.0.1:{port} as set by resolve): "
    )
    assert info.value.steps[0]["ok"] is False


def test_check_mode(site):
    result = make_probe(site, code="print(1)", stop=True).check()
    assert result["hub_version"] == "6.1.1"
    assert step_names(result["steps"]) == ["hub_api"]
    assert site.requests == [("GET", "/hub/api")]


def test_check_mode_not_a_hub():
    with FakeSite() as fake, pytest.raises(hp.ProbeError) as info:
        make_probe(fake, url=fake.url + "elsewhere/").check()
    err = info.value
    assert err.msg == f"GET {fake.url}elsewhere/hub/api answered HTTP 404: not found"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"file_path": "/etc/passwd"}, "file_path '/etc/passwd' must be a path relative to the user's home"),
        ({"file_path": "../x"}, "file_path '../x' must be a path relative to the user's home"),
        ({"file_content": "x"}, "file_content needs file_path"),
        ({"expect_output": "("}, "expect_output is not a valid regular expression"),
        ({"login_method": "token"}, "login_method 'token' is not supported (supported: form, oidc, spnego)"),
        ({"resolve": {"h": "1.2.3.4:99999"}}, "resolve entry 'h': bad port in '1.2.3.4:99999'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(hp.ProbeError) as info:
        hp.Probe("http://hub.example/", "bob", "x", **kwargs)
    assert info.value.msg.startswith(message)


def test_parse_resolve():
    assert hp.parse_resolve({"Hub.Example": "10.0.0.1", "h:443": "[::1]:8443", "x": "::1"}) == {
        "hub.example": ("10.0.0.1", None),
        "h:443": ("::1", 8443),
        "x": ("::1", None),
    }


# -- the Ansible module, end to end ----------------------------------------------------------------


def test_ansible_module_end_to_end(site, tmp_path):
    """One ansible-playbook run: a probe, a failing probe and a check-mode probe through the real module."""
    ansible_playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    if ansible_playbook is None:
        pytest.skip("ansible-playbook is not installed next to this Python")
    args = {
        "url": site.url,
        "username": "bob",
        "password": PASSWORD,
        "session_file": str(tmp_path / "s.cookies"),
        "code": "print('from ansible')",
        "expect_output": "^from ansible$",
        "timeout": 10,
    }
    tasks = [
        {"name": "probe", "hubsite_probe": args, "register": "probe"},
        {"name": "failing", "hubsite_probe": {**args, "expect_output": "^nope$"}, "ignore_errors": True},
        {"name": "check", "hubsite_probe": {**args, "kernel_id": "{{ probe.kernel_id }}"}, "check_mode": True},
    ]
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    playbook = tmp_path / "probe.yml"
    playbook.write_text(json.dumps(play))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_NOCOLOR="1",
    )
    cmd = [ansible_playbook, "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert PASSWORD not in proc.stdout + proc.stderr, "no_log keeps the password out"
    results = [task["hosts"]["localhost"] for task in json.loads(proc.stdout)["plays"][0]["tasks"]]
    ok, failed, checked = results

    assert ok.get("failed") is not True, ok.get("msg")
    assert ok["changed"] is False
    assert ok["login"] == "form"
    assert ok["output"] == "from ansible\n"
    assert [s["name"] for s in ok["steps"]] == ["hub_api", "login", "server_ready", "server_auth", "kernel", "execute"]

    assert failed["failed"] is True
    assert failed["msg"] == "output 'from ansible' does not match expect_output '^nope$'"
    assert failed["login"] == "cookie", "the session file of the first task was reused"
    assert failed["steps"][-1]["name"] == "execute"
    assert failed["steps"][-1]["ok"] is False

    assert checked["hub_version"] == "6.1.1"
    assert [s["name"] for s in checked["steps"]] == ["hub_api"]
    assert site.login_posts == 1


def test_login_handed_over_to_another_instance_is_posted_again(site):
    """A/B: a 307 answer to the login form is followed with the same form (a browser re-posts it)."""
    site.handover_users.add("bob")
    result = make_probe(site, url=site.url).run()
    assert result["login"] == "form"
    assert result["login_handovers"] == 1
    assert site.login_posts == 2
    assert result["instance"] == "b"
    assert ("POST", "/hub/login") in site.requests


def test_login_without_handover(site):
    result = make_probe(site).run()
    assert result["login_handovers"] == 0
    assert result["instance"] == "a"


def test_spnego_login_answers_the_401_with_a_fresh_token(site):
    site.spnego_tokens = {}
    asked = []

    def negotiate(hostname):
        asked.append(hostname)
        token = base64.b64encode(uuid.uuid4().bytes).decode()
        site.spnego_tokens[token] = "bob"
        return token

    result = make_probe(site, password=None, login_method="spnego", negotiate=negotiate, stop=True).run()
    assert result["login"] == "spnego"
    assert asked == ["127.0.0.1"]
    assert result["stopped"] is True
    assert site.login_posts == 0, "no password form was posted"


def test_spnego_token_refused_is_a_login_error(site):
    site.spnego_tokens = {}
    failed = run_failing(
        make_probe(site, password=None, login_method="spnego", negotiate=lambda host: "bm90LWEtdGlja2V0")
    )
    assert "login refused for bob (Kerberos single sign-on)" in failed.msg
    assert "Your Kerberos ticket was not accepted." in failed.msg


def test_spnego_against_a_form_login_page_says_no_ticket_was_asked_for(site):
    failed = run_failing(make_probe(site, password=None, login_method="spnego", negotiate=lambda host: "eA=="))
    assert "did not ask for a Kerberos ticket" in failed.msg


def test_spnego_client_failure_is_reported(site):
    site.spnego_tokens = {}

    def no_ticket(hostname):
        raise RuntimeError("No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_0)")

    failed = run_failing(make_probe(site, password=None, login_method="spnego", negotiate=no_ticket))
    assert "no SPNEGO token for HTTP@127.0.0.1: No Kerberos credentials available" in failed.msg


def test_password_form_in_a_single_sign_on_login_page(site):
    """A browser without a ticket shows the 401's body, the password form: the probe posts it."""
    site.spnego_tokens = {}
    result = make_probe(site).run()
    assert result["login"] == "form"
    assert site.login_posts == 1
