"""Filter: the IP address each inventory host is reached at, from its inventory data and gathered facts."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_host_addresses
short_description: Resolve inventory hosts to their IP addresses
version_added: "0.1.0"
description:
  - For each host name, return its address, taken from C(hubsite_address), else from C(ansible_host) when
    that is an IP address, else from the gathered fact C(ansible_facts.default_ipv4.address).
  - C(hubsite_address) and C(ansible_host) may be IPv4 or IPv6 addresses; the fact is IPv4.
  - Fails naming the host when none is known (facts not gathered and no address in the inventory), and when
    C(hubsite_address) is set but is not an IP address.
options:
  _input:
    description: Inventory host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the hub addresses
  ansible.builtin.debug:
    msg: "{{ groups['hub'] | hubsite_host_addresses(hostvars) }}"
"""

RETURN = r"""
_value:
  description: One dict per host, in input order.
  type: list
  elements: dict
  contains:
    name:
      description: Inventory host name.
      type: str
    address:
      description: IP address, as the inventory or the fact gives it.
      type: str
"""


def _is_ip(value) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def host_address(name, hv, filter_name: str = "hubsite_host_addresses") -> str:
    """The address of one host from its hostvars (also used by hubsite_slurm_nodes); errors name filter_name."""
    address = hv.get("hubsite_address")
    if address and not _is_ip(address):
        raise AnsibleFilterError(
            f"{filter_name}: hubsite_address of host {name!r} is {str(address)!r}, not an IP address; "
            "set it to the address the host is reached at (e.g. 192.0.2.10), or remove it"
        )
    if not address and _is_ip(hv.get("ansible_host", "")):
        address = hv.get("ansible_host")
    if not address:
        facts = hv.get("ansible_facts") or {}
        address = (facts.get("default_ipv4") or {}).get("address")
    if not address or not _is_ip(address):
        raise AnsibleFilterError(
            f"{filter_name}: no IP address known for host {name!r}: gather its facts first, "
            "or set hubsite_address (or ansible_host) to its IP address in the inventory"
        )
    return str(address)


def host_addresses(hosts, hostvars) -> list[dict]:
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"hubsite_host_addresses: expected a list of host names, got {type(hosts).__name__}")
    if not hasattr(hostvars, "get"):
        raise AnsibleFilterError(
            f"hubsite_host_addresses: expected hostvars (a mapping) as the argument, got {type(hostvars).__name__}"
        )
    result = []
    for name in hosts:
        hv = hostvars.get(name)
        if hv is None:
            raise AnsibleFilterError(f"hubsite_host_addresses: host {name!r} is not in the inventory")
        result.append({"name": str(name), "address": host_address(name, hv)})
    return result


class FilterModule:
    def filters(self):
        return {"hubsite_host_addresses": host_addresses}
