"""hubsite_slurm_nodes: each Slurm node's name, address, CPUs and memory, from the inventory or the node's facts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_slurm_nodes.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


slurm_nodes = _load_filter("hubsite_slurm_nodes")


def facts(hostname="node1", address="10.0.0.21", vcpus=8, memtotal=16000):
    return {
        "ansible_facts": {
            "hostname": hostname,
            "default_ipv4": {"address": address},
            "processor_vcpus": vcpus,
            "memtotal_mb": memtotal,
        }
    }


def test_from_facts_keeps_a_memory_margin():
    hostvars = {"node1.example.org": facts()}
    assert slurm_nodes(["node1.example.org"], hostvars) == [
        {"host": "node1.example.org", "name": "node1", "address": "10.0.0.21", "cpus": 8, "memory_mb": 15744}
    ]
    assert slurm_nodes(["node1.example.org"], hostvars, 1000)[0]["memory_mb"] == 15000


def test_inventory_values_win_over_facts():
    hostvars = {
        "n1": {
            **facts(),
            "slurm_node_name": "gpu01",
            "hubsite_address": "192.0.2.5",
            "slurm_node_cpus": 4,
            "slurm_node_memory_mb": "2048",
        }
    }
    assert slurm_nodes(["n1"], hostvars) == [
        {"host": "n1", "name": "gpu01", "address": "192.0.2.5", "cpus": 4, "memory_mb": 2048}
    ]


def test_ip_ansible_host_is_the_address():
    hostvars = {"n1": {**facts(), "ansible_host": "198.51.100.7"}}
    assert slurm_nodes(["n1"], hostvars)[0]["address"] == "198.51.100.7"


def test_no_nodes_is_an_empty_list():
    assert slurm_nodes([], {}) == []


@pytest.mark.parametrize(
    ("hostvars", "message"),
    [
        ({"n1": {}}, r"no node name known for host 'n1'.*slurm_node_name"),
        ({"n1": {"ansible_facts": {"hostname": "n1"}}}, r"no IP address known for host 'n1'"),
        ({"n1": {**facts(), "hubsite_address": "node-one"}}, r"hubsite_address of host 'n1' is 'node-one'"),
        ({"n1": {**facts(), "slurm_node_cpus": 0}}, r"slurm_node_cpus of host 'n1' is 0, not a positive integer"),
        ({"n1": {**facts(), "slurm_node_memory_mb": "lots"}}, r"slurm_node_memory_mb of host 'n1' is 'lots'"),
        ({"n1": facts(memtotal=200)}, r"host 'n1' has 200 MiB, not more than the 256 MiB"),
        ({"n1": {**facts(), "slurm_node_name": "bad name"}}, r"'bad name' of host 'n1' is not a valid Slurm node"),
        ({"n1": {"ansible_facts": {"hostname": "n1", "default_ipv4": {"address": "10.0.0.1"}}}}, r"no CPU count"),
    ],
)
def test_errors_name_the_host_and_the_fix(hostvars, message):
    with pytest.raises(AnsibleFilterError, match=message):
        slurm_nodes(["n1"], hostvars)


def test_two_hosts_with_one_name_are_refused():
    hostvars = {"a.x": facts(), "a.y": facts(address="10.0.0.22")}
    with pytest.raises(AnsibleFilterError, match=r"hosts 'a.x' and 'a.y' both have node name 'node1'"):
        slurm_nodes(["a.x", "a.y"], hostvars)


def test_unknown_host_and_wrong_input_types():
    with pytest.raises(AnsibleFilterError, match=r"host 'ghost' is not in the inventory"):
        slurm_nodes(["ghost"], {})
    with pytest.raises(AnsibleFilterError, match=r"expected a list of host names"):
        slurm_nodes("n1", {})
