"""Filter: NGINX upstream servers for a hub instance, from the inventory's hub hosts."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_nginx_upstreams
short_description: Build the NGINX upstream servers of a hub instance
version_added: "0.1.0"
description:
  - The first hub host is the primary; every further host is a C(backup) that NGINX only uses while the
    primary refuses or times out (JupyterHub must never be load-balanced, since one hub owns the database).
  - The primary gets C(max_fails) and C(fail_timeout); backups get C(max_fails=0) so that a cold start, when
    every hub still refuses, never marks them all down (an NGINX "no live upstreams" trap).
  - A host is a name or an IP address; an IPv6 address is bracketed (C([2001:db8::1]:8000)). A name with a port
    is refused, since the port is I(port), the same on every hub.
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


def _integer(name, value, minimum, maximum=None) -> int:
    """value as an int (a whole number, or its digits as a string), within [minimum, maximum]."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: {name} {value!r} is not an integer")
    try:
        number = int(value)
    except (TypeError, ValueError) as e:
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: {name} {value!r} is not an integer") from e
    if number < minimum or (maximum is not None and number > maximum):
        limits = f"{minimum}-{maximum}" if maximum is not None else f"{minimum} or more"
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: {name} {number} is not in {limits}")
    return number


def _address(host, port) -> str:
    if not isinstance(host, str) or not host or any(c in host for c in " ;{}#'\"\t\r\n"):
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: {host!r} is not a valid host name")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        ip = None
    if ip is not None:
        return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    if ":" in host or "[" in host or "]" in host:
        raise AnsibleFilterError(
            f"hubsite_nginx_upstreams: {host!r} is not a host name or an IP address (a host name takes no port: "
            "the port is the filter's argument)"
        )
    return f"{host}:{port}"


def nginx_upstreams(hosts, port, max_fails: int = 1, fail_timeout: int = 10) -> list[str]:
    if not isinstance(hosts, (list, tuple)) or not hosts:
        raise AnsibleFilterError("hubsite_nginx_upstreams: expected a non-empty list of hub host names")
    port = _integer("port", port, 1, 65535)
    max_fails = _integer("max_fails", max_fails, 0)
    fail_timeout = _integer("fail_timeout", fail_timeout, 1)
    addresses = [_address(host, port) for host in hosts]
    if len(set(addresses)) != len(addresses):
        raise AnsibleFilterError(f"hubsite_nginx_upstreams: duplicate hub hosts in {list(hosts)!r}")
    lines = []
    for i, addr in enumerate(addresses):
        if i == 0:
            lines.append(f"server {addr} max_fails={max_fails} fail_timeout={fail_timeout}s")
        else:
            lines.append(f"server {addr} max_fails=0 backup")
    return lines


class FilterModule:
    def filters(self):
        return {"hubsite_nginx_upstreams": nginx_upstreams}
