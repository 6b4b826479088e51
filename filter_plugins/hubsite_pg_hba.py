"""Filter: pg_hba.conf host entries for the site's database clients."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_pg_hba
short_description: Build pg_hba.conf host entries for database clients
version_added: "0.1.0"
description:
  - Every client host may reach every database as that database's owner role, from its own address only
    (a /32 or /128), over TLS or not as I(hostssl) says, authenticated by I(method).
  - The result is sorted and free of duplicates, so the rendered file is stable from run to run.
options:
  _input:
    description: Client hosts, as returned by C(hubsite_host_addresses).
    type: list
    elements: dict
    required: true
  databases:
    description: Databases, each a dict with C(name) and C(owner).
    type: list
    elements: dict
    required: true
  method:
    description: Authentication method.
    type: str
    default: scram-sha-256
  hostssl:
    description: Require TLS (C(hostssl)) rather than allow either (C(host)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Render the entries
  ansible.builtin.debug:
    msg: "{{ [{'name': 'hub1', 'address': '10.0.0.5'}] | hubsite_pg_hba([{'name': 'jupyterhub', 'owner': 'jupyterhub'}]) }}"
"""

RETURN = r"""
_value:
  description: Entries with C(type), C(database), C(user), C(address) and C(method), sorted.
  type: list
  elements: dict
"""

METHODS = ("scram-sha-256", "md5", "cert", "reject")


def pg_hba(clients, databases, method: str = "scram-sha-256", hostssl: bool = False) -> list[dict]:
    if method not in METHODS:
        raise AnsibleFilterError(f"hubsite_pg_hba: method {method!r} is not one of {', '.join(METHODS)}")
    if not isinstance(clients, (list, tuple)) or not isinstance(databases, (list, tuple)):
        raise AnsibleFilterError("hubsite_pg_hba: expected a list of clients and a list of databases")
    entries = set()
    for client in clients:
        try:
            net = ipaddress.ip_network(str(client["address"]))
        except (KeyError, TypeError, ValueError) as e:
            raise AnsibleFilterError(f"hubsite_pg_hba: client {client!r} has no valid 'address'") from e
        for db in databases:
            if not isinstance(db, dict) or not db.get("name") or not db.get("owner"):
                raise AnsibleFilterError(f"hubsite_pg_hba: database {db!r} needs a 'name' and an 'owner'")
            entries.add(("hostssl" if hostssl else "host", str(db["name"]), str(db["owner"]), str(net), method))
    keys = ("type", "database", "user", "address", "method")
    return [dict(zip(keys, e, strict=True)) for e in sorted(entries)]


class FilterModule:
    def filters(self):
        return {"hubsite_pg_hba": pg_hba}
