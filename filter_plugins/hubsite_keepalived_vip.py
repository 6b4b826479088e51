"""Filter: where a floating address goes on this host (interface, prefix), checked against the host's networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_keepalived_vip
short_description: Place a keepalived floating address on the interface whose network holds it
version_added: "0.1.0"
description:
  - Checks, with the host's gathered facts, that the floating address (VIP) lies in the network of one of the
    host's interfaces, with the prefix length the inventory gives, and is not the host's own address; returns
    what the keepalived configuration needs.
  - This is the deploy-time half of the VIP check; the validate play checks the VIP against the fronts' addresses
    when the inventory gives them (C(hubsite_address), an IP C(ansible_host)), before any host is touched.
  - Only the primary address of each interface is considered (a VIP held by keepalived shows as a secondary).
options:
  _input:
    description: The floating IPv4 or IPv6 address, without a prefix.
    type: str
    required: true
  prefix:
    description: Prefix length of the network the VIP lives on (that of the hosts' interface).
    type: int
    required: true
  facts:
    description: The host's C(ansible_facts) (network subset at least).
    type: dict
    required: true
  interface:
    description: Interface to use; empty picks the one whose network holds the VIP.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Work out where the VIP goes
  ansible.builtin.set_fact:
    __keepalived_vip: "{{ '192.0.2.10' | hubsite_keepalived_vip(24, ansible_facts) }}"
"""

RETURN = r"""
_value:
  description: Where the VIP goes.
  type: dict
  contains:
    address:
      description: The VIP, normalised.
      type: str
    prefix:
      description: Its prefix length.
      type: int
    cidr:
      description: C(address/prefix), as keepalived's C(virtual_ipaddress) takes it.
      type: str
    family:
      description: 4 or 6.
      type: int
    interface:
      description: The interface that gets the VIP.
      type: str
    host_address:
      description: The host's own address on that interface.
      type: str
"""

NAME = "hubsite_keepalived_vip"


def _fail(message):
    raise AnsibleFilterError(f"{NAME}: {message}")


def _primary_networks(facts, interface, family):
    """(host address, network) of the interface's primary addresses of that family (IPv6: global scope)."""
    data = facts.get(interface.replace("-", "_").replace(".", "_").replace(":", "_")) or facts.get(interface)
    if not isinstance(data, Mapping):
        return []
    found = []
    if family == 4:
        ipv4 = data.get("ipv4")
        if isinstance(ipv4, Mapping) and ipv4.get("address") and ipv4.get("prefix") not in (None, ""):
            found.append(ipv4)
    else:
        for entry in data.get("ipv6") or []:
            if isinstance(entry, Mapping) and entry.get("scope", "global") == "global" and entry.get("address"):
                found.append(entry)
    result = []
    for entry in found:
        try:
            network = ipaddress.ip_interface(f"{entry['address']}/{entry['prefix']}")
        except (KeyError, ValueError):
            continue
        result.append((str(network.ip), network.network))
    return result


def keepalived_vip(vip, prefix, facts, interface=""):
    try:
        address = ipaddress.ip_address(str(vip).strip())
    except ValueError:
        _fail(
            f"{vip!r} is not an IP address; set site_front_vip to the floating IPv4 or IPv6 address of the front pair"
        )
    family = address.version
    bits = 32 if family == 4 else 128
    if isinstance(prefix, bool):
        _fail(f"prefix {prefix!r} is not an integer")
    try:
        prefix = int(prefix)
    except (TypeError, ValueError):
        _fail(f"prefix {prefix!r} is not an integer; set site_front_vip_prefix to the prefix length, e.g. 24")
    if not 1 <= prefix <= bits:
        _fail(f"prefix {prefix} is out of range for an IPv{family} address; use 1-{bits}")
    if not isinstance(facts, Mapping) or "interfaces" not in facts:
        _fail("no network facts for this host; gather them first (ansible.builtin.setup, gather_subset: network)")
    names = [str(name) for name in facts.get("interfaces") or [] if str(name) != "lo"]
    if interface:
        if str(interface) not in [str(name) for name in facts.get("interfaces") or []]:
            _fail(f"interface {interface!r} does not exist on this host (it has {', '.join(names) or 'none'})")
        names = [str(interface)]
    seen = []
    for name in names:
        for host_address, network in _primary_networks(facts, name, family):
            seen.append(f"{name} {host_address}/{network.prefixlen}")
            if address not in network:
                continue
            if str(address) == host_address:
                _fail(
                    f"the VIP {address} is the address of this host's {name}; set site_front_vip to a free address "
                    f"of {network}"
                )
            if network.prefixlen != prefix:
                _fail(
                    f"the VIP {address} is on {name} ({network}), whose prefix is /{network.prefixlen}, but "
                    f"site_front_vip_prefix is {prefix}; set site_front_vip_prefix: {network.prefixlen}"
                )
            return {
                "address": str(address),
                "prefix": prefix,
                "cidr": f"{address}/{prefix}",
                "family": family,
                "interface": name,
                "host_address": host_address,
            }
    where = f"interface {interface}" if interface else "any interface"
    _fail(
        f"the VIP {address} is not in the network of {where} of this host ({'; '.join(seen) or f'no IPv{family}'}); "
        "set site_front_vip to a free address of the fronts' subnet"
        + ("" if not interface else ", or keepalived_interface to the interface on that subnet")
    )
    return None  # not reached


class FilterModule:
    def filters(self):
        return {NAME: keepalived_vip}
