# SPDX-License-Identifier: Apache-2.0
"""hubsite_slurm_nodes filter: the Slurm compute nodes of the inventory, with their names, addresses and sizes."""

from __future__ import annotations

import importlib.util
import os
import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_slurm_nodes
short_description: Describe the inventory's Slurm nodes (name, address, CPUs, memory) for slurm.conf and the hub
description:
  - For each inventory host of the input, returns the Slurm node name, the IP address the controller and the
    hubs reach it at, its CPU count and its memory in MiB.
  - The node name is C(slurm_node_name), else the host's short host name (fact C(ansible_facts.hostname)), which
    is the name slurmd registers under.
  - The address is C(hubsite_address), else C(ansible_host) when it is an IP address, else the fact
    C(ansible_facts.default_ipv4.address) (as hubsite_host_addresses).
  - CPUs are C(slurm_node_cpus), else the fact C(ansible_facts.processor_vcpus); memory is C(slurm_node_memory_mb),
    else the fact C(ansible_facts.memtotal_mb) less O(memory_reserve_mb) (slurmd drains a node that reports less
    memory than slurm.conf gives it, so the default keeps a margin).
  - Fails naming the host and the variable when something is missing or not a positive integer, or when two
    hosts would get the same node name.
options:
  _input:
    description: Inventory host names of the nodes (group C(slurm_node)).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable (the nodes' facts must have been gathered, or set the values).
    type: dict
    required: true
  memory_reserve_mb:
    description: MiB of a node's memory that Slurm does not hand out, when the memory comes from the facts.
    type: int
    default: 256
"""

EXAMPLES = r"""
- name: Show the Slurm nodes
  ansible.builtin.debug:
    msg: "{{ groups['slurm_node'] | hubsite_slurm_nodes(hostvars, 512) }}"
# -> [{"host": "node1.example.org", "name": "node1", "address": "192.0.2.21", "cpus": 16, "memory_mb": 63800}]
"""

RETURN = r"""
_value:
  description: One dict per node, in input order.
  type: list
  elements: dict
  contains:
    host:
      description: Inventory host name.
      type: str
    name:
      description: Slurm node name (NodeName).
      type: str
    address:
      description: IP address (NodeAddr; the hub's route target).
      type: str
    cpus:
      description: CPUs Slurm hands out on the node.
      type: int
    memory_mb:
      description: Memory (MiB) Slurm hands out on the node (RealMemory).
      type: int
"""

FILTER_NAME = "hubsite_slurm_nodes"
_NODE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def _load_sibling(name: str):
    """A filter module of this directory: Ansible loads filter plugins by path, not as a package."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_hubsite_filter_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The address resolution shared with hubsite_host_addresses (hubsite_address, ansible_host, the fact).
_host_address = _load_sibling("hubsite_host_addresses").host_address


def _positive_int(host, variable, value):
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or number < 1:
        raise AnsibleFilterError(
            f"{FILTER_NAME}: {variable} of host {host!r} is {value!r}, not a positive integer; set it to a whole "
            "number greater than 0, or remove it to take the value from the host's facts"
        )
    return number


def slurm_nodes(hosts, hostvars, memory_reserve_mb=256) -> list[dict]:
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"{FILTER_NAME}: expected a list of host names, got {type(hosts).__name__}")
    if not hasattr(hostvars, "get"):
        raise AnsibleFilterError(f"{FILTER_NAME}: expected hostvars as the argument, got {type(hostvars).__name__}")
    reserve = int(memory_reserve_mb)
    result, seen = [], {}
    for host in hosts:
        hv = hostvars.get(host)
        if hv is None:
            raise AnsibleFilterError(f"{FILTER_NAME}: host {host!r} is not in the inventory")
        facts = hv.get("ansible_facts") or {}

        name = hv.get("slurm_node_name") or facts.get("hostname")
        if not name:
            raise AnsibleFilterError(
                f"{FILTER_NAME}: no node name known for host {host!r}: gather its facts first, or set slurm_node_name"
            )
        name = str(name)
        if not _NODE_NAME_RE.match(name):
            raise AnsibleFilterError(
                f"{FILTER_NAME}: node name {name!r} of host {host!r} is not a valid Slurm node name (letters, digits, "
                "'-' and '_'); set slurm_node_name"
            )
        if name in seen:
            raise AnsibleFilterError(
                f"{FILTER_NAME}: hosts {seen[name]!r} and {host!r} both have node name {name!r}; give each its own "
                "slurm_node_name (or host name)"
            )
        seen[name] = host

        address = _host_address(host, hv, FILTER_NAME)

        if hv.get("slurm_node_cpus") is not None:
            cpus = _positive_int(host, "slurm_node_cpus", hv["slurm_node_cpus"])
        elif facts.get("processor_vcpus") is not None:
            cpus = _positive_int(host, "ansible_facts.processor_vcpus", facts["processor_vcpus"])
        else:
            raise AnsibleFilterError(
                f"{FILTER_NAME}: no CPU count known for host {host!r}: gather its facts first, or set slurm_node_cpus"
            )

        if hv.get("slurm_node_memory_mb") is not None:
            memory = _positive_int(host, "slurm_node_memory_mb", hv["slurm_node_memory_mb"])
        elif facts.get("memtotal_mb") is not None:
            total = _positive_int(host, "ansible_facts.memtotal_mb", facts["memtotal_mb"])
            memory = total - reserve
            if memory < 1:
                raise AnsibleFilterError(
                    f"{FILTER_NAME}: host {host!r} has {total} MiB, not more than the {reserve} MiB kept back; set "
                    "slurm_node_memory_mb"
                )
        else:
            raise AnsibleFilterError(
                f"{FILTER_NAME}: no memory size known for host {host!r}: gather its facts first, or set "
                "slurm_node_memory_mb"
            )
        result.append({"host": str(host), "name": name, "address": str(address), "cpus": cpus, "memory_mb": memory})
    return result


class FilterModule:
    """hubsite_slurm_nodes filter."""

    def filters(self):
        return {FILTER_NAME: slurm_nodes}
