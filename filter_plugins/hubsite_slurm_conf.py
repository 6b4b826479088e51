# SPDX-License-Identifier: Apache-2.0
"""hubsite_slurm_conf filter: a site's Slurm cluster (controller, nodes, partitions) -> slurm.conf."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_slurm_conf
short_description: Render slurm.conf for a hubsite-managed Slurm cluster
description:
  - Takes the cluster as data (its controller, its nodes from hubsite_slurm_nodes, its partitions, extra
    settings) and returns the text of C(slurm.conf), the same on every host of the cluster and on its clients.
  - >-
    The defaults suit small clusters and containers: munge authentication, C(select/cons_tres) with
    C(CR_Core_Memory) and a C(DefMemPerCPU) (without it a job gets all of a node's memory, so jobs run one at a
    time), and no cgroup plugins (C(proctrack/linuxproc), C(task/none)), so no cgroup.conf is needed.
  - >-
    O(_input.settings) replaces or adds any C(Key=Value) line (for example C(ProctrackType=proctrack/cgroup) on
    real nodes).
  - A partition lists its nodes by inventory host name (default all nodes); one partition is the default (the
    first one, unless one sets C(default=true)).
  - Fails with a message naming the item on an unknown node, a duplicate partition, more than one default
    partition, no node, or a value holding a line break or blank.
options:
  _input:
    description: The cluster.
    type: dict
    required: true
    suboptions:
      cluster_name:
        description: ClusterName (lower case letters, digits, '_').
        type: str
        required: true
      controllers:
        description: The controller(s), C({name, address}) each, the first is the primary (SlurmctldHost).
        type: list
        elements: dict
        required: true
      nodes:
        description: The nodes, as hubsite_slurm_nodes returns them (host, name, address, cpus, memory_mb).
        type: list
        elements: dict
        required: true
      partitions:
        description: C({name, nodes (inventory hosts; default all), default (bool), max_time (Slurm time or
          UNLIMITED)}) each.
        type: list
        elements: dict
        required: true
      settings:
        description: Extra or replaced C(Key=Value) settings (scalars).
        type: dict
        default: {}
"""

EXAMPLES = r"""
- name: Write slurm.conf
  ansible.builtin.copy:
    dest: /etc/slurm/slurm.conf
    content: "{{ __slurm_cluster | hubsite_slurm_conf }}"
    mode: "0644"
  vars:
    __slurm_cluster:
      cluster_name: hubsite
      controllers: [{name: ctl, address: 192.0.2.20}]
      nodes: "{{ groups['slurm_node'] | hubsite_slurm_nodes(hostvars) }}"
      partitions: [{name: interactive, default: true, max_time: "12:00:00"}]
      settings: {DefMemPerCPU: 1000}
"""

RETURN = r"""
_value:
  description: The whole slurm.conf, one C(Key=Value) setting per line, then the nodes and the partitions.
  type: string
"""

FILTER_NAME = "hubsite_slurm_conf"
_CLUSTER_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_PARTITION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_TIME_RE = re.compile(r"^(?:UNLIMITED|INFINITE|\d+|\d+:\d{2}(?::\d{2})?|\d+-\d{1,2}(?::\d{2}(?::\d{2})?)?)$")

# Settings every cluster gets; the input's settings replace or extend them (in this order, new keys last).
DEFAULT_SETTINGS = {
    "AuthType": "auth/munge",
    "CredType": "cred/munge",
    "SlurmUser": "slurm",
    "SlurmctldPort": 6817,
    "SlurmdPort": 6818,
    "StateSaveLocation": "/var/lib/slurm/slurmctld",
    "SlurmdSpoolDir": "/var/lib/slurm/slurmd",
    "SlurmctldPidFile": "/run/slurmctld.pid",
    "SlurmdPidFile": "/run/slurmd.pid",
    "SlurmctldLogFile": "/var/log/slurm/slurmctld.log",
    "SlurmdLogFile": "/var/log/slurm/slurmd.log",
    "ProctrackType": "proctrack/linuxproc",
    "TaskPlugin": "task/none",
    "JobAcctGatherType": "jobacct_gather/none",
    "AccountingStorageType": "accounting_storage/none",
    "JobCompType": "jobcomp/none",
    "MpiDefault": "none",
    "SchedulerType": "sched/backfill",
    "SelectType": "select/cons_tres",
    "SelectTypeParameters": "CR_Core_Memory",
    "DefMemPerCPU": 500,
    "ReturnToService": 2,
    "SlurmctldTimeout": 60,
    "SlurmdTimeout": 60,
}


def _fail(message):
    raise AnsibleFilterError(f"{FILTER_NAME}: {message}")


def _value(what, value):
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if not isinstance(value, (str, int, float)) or value is None:
        _fail(f"{what} is a {type(value).__name__}; give a string or a number")
    text = str(value)
    if not text or any(char.isspace() for char in text) or "#" in text:
        _fail(f"{what} is {text!r}: a value may not be empty nor hold blanks, line breaks or '#'")
    return text


def slurm_conf(cluster) -> str:
    if not isinstance(cluster, Mapping):
        _fail(f"expected a dict, got a {type(cluster).__name__}")
    name = cluster.get("cluster_name")
    if not isinstance(name, str) or not _CLUSTER_RE.match(name):
        _fail(f"cluster_name {name!r} must be lower-case letters, digits and '_', starting with a letter")
    controllers = cluster.get("controllers") or []
    if not isinstance(controllers, list) or not controllers:
        _fail("no controller: add a host to group slurm_controller")
    nodes = cluster.get("nodes") or []
    if not isinstance(nodes, list) or not nodes:
        _fail("no node: add a host to group slurm_node")
    partitions = cluster.get("partitions") or []
    if not isinstance(partitions, list) or not partitions:
        _fail("no partition: set slurm_partitions, e.g. [{name: interactive, default: true}]")
    extra = cluster.get("settings") or {}
    if not isinstance(extra, Mapping):
        _fail(f"settings is a {type(extra).__name__}, not a dict")

    settings = {"ClusterName": name}
    hosts = [
        f"{_value('controller name', c.get('name'))}({_value('controller address', c.get('address'))})"
        for c in controllers
    ]
    settings.update(DEFAULT_SETTINGS)
    for key, value in extra.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            _fail(f"settings key {key!r} is not a slurm.conf key (letters and digits)")
        if key in ("ClusterName", "SlurmctldHost", "NodeName", "PartitionName"):
            _fail(f"settings may not set {key}: it comes from the inventory")
        settings[key] = value

    lines = ["# slurm.conf, computed from the inventory by hubsite (filter hubsite_slurm_conf)."]
    lines += [f"SlurmctldHost={host}" for host in hosts]
    lines += [f"{key}={_value(key, value)}" for key, value in settings.items()]

    lines.append("")
    by_host = {}
    for node in nodes:
        node_name = _value("node name", node.get("name"))
        by_host[node.get("host", node_name)] = node_name
        lines.append(
            f"NodeName={node_name} NodeAddr={_value(f'address of node {node_name}', node.get('address'))} "
            f"CPUs={_value(f'cpus of node {node_name}', node.get('cpus'))} "
            f"RealMemory={_value(f'memory_mb of node {node_name}', node.get('memory_mb'))} State=UNKNOWN"
        )

    lines.append("")
    names, defaults = [], []
    for index, partition in enumerate(partitions):
        if not isinstance(partition, Mapping):
            _fail(f"partition {index + 1} is a {type(partition).__name__}, not a dict")
        pname = partition.get("name")
        if not isinstance(pname, str) or not _PARTITION_RE.match(pname):
            _fail(f"partition {index + 1} has name {pname!r}; use letters, digits, '-' and '_'")
        if pname in names:
            _fail(f"partition {pname!r} is listed twice")
        names.append(pname)
        if partition.get("default"):
            defaults.append(pname)
    if len(defaults) > 1:
        _fail(f"partitions {', '.join(defaults)} are all default; mark one partition default: true")
    default = defaults[0] if defaults else names[0]
    for partition in partitions:
        members = partition.get("nodes")
        if members is None:
            members = list(by_host)
        if not isinstance(members, list) or not members:
            _fail(f"partition {partition['name']!r} has no nodes; list inventory hosts of group slurm_node")
        unknown = [host for host in members if host not in by_host]
        if unknown:
            _fail(
                f"partition {partition['name']!r} lists {', '.join(map(str, unknown))}, not in group slurm_node "
                f"({', '.join(by_host)})"
            )
        max_time = str(partition.get("max_time", "UNLIMITED"))
        if not _TIME_RE.match(max_time):
            _fail(
                f"partition {partition['name']!r} has max_time {max_time!r}; use a Slurm time (e.g. 12:00:00, "
                "1-00:00:00) or UNLIMITED"
            )
        lines.append(
            f"PartitionName={partition['name']} Nodes={','.join(by_host[host] for host in members)} "
            f"Default={'YES' if partition['name'] == default else 'NO'} MaxTime={max_time} State=UP"
        )
    return "\n".join(lines) + "\n"


class FilterModule:
    """hubsite_slurm_conf filter."""

    def filters(self):
        return {FILTER_NAME: slurm_conf}
