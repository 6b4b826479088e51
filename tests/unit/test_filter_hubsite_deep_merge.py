"""hubsite_deep_merge: recursive dict merge, the right-hand side wins, lists replaced."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_deep_merge.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


deep_merge = _load_filter("hubsite_deep_merge")


@pytest.mark.parametrize(
    ("base", "overrides", "expected"),
    [
        ({}, [{}], {}),
        ({"a": 1}, [], {"a": 1}),
        ({"a": 1}, [{"b": 2}], {"a": 1, "b": 2}),
        ({"a": 1}, [{"a": 2}], {"a": 2}),
        ({"a": {"x": 1, "y": 2}}, [{"a": {"y": 3, "z": 4}}], {"a": {"x": 1, "y": 3, "z": 4}}),
        ({"a": {"b": {"c": 1, "d": 2}}}, [{"a": {"b": {"d": 3}}}], {"a": {"b": {"c": 1, "d": 3}}}),
        ({"a": [1, 2, 3]}, [{"a": [4]}], {"a": [4]}),
        ({"a": [1, 2]}, [{"a": []}], {"a": []}),
        ({"a": {"x": 1}}, [{"a": "scalar"}], {"a": "scalar"}),
        ({"a": "scalar"}, [{"a": {"x": 1}}], {"a": {"x": 1}}),
        ({"a": {"x": 1}}, [{"a": None}], {"a": None}),
        ({"a": {"x": 1}}, [{"a": {}}], {"a": {"x": 1}}),
        ({"a": 1}, [None], {"a": 1}),
        ({"a": 1}, [{"a": 2}, {"a": 3, "b": 1}], {"a": 3, "b": 1}),
        ({"a": {"x": 1}}, [{"a": {"y": 2}}, {"a": {"z": 3}}], {"a": {"x": 1, "y": 2, "z": 3}}),
        # z2jh-style traitlets settings
        (
            {"JupyterHub": {"bind_url": "http://:8000", "log_level": "INFO"}, "Spawner": {"cmd": ["a"]}},
            [{"JupyterHub": {"log_level": "DEBUG"}, "Spawner": {"cmd": ["b", "c"]}, "Authenticator": {"x": 1}}],
            {
                "JupyterHub": {"bind_url": "http://:8000", "log_level": "DEBUG"},
                "Spawner": {"cmd": ["b", "c"]},
                "Authenticator": {"x": 1},
            },
        ),
        # markers of hubsite_jupyterhub_config are values, replaced whole
        ({"a": {"__set__": [1, 2]}}, [{"a": {"__set__": [3]}}], {"a": {"__set__": [3]}}),
        ({"a": {"__env__": "X"}}, [{"a": {"__set__": [1]}}], {"a": {"__set__": [1]}}),
        ({"a": {"__set__": [1]}}, [{"a": {"__env__": "X"}}], {"a": {"__env__": "X"}}),
        ({"a": {"k": 1}}, [{"a": {"__env__": "X"}}], {"a": {"__env__": "X"}}),
        ({"a": {"__env__": "X"}}, [{"a": {"k": 1}}], {"a": {"k": 1}}),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_merge(base, overrides, expected):
    assert deep_merge(base, *overrides) == expected


def test_inputs_are_not_changed():
    base = {"a": {"b": {"c": [1]}}, "d": 1}
    override = {"a": {"b": {"e": 2}}, "d": {"x": 1}}
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)
    result = deep_merge(base, override)
    assert result == {"a": {"b": {"c": [1], "e": 2}}, "d": {"x": 1}}
    assert base == base_before
    assert override == override_before


@pytest.mark.parametrize(
    ("base", "overrides", "fragment"),
    [
        ([], [{}], "the input must be a dict, got a list"),
        ("x", [{}], "the input must be a dict, got a str"),
        (None, [{}], "the input must be a dict, got a NoneType"),
        ({}, [[1]], "override 1 must be a dict (or null), got a list"),
        ({}, [{}, "x"], "override 2 must be a dict (or null), got a str"),
    ],
)
def test_rejects(base, overrides, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        deep_merge(base, *overrides)
    assert str(error.value).startswith("hubsite_deep_merge: ")
    assert fragment in str(error.value)
