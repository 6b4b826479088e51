"""Filter: NGINX upstream servers for a hub instance, from the inventory's hub hosts."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_nginx_upstreams
short_description: Build the NGINX upstream servers of a hub instance
version_added: "0.1.0"
description:
  - The first hub host is the primary; every further host is a C(backup) that NGINX only uses while the
    primary refuses or times out (JupyterHub must never be load-balanced: one hub owns the database).
  - The primary gets C(max_fails) and C(fail_timeout); backups get C(max_fails=0) so that a cold start, when
    every hub still refuses, never marks them all down (an NGINX "no live upstreams" trap).
options:
  _input:
    description: Hub host names (resolvable from the front), primary first.
    type: list
    elements: str
    required: true
  port:
    description: Port of configurable-http-proxy on each hub host.
    type: int
    required: true
  max_fails:
    description: C(max_fails) of the primary.
    type: int
    default: 1
  fail_timeout:
    description: C(fail_timeout) of the primary, in seconds.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Render upstream servers
  ansible.builtin.debug:
    msg: "{{ groups['hub'] | hubsite_nginx_upstreams(8000) }}"
"""

RETURN = r"""
_value:
  description: Upstream server lines, without the trailing semicolon.
  type: list
  elements: str
"""


def nginx_upstreams(hosts, port, max_fails: int = 1, fail_timeout: int = 10) -> list[str]:
    if not isinstance(hosts, (list, tuple)) or not hosts:
        raise AnsibleFilterError("hubsite_nginx_upstreams: expected a non-empty list of hub host names")
    try:
        port = int(port)
    except (TypeError, ValueError) as e:
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: port {port!r} is not an integer") from e
    if not 0 < port < 65536:
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: port {port} is not in 1-65535")
    if len(set(hosts)) != len(hosts):
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: duplicate hub hosts in {list(hosts)!r}")
    lines = []
    for i, host in enumerate(hosts):
        host = str(host)
        if not host or any(c in host for c in " ;{}\t\n"):
            raise AnsibleFilterError(f"hubsite_nginx_upstreams: {host!r} is not a valid host name")
        addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if i == 0:
            lines.append(f"server {addr} max_fails={int(max_fails)} fail_timeout={int(fail_timeout)}s")
        else:
            lines.append(f"server {addr} max_fails=0 backup")
    return lines


class FilterModule:
    def filters(self):
        return {"hubsite_nginx_upstreams": nginx_upstreams}
