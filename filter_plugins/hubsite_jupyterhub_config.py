# SPDX-License-Identifier: Apache-2.0
"""hubsite_jupyterhub_config filter: a nested dict of traitlets settings -> jupyterhub_config.py."""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_jupyterhub_config
short_description: Render traitlets settings as the body of a jupyterhub_config.py
description:
  - >-
    Takes a z2jh-style nested dict C({Class: {trait: value}}) and returns sorted, deterministic
    C(c.<Class>.<trait> = <python literal>) lines.
  - Every value is rendered with Python's C(repr) of JSON-like data, never by pasting text into code, so
    quotes, backslashes, newlines or C(__import__('os')) in a value stay inside a string literal.
  - Class names must be Python identifiers starting with an upper-case letter (traitlets treats those as
    sections; dotted names are not allowed at this level); trait names must be identifiers starting with a
    lower-case letter; Python keywords are rejected.
  - >-
    Values must be JSON-like (string, integer, finite float, boolean, null, list, dict with string keys).
    Two one-key dicts are markers. C({"__set__": [...]}) renders a set literal (elements must be scalars).
    C({"__env__": "NAME"}) renders C(os.environ["NAME"]), so a secret stays in the service's environment
    file and out of the config file; the output then starts with C(import os).
  - Dict keys are sorted; lists keep their order.
options:
  _input:
    description: >-
      Traitlets settings, C({Class: {trait: value}}).
    type: dict
    required: true
seealso:
  - plugin: hubsite_deep_merge
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write the hub configuration
  ansible.builtin.copy:
    dest: /etc/jupyterhub/jupyterhub_config.py
    content: |
      {{ ansible_managed | comment }}
      {{ __jupyterhub_settings | hubsite_deep_merge(jupyterhub_config_overrides) | hubsite_jupyterhub_config }}
    mode: "0640"
  vars:
    __jupyterhub_settings:
      JupyterHub:
        bind_url: "http://:8000"
        cookie_secret_file: /var/lib/jupyterhub/cookie_secret
      Authenticator:
        allowed_users: [alice, bob]
        admin_users: {__set__: [alice]}
      Spawner:
        environment:
          PGPASSWORD: {__env__: PGPASSWORD}

# renders:
#   import os
#
#   c.Authenticator.admin_users = {'alice'}
#   c.Authenticator.allowed_users = ['alice', 'bob']
#   c.JupyterHub.bind_url = 'http://:8000'
#   c.JupyterHub.cookie_secret_file = '/var/lib/jupyterhub/cookie_secret'
#   c.Spawner.environment = {'PGPASSWORD': os.environ['PGPASSWORD']}
"""

RETURN = r"""
_value:
  description: Python source, one assignment per trait (long values span several lines), ending in a newline;
    an empty string for empty settings.
  type: string
"""

FILTER_NAME = "hubsite_jupyterhub_config"
SET_MARKER = "__set__"
ENV_MARKER = "__env__"
LINE_WIDTH = 100
INDENT = "    "

_CLASS_RE = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
_TRAIT_RE = re.compile(r"^[a-z][A-Za-z0-9_]*$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Env:
    """An os.environ lookup, rendered as code rather than as a literal."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _Set:
    """A set literal; its elements are scalars, kept in a deterministic order."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


def _fail(path, what):
    raise AnsibleFilterError(f"{FILTER_NAME}: {path}: {what}")


def _scalar_sort_key(value):
    # None < booleans < numbers < strings; numbers compare numerically, so the order is stable and readable.
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (2, value, "")
    return (3, 0, value)


def _is_marker(value, marker):
    return isinstance(value, Mapping) and marker in value


def _normalise(value, path):
    """Return a plain copy of value (str/int/float/bool/None/list/dict/_Set/_Env), or fail naming path."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)  # drops any str subclass (Ansible's tagged strings)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            _fail(path, f"{value!r} is not a finite number; JSON-like values only")
        return float(value)
    if isinstance(value, list):
        return [_normalise(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        if _is_marker(value, SET_MARKER) or _is_marker(value, ENV_MARKER):
            return _normalise_marker(value, path)
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                _fail(
                    path,
                    f"dict key {key!r} is a {type(key).__name__}; dict keys must be strings",
                )
            key = str.__str__(key)
            result[key] = _normalise(item, f"{path}[{key!r}]")
        return result
    _fail(
        path,
        f"a value of type {type(value).__name__} is not JSON-like; use a string, number, boolean, null, "
        "list or dict (or a {__set__: [...]} / {__env__: NAME} marker)",
    )
    return None  # not reached


def _normalise_marker(value, path):
    if len(value) != 1:
        _fail(
            path,
            f"a {SET_MARKER} or {ENV_MARKER} marker must be the only key of its dict, "
            f"got keys {sorted(map(str, value))}",
        )
    if SET_MARKER in value:
        items = value[SET_MARKER]
        if not isinstance(items, list):
            _fail(
                path,
                f"{SET_MARKER} takes a list of scalars, got a {type(items).__name__}",
            )
        plain = []
        for index, item in enumerate(items):
            item = _normalise(item, f"{path}.{SET_MARKER}[{index}]")
            if isinstance(item, (list, dict, _Set, _Env)):
                _fail(
                    path,
                    f"{SET_MARKER} elements must be strings, numbers, booleans or null (element {index} is not)",
                )
            if item not in plain:
                plain.append(item)
        return _Set(sorted(plain, key=_scalar_sort_key))
    name = value[ENV_MARKER]
    if not isinstance(name, str) or not _ENV_RE.match(name):
        _fail(
            path,
            f"{ENV_MARKER} takes an environment variable name (letters, digits, _), got {name!r}",
        )
    return _Env(str.__str__(name))


def _render(value, level, used=0):
    """Python source for a normalised value; containers wrap over several lines when too long.

    used is how many characters precede the value on its first line.
    """
    flat = _render_flat(value)
    if used + len(flat) + len(INDENT) * level <= LINE_WIDTH or not _is_container(value):
        return flat
    inner = INDENT * (level + 1)
    if isinstance(value, list):
        lines = [f"{inner}{_render(item, level + 1)}," for item in value]
        return "[\n" + "\n".join(lines) + "\n" + INDENT * level + "]"
    if isinstance(value, _Set):
        lines = [f"{inner}{_render(item, level + 1)}," for item in value.items]
        return "{\n" + "\n".join(lines) + "\n" + INDENT * level + "}"
    lines = [f"{inner}{key!r}: {_render(value[key], level + 1)}," for key in sorted(value)]
    return "{\n" + "\n".join(lines) + "\n" + INDENT * level + "}"


def _is_container(value):
    if isinstance(value, _Set):
        return bool(value.items)
    return isinstance(value, (list, dict)) and bool(value)


def _render_flat(value):
    if isinstance(value, _Env):
        return f"os.environ[{value.name!r}]"
    if isinstance(value, _Set):
        if not value.items:
            return "set()"
        return "{" + ", ".join(_render_flat(item) for item in value.items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render_flat(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_render_flat(value[key])}" for key in sorted(value)) + "}"
    # str, int, float, bool, None: repr() is a Python literal that evaluates back to the same value.
    return repr(value)


def _uses_env(value):
    if isinstance(value, _Env):
        return True
    if isinstance(value, list):
        return any(_uses_env(item) for item in value)
    if isinstance(value, dict):
        return any(_uses_env(item) for item in value.values())
    return False


def _check_name(name, regex, path, what):
    if not isinstance(name, str) or not regex.match(name) or keyword.iskeyword(name):
        _fail(path, f"{name!r} is not a valid {what}")
    return str.__str__(name)


def jupyterhub_config(settings):
    """Return the body of a jupyterhub_config.py for settings ({Class: {trait: value}})."""
    if not isinstance(settings, Mapping):
        raise AnsibleFilterError(
            f"{FILTER_NAME}: expected a dict of {{Class: {{trait: value}}}}, got a {type(settings).__name__}"
        )
    assignments = []
    env = False
    for class_name, traits in settings.items():
        class_name = _check_name(
            class_name,
            _CLASS_RE,
            "top level",
            "traitlets class name: use a Python identifier starting with an upper-case letter, "
            "such as JupyterHub or Spawner (no dots, no keywords)",
        )
        if not isinstance(traits, Mapping):
            _fail(
                class_name,
                f"must be a dict of {{trait: value}}, got a {type(traits).__name__}",
            )
        for trait, value in traits.items():
            trait = _check_name(
                trait,
                _TRAIT_RE,
                class_name,
                "trait name: use a Python identifier starting with a lower-case letter, such as bind_url "
                "(no dots, no keywords)",
            )
            plain = _normalise(value, f"{class_name}.{trait}")
            env = env or _uses_env(plain)
            assignments.append((class_name, trait, plain))
    lines = []
    if env:
        lines += ["import os", ""]
    for class_name, trait, plain in sorted(assignments, key=lambda item: (item[0], item[1])):
        target = f"c.{class_name}.{trait} = "
        lines.append(target + _render(plain, 0, len(target)))
    if not assignments:
        return ""
    return "\n".join(lines) + "\n"


class FilterModule:
    """hubsite_jupyterhub_config filter."""

    def filters(self):
        return {FILTER_NAME: jupyterhub_config}
