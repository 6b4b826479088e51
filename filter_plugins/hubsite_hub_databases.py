"""Filter: the PostgreSQL database and login role of every hub instance, as the hubs will use them."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_hub_databases
short_description: One database and login role per hub instance, with the password the instance's hubs use
version_added: "0.2.0"
description:
  - For each hub host (group C(hub) is the main instance, the group that C(site_ab_routing.instance) names the B
    instance), the database the C(jupyterhub) role will connect to, computed the way that role's defaults are
    (roles/jupyterhub/defaults/main.yml), so that the database role creates exactly what the hubs use.
  - Instance name C(jupyterhub_instance_name) if the host sets it, else C(main) or the B group's name. Database
    and role C(jupyterhub_db_name) / C(jupyterhub_db_user) if set, else C(jupyterhub) for the main instance and
    C(jupyterhub_<instance>) for another.
  - The password is the host's C(jupyterhub_db_password) if the inventory sets it; else, for the main instance,
    C(vault_postgresql_jupyterhub_password) if set; else the file the hubs generate it into, once,
    C(<secrets_dir>/postgresql_jupyterhub_password) for the main instance and
    C(<secrets_dir>/<instance>/postgresql_jupyterhub_password) for another (the caller reads it with the
    C(ansible.builtin.password) lookup, as the hubs do).
  - One entry per database, in the order of I(_input). Hosts of one instance must agree on the database (the
    validate play reports it otherwise); two instances on one database, or one database with two owners, is an
    error here.
options:
  _input:
    description: The hub hosts of every instance (inventory names).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  ab_routing:
    description: C(site_ab_routing), or none / an empty dict.
    type: dict
    default: {}
  secrets_dir:
    description: C(site_secrets_dir).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Show the hub instances' databases
  ansible.builtin.debug:
    msg: >-
      {{ groups['hub'] | hubsite_hub_databases(hostvars, site_ab_routing | default({}), site_secrets_dir)
         | map(attribute='name') | list }}
"""

RETURN = r"""
_value:
  description:
    - Dicts with C(name) (database), C(owner) (login role), C(instance), C(hosts) (the instance's hub hosts), and
      either C(password) (from the inventory) or C(password_file) (generated once by the password lookup).
  type: list
  elements: dict
"""

FILTER = "hubsite_hub_databases"
MAIN = "main"
SECRET_FILE = "postgresql_jupyterhub_password"


def _instance(group_names, ab_routing):
    """Same rule as the hubsite_hub_instance filter (tests/unit keep the two in step)."""
    if "hub" in group_names:
        return MAIN
    group = ab_routing.get("instance") if isinstance(ab_routing, Mapping) else None
    if isinstance(group, str) and group and group in group_names:
        return group
    return ""


def hub_databases(hosts, hostvars, ab_routing=None, secrets_dir=None) -> list:
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"{FILTER}: expected a list of hub hosts, got {type(hosts).__name__}")
    if not secrets_dir or not isinstance(secrets_dir, str):
        raise AnsibleFilterError(f"{FILTER}: secrets_dir (site_secrets_dir) is required")
    ab_routing = ab_routing or {}
    by_name = {}
    for host in hosts:
        try:
            hv = hostvars[host]
        except KeyError:
            raise AnsibleFilterError(f"{FILTER}: {host} is not in hostvars") from None
        groups = [str(name) for name in (hv.get("group_names") or [])]
        computed = _instance(groups, ab_routing)
        instance = str(hv.get("jupyterhub_instance_name") or computed)
        if not computed or not instance:
            raise AnsibleFilterError(
                f"{FILTER}: {host} is in no hub instance's group (hub, or site_ab_routing.instance)"
            )
        main = instance == MAIN
        default_name = "jupyterhub" if main else f"jupyterhub_{instance}"
        entry = {
            "name": str(hv.get("jupyterhub_db_name") or default_name),
            "owner": str(hv.get("jupyterhub_db_user") or default_name),
            "instance": instance,
        }
        if "jupyterhub_db_password" in hv:
            entry["password"] = hv["jupyterhub_db_password"]
        elif main and "vault_postgresql_jupyterhub_password" in hv:
            entry["password"] = hv["vault_postgresql_jupyterhub_password"]
        else:
            directory = secrets_dir if main else posixpath.join(secrets_dir, instance)
            entry["password_file"] = posixpath.join(directory, SECRET_FILE)
        known = by_name.get(entry["name"])
        if known is None:
            entry["hosts"] = [str(host)]
            by_name[entry["name"]] = entry
            continue
        if known["instance"] != instance:
            raise AnsibleFilterError(
                f"{FILTER}: instances {known['instance']!r} ({', '.join(known['hosts'])}) and {instance!r} ({host}) "
                f"both use database {entry['name']!r}; give each instance its own jupyterhub_db_name"
            )
        if known["owner"] != entry["owner"]:
            raise AnsibleFilterError(
                f"{FILTER}: database {entry['name']!r} has owner {known['owner']!r} on {known['hosts'][0]} but "
                f"{entry['owner']!r} on {host}; set one jupyterhub_db_user for the instance's hosts"
            )
        known["hosts"].append(str(host))
    return list(by_name.values())


class FilterModule:
    """hubsite_hub_databases filter."""

    def filters(self):
        return {FILTER: hub_databases}
