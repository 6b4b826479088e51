"""hubsite_slurm_conf: slurm.conf from the cluster's controller, nodes, partitions and extra settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_slurm_conf.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


slurm_conf = _load_filter("hubsite_slurm_conf")

NODES = [
    {"host": "n1.example.org", "name": "n1", "address": "10.0.0.21", "cpus": 8, "memory_mb": 15744},
    {"host": "n2.example.org", "name": "n2", "address": "10.0.0.22", "cpus": 4, "memory_mb": 7744},
]


def cluster(**changes):
    base = {
        "cluster_name": "hubsite",
        "controllers": [{"name": "ctl", "address": "10.0.0.20"}],
        "nodes": NODES,
        "partitions": [{"name": "interactive", "max_time": "12:00:00"}],
        "settings": {},
    }
    base.update(changes)
    return base


def lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_small_cluster_without_cgroups():
    text = slurm_conf(cluster())
    got = lines(text)
    assert got[0] == "SlurmctldHost=ctl(10.0.0.20)"
    assert "ClusterName=hubsite" in got
    for setting in ("AuthType=auth/munge", "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none"):
        assert setting in got
    assert "SelectTypeParameters=CR_Core_Memory" in got
    assert "DefMemPerCPU=500" in got
    assert got[-3:] == [
        "NodeName=n1 NodeAddr=10.0.0.21 CPUs=8 RealMemory=15744 State=UNKNOWN",
        "NodeName=n2 NodeAddr=10.0.0.22 CPUs=4 RealMemory=7744 State=UNKNOWN",
        "PartitionName=interactive Nodes=n1,n2 Default=YES MaxTime=12:00:00 State=UP",
    ]
    assert text.endswith("\n")
    assert slurm_conf(cluster()) == text  # deterministic


def test_settings_replace_defaults_and_add_keys():
    got = lines(slurm_conf(cluster(settings={"ProctrackType": "proctrack/cgroup", "MaxJobCount": 5000, "Foo": True})))
    assert "ProctrackType=proctrack/cgroup" in got
    assert "ProctrackType=proctrack/linuxproc" not in got
    assert "MaxJobCount=5000" in got
    assert "Foo=YES" in got


def test_partitions_nodes_default_and_time():
    partitions = [
        {"name": "interactive", "nodes": ["n2.example.org"], "max_time": "4:00:00"},
        {"name": "long", "default": True},
    ]
    got = lines(slurm_conf(cluster(partitions=partitions)))
    assert got[-2:] == [
        "PartitionName=interactive Nodes=n2 Default=NO MaxTime=4:00:00 State=UP",
        "PartitionName=long Nodes=n1,n2 Default=YES MaxTime=UNLIMITED State=UP",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cluster_name": "My Cluster"}, r"cluster_name 'My Cluster'"),
        ({"controllers": []}, r"no controller: add a host to group slurm_controller"),
        ({"nodes": []}, r"no node: add a host to group slurm_node"),
        ({"partitions": []}, r"no partition"),
        ({"partitions": [{"name": "a"}, {"name": "a"}]}, r"partition 'a' is listed twice"),
        ({"partitions": [{"name": "a", "default": True}, {"name": "b", "default": True}]}, r"a, b are all default"),
        ({"partitions": [{"name": "a", "nodes": ["n9"]}]}, r"partition 'a' lists n9, not in group slurm_node"),
        ({"partitions": [{"name": "a", "max_time": "two hours"}]}, r"max_time 'two hours'"),
        ({"partitions": [{"name": "a b"}]}, r"partition 1 has name 'a b'"),
        ({"settings": {"TaskPlugin": "task/none\nEvil=1"}}, r"TaskPlugin is 'task/none\\nEvil=1'"),
        ({"settings": {"NodeName": "x"}}, r"settings may not set NodeName"),
        ({"settings": {"bad key": 1}}, r"settings key 'bad key'"),
        ({"settings": {"Foo": [1]}}, r"Foo is a list"),
    ],
)
def test_errors_say_what_to_fix(changes, message):
    with pytest.raises(AnsibleFilterError, match=message):
        slurm_conf(cluster(**changes))


def test_input_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match=r"expected a dict"):
        slurm_conf([])
