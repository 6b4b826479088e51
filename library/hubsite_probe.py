#!/usr/bin/python
"""Ansible module hubsite_probe: the logic lives in module_utils/hubsite_probe.py."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hubsite_probe
short_description: Act like a real user against a JupyterHub site (login, server, kernel, files)
description:
  - Walks through a JupyterHub 6 site the way a browser user does, with the Python standard library only
    (no requests, no websocket library), so it runs on the controller (C(delegate_to) V(localhost)).
  - C(GET hub/api) first (reachability and the hub version), then logs in with the hub's login form
    (or reuses the cookies of O(session_file)), makes sure the user's server runs (starts it through
    C(POST hub/api/users/<user>/server) and waits for it when needed), completes the single-user server's
    OAuth with the hub by following the redirects by hand, starts a kernel (or reuses O(kernel_id)), runs
    O(code) over the kernel websocket (its own RFC 6455 client, Jupyter's default JSON message protocol),
    writes and reads back O(file_path) with the contents API, and can shut the kernel down and stop the server.
  - State-changing requests carry C(X-XSRFToken) from the C(_xsrf) cookie of their path and C(Sec-Fetch-Mode)
    like a browser; the kernel websocket sends an C(Origin) header, so a front proxy that rewrites C(Host)
    (for example NGINX C($host), which drops a non-default port) makes the probe fail exactly as JupyterLab would.
  - The module always reports C(changed=false), as it is a check. It does act on the site as the user does
    (it may start the server, start a kernel, write O(file_path) in the user's home, stop the server).
  - Each step is timed; on failure the message is one line for an operator and RV(steps) shows how far it got.
    Passwords and cookie values never appear in results or messages.
  - When a step fails after the server is up, the requested O(kernel_shutdown) and O(stop) are still attempted.
version_added: "1.0.0"
author:
  - hubsite
options:
  url:
    description:
      - Base URL of the site, for example V(https://hub.demo.hubsite.test:8443/). The hub lives at C(<url>hub/).
    type: str
    required: true
  username:
    description: The user to act as.
    type: str
    required: true
  password:
    description:
      - Password for the login form. Not needed while O(session_file) holds a valid session.
    type: str
  login_method:
    description:
      - How to log in. V(form) posts the hub's login form (C(hub/login)) with its C(_xsrf) token.
      - V(oidc) follows the hub's C(hub/oauth_login) to the OpenID Connect provider, fills in its login form
        (fields C(login) or C(username), and C(password)) and follows the redirects back to C(hub/oauth_callback).
        O(resolve) must map the provider's host too when it is not in DNS.
      - V(spnego) is Kerberos single sign-on: the login page's 401 is answered with a SPNEGO token for
        C(HTTP@<host of url>) made from the default credential cache (C(KRB5CCNAME); needs python-gssapi where the
        module runs), delegating the ticket to the hub. No password is used.
    type: str
    choices: [form, oidc, spnego]
    default: form
  session_file:
    description:
      - Cookie file (LWP format, written with mode 0600). Loaded before the login and saved at the end.
      - If its hub session is still valid, the login form is not posted again and RV(login) is V(cookie).
    type: path
  server_name:
    description: Named server to use; the empty string is the user's default server.
    type: str
    default: ''
  timeout:
    description:
      - Seconds to wait for the server to be ready (and, with O(stop), to be stopped).
      - The hub answers the start request itself only after up to its C(slow_spawn_timeout) (10 s by default);
        a server that is ready by then counts as ready.
    type: int
    default: 120
  kernel_name:
    description: Kernel spec to start.
    type: str
    default: python3
  kernel_id:
    description:
      - Reuse this running kernel instead of starting one. The probe fails with C(kernel <id> is gone)
        when the server does not know it any more.
    type: str
  code:
    description:
      - Python code to execute in the kernel over the websocket. Without it (and without O(kernel_id) or
        O(kernel_shutdown)) no kernel is started.
    type: str
  expect_output:
    description:
      - Regular expression the stdout stream of O(code) must match (C(re.search), trailing newline stripped).
        The failure message shows the actual output.
    type: str
  execute_timeout:
    description: Seconds to wait for the kernel's execute reply (websocket handshake included).
    type: int
    default: 60
  file_path:
    description:
      - File relative to the user's home (the server's root). With O(file_content) it is written with the
        contents API (C(PUT)) and read back (C(GET)); alone it is only read back. Its directory must exist.
    type: str
  file_content:
    description: Text to write to O(file_path).
    type: str
  kernel_shutdown:
    description: Shut the kernel down at the end (C(DELETE api/kernels/<id>)).
    type: bool
    default: false
  stop:
    description: Stop the server at the end (C(DELETE hub/api/users/<user>/server)) and wait until it is stopped.
    type: bool
    default: false
  validate_certs:
    description: Check the site's TLS certificate and name.
    type: bool
    default: true
  ca_path:
    description: CA bundle file (or hashed directory) to trust in addition to the system CAs.
    type: path
  resolve:
    description:
      - Like C(curl --resolve). Maps a host name (or C(host:port)) of O(url) to V(ip) or V(ip:port).
        The connection goes to that address; the C(Host) header, TLS SNI and certificate check keep the name.
    type: dict
notes:
  - Runs on the controller; use C(delegate_to) V(localhost) and C(run_once) as needed.
  - Supports check mode; in check mode only C(GET <url>hub/api) runs (it must answer JSON with C(version)).
  - Every run without O(kernel_id) starts a new kernel; use O(kernel_shutdown) or reuse a kernel so they do not pile up.
"""

EXAMPLES = r"""
- name: Log in as bob, run code, write and read a file
  hubsite_probe:
    url: "https://{{ site_domain }}:{{ site_public_port }}/"
    username: bob
    password: "{{ probe_password }}"
    session_file: "{{ playbook_dir }}/../.cache/probe-bob.cookies"
    code: "import sys; print('ok', sys.version_info[:2])"
    expect_output: "^ok \\(3, \\d+\\)$"
    file_path: hubsite-probe.txt
    file_content: "written by the probe"
    kernel_shutdown: true
    ca_path: "{{ site_ca_file }}"
    resolve:
      hub.demo.hubsite.test: "127.0.0.1:8443"
  delegate_to: localhost
  run_once: true
  register: probe

- name: Show the timings
  ansible.builtin.debug:
    msg: "{{ probe.steps | map(attribute='name') | zip(probe.steps | map(attribute='seconds')) | list }}"

- name: Run more code in the same kernel, then stop the server
  hubsite_probe:
    url: "https://hub.demo.hubsite.test:8443/"
    username: bob
    session_file: "{{ playbook_dir }}/../.cache/probe-bob.cookies"
    kernel_id: "{{ probe.kernel_id }}"
    code: "print(40 + 2)"
    expect_output: "^42$"
    kernel_shutdown: true
    stop: true
    timeout: 60
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Always false (the probe is a check).
  returned: always
  type: bool
url:
  description: The site URL used (with a trailing slash).
  returned: always
  type: str
username:
  description: The user the probe acted as.
  returned: always
  type: str
server_name:
  description: The server name used ('' for the default server).
  returned: always
  type: str
hub_version:
  description: JupyterHub version from C(GET hub/api).
  returned: when the hub answered
  type: str
  sample: 6.1.1
login:
  description: V(form) when the login form was posted, V(cookie) when the session of O(session_file) was reused.
  returned: after a successful login
  type: str
login_handovers:
  description:
    - How many times the login was handed over to another hub instance (A/B routing, docs/front.md) with a 307
      answer to the login form, which the probe follows by posting the form again, as a browser does.
  returned: after a form login
  type: int
instance:
  description: V(a) or V(b), the instance the front sent the logged-in user to (its C(X-Hubsite-Instance) header).
  returned: after a successful login, with A/B routing
  type: str
server_was_running:
  description: Whether the server was already running (false when the probe spawned it).
  returned: when the server got ready
  type: bool
server_url:
  description: Full URL of the user's server.
  returned: when the server got ready
  type: str
  sample: https://hub.demo.hubsite.test:8443/user/bob/
kernel_id:
  description: Id of the kernel used (pass it as O(kernel_id) to reuse the kernel).
  returned: when a kernel was started or reused
  type: str
kernel_name:
  description: Kernel spec name of that kernel.
  returned: when a kernel was started or reused
  type: str
kernel_reused:
  description: True when O(kernel_id) was reused.
  returned: when a kernel was started or reused
  type: bool
output:
  description: Text of the stdout stream of O(code).
  returned: when O(code) ran
  type: str
output_stderr:
  description: Text of the stderr stream of O(code).
  returned: when O(code) ran
  type: str
execute_result:
  description: C(text/plain) of execute_result and display_data messages, one per line.
  returned: when O(code) ran
  type: str
execution_count:
  description: Execution count from the execute reply.
  returned: when O(code) ran
  type: int
file_read_back:
  description: Content of O(file_path) read back through the contents API.
  returned: when O(file_path) is set
  type: str
kernel_shut_down:
  description: True when the kernel was shut down.
  returned: with O(kernel_shutdown)
  type: bool
stopped:
  description: True when the server was stopped.
  returned: with O(stop)
  type: bool
total_seconds:
  description: Wall time of the whole probe.
  returned: always
  type: float
steps:
  description:
    - One entry per step, in order; names are C(hub_api), C(login), C(server_ready) (detail V(spawned) or
      V(already running)), C(server_auth) (detail C(oauth) or C(cookie)), C(kernel), C(execute), C(file_write),
      C(file_read), C(kernel_shutdown), C(stop). On failure the failed step has C(ok=false) and the error as detail.
  returned: always (also on failure)
  type: list
  elements: dict
  contains:
    name:
      description: Step name.
      type: str
    seconds:
      description: Duration, 3 decimals.
      type: float
    ok:
      description: Whether the step succeeded.
      type: bool
    detail:
      description: What happened, or the error.
      type: str
    http_status:
      description: HTTP status of the step's main request, where there is one.
      type: int
  sample:
    - {name: login, seconds: 0.187, ok: true, detail: "logged in with the form (HTTP 302)", http_status: 302}
warnings:
  description: Non-fatal problems, for example an unreadable O(session_file).
  returned: when there were some
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - Ansible modules import after their docs
from ansible.module_utils.hubsite_probe import Probe, ProbeError  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "username": {"type": "str", "required": True},
            "password": {"type": "str", "no_log": True},
            "login_method": {"type": "str", "choices": ["form", "oidc", "spnego"], "default": "form"},
            "session_file": {"type": "path"},
            "server_name": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 120},
            "kernel_name": {"type": "str", "default": "python3"},
            "kernel_id": {"type": "str"},
            "code": {"type": "str"},
            "expect_output": {"type": "str"},
            "execute_timeout": {"type": "int", "default": 60},
            "file_path": {"type": "str"},
            "file_content": {"type": "str"},
            "kernel_shutdown": {"type": "bool", "default": False},
            "stop": {"type": "bool", "default": False},
            "validate_certs": {"type": "bool", "default": True},
            "ca_path": {"type": "path"},
            "resolve": {"type": "dict"},
        },
        required_by={"file_content": "file_path"},
        supports_check_mode=True,
    )
    p = module.params
    try:
        probe = Probe(
            p["url"],
            p["username"],
            p["password"],
            login_method=p["login_method"],
            session_file=p["session_file"],
            server_name=p["server_name"],
            timeout=p["timeout"],
            kernel_name=p["kernel_name"],
            kernel_id=p["kernel_id"],
            code=p["code"],
            expect_output=p["expect_output"],
            file_path=p["file_path"],
            file_content=p["file_content"],
            stop=p["stop"],
            validate_certs=p["validate_certs"],
            ca_path=p["ca_path"],
            resolve=p["resolve"],
            kernel_shutdown=p["kernel_shutdown"],
            execute_timeout=p["execute_timeout"],
        )
        result = probe.check() if module.check_mode else probe.run()
    except ProbeError as exc:
        extra = dict(exc.result)
        extra.pop("changed", None)
        extra["steps"] = exc.steps
        module.fail_json(msg=exc.msg, changed=False, **extra)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
