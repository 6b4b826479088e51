"""Filter: pg_hba.conf host entries for the site's database clients."""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_pg_hba
short_description: Build pg_hba.conf host entries for database clients
version_added: "0.1.0"
description:
  - Every client host may reach every database as that database's owner role, from its own address only
    (a /32 or /128), over TLS or not as I(hostssl) says, authenticated by I(method).
  - The result is sorted and free of duplicates, so the rendered file is stable from run to run.
  - Database and owner names must be plain identifiers (letters, digits, C(_), C($), C(-); at most 63 characters) and
    not a pg_hba.conf keyword (C(all), C(sameuser), C(samerole), C(samegroup), C(replication)), which would widen the
    entry. Client addresses must be single IP addresses (a network would admit more than the host).
  - Error messages never print a database entry whole, since it may carry the owner's password.
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
    msg: >-
      {{ [{'name': 'hub1', 'address': '10.0.0.5'}]
         | hubsite_pg_hba([{'name': 'jupyterhub', 'owner': 'jupyterhub'}]) }}
"""

RETURN = r"""
_value:
  description: Entries with C(type), C(database), C(user), C(address) and C(method), sorted.
  type: list
  elements: dict
"""

METHODS = ("scram-sha-256", "md5", "cert", "reject")
# Words with a meaning of their own in the DATABASE or USER column of pg_hba.conf.
KEYWORDS = ("all", "sameuser", "samerole", "samegroup", "replication")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")


def _database(index, db) -> tuple[str, str]:
    if not isinstance(db, dict):
        raise AnsibleFilterError(f"hubsite_pg_hba: databases[{index}] is a {type(db).__name__}, not a dict")
    pair = []
    for key in ("name", "owner"):
        value = db.get(key)
        if not value:
            raise AnsibleFilterError(f"hubsite_pg_hba: databases[{index}] needs a 'name' and an 'owner'")
        value = str(value)
        if not NAME.match(value) or value.lower() in KEYWORDS:
            raise AnsibleFilterError(
                f"hubsite_pg_hba: databases[{index}].{key} {value!r} cannot be used in pg_hba.conf; use letters, "
                f"digits, _, $ and - (at most 63 characters, not one of {', '.join(KEYWORDS)})"
            )
        pair.append(value)
    return pair[0], pair[1]


def _address(client) -> str:
    try:
        address = ipaddress.ip_address(str(client["address"]))
    except (KeyError, TypeError, ValueError) as e:
        raise AnsibleFilterError(
            f"hubsite_pg_hba: client {client!r} has no valid 'address' (a single IP address, no network)"
        ) from e
    if getattr(address, "scope_id", None):
        raise AnsibleFilterError(
            f"hubsite_pg_hba: client {client!r} has an address with a zone index, which pg_hba.conf cannot match"
        )
    return str(ipaddress.ip_network(address))


def pg_hba(clients, databases, method: str = "scram-sha-256", hostssl: bool = False) -> list[dict]:
    if method not in METHODS:
        raise AnsibleFilterError(f"hubsite_pg_hba: method {method!r} is not one of {', '.join(METHODS)}")
    if not isinstance(hostssl, bool):
        raise AnsibleFilterError(f"hubsite_pg_hba: hostssl must be true or false, got {hostssl!r}")
    if not isinstance(clients, (list, tuple)) or not isinstance(databases, (list, tuple)):
        raise AnsibleFilterError("hubsite_pg_hba: expected a list of clients and a list of databases")
    pairs = [_database(i, db) for i, db in enumerate(databases)]
    addresses = [_address(client) for client in clients]
    entry_type = "hostssl" if hostssl else "host"
    entries = {(entry_type, name, owner, address, method) for address in addresses for name, owner in pairs}
    keys = ("type", "database", "user", "address", "method")
    return [dict(zip(keys, e, strict=True)) for e in sorted(entries)]


class FilterModule:
    def filters(self):
        return {"hubsite_pg_hba": pg_hba}
