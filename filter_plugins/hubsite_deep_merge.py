# SPDX-License-Identifier: Apache-2.0
"""hubsite_deep_merge filter: merge *_overrides dicts into a generated dict."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_deep_merge
short_description: Merge override dicts into a dict, recursively
description:
  - Returns a new dict; the inputs are not changed.
  - Dicts are merged key by key, recursively; for any other value the right-hand side wins, so a list in an
    override replaces the whole list (it is not appended to), and a scalar replaces a dict or the other way round.
  - >-
    A one-key marker dict of M(hubsite_jupyterhub_config) (C({__set__: [...]}) or C({__env__: NAME})) is a
    value, not a dict to merge into: on either side it is replaced whole.
  - A null (or omitted) override changes nothing, so an empty C(*_overrides:) in an inventory is harmless.
options:
  _input:
    description: The generated dict.
    type: dict
    required: true
  _overrides:
    description: One or more dicts, applied left to right.
    type: dict
seealso:
  - plugin: hubsite_jupyterhub_config
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Merge the site's overrides into the generated hub settings
  ansible.builtin.set_fact:
    __jupyterhub_settings: "{{ __jupyterhub_generated | hubsite_deep_merge(jupyterhub_config_overrides) }}"
  vars:
    __jupyterhub_generated:
      JupyterHub: {bind_url: "http://:8000", log_level: INFO}
      Authenticator: {allowed_users: [alice, bob]}
    jupyterhub_config_overrides:
      JupyterHub: {log_level: DEBUG}
      Authenticator: {allowed_users: [carol]}
# __jupyterhub_settings:
#   JupyterHub: {bind_url: "http://:8000", log_level: DEBUG}
#   Authenticator: {allowed_users: [carol]}
"""

RETURN = r"""
_value:
  description: The merged dict.
  type: dict
"""

FILTER_NAME = "hubsite_deep_merge"
# Markers of hubsite_jupyterhub_config: values, not dicts to merge into.
_MARKERS = ("__set__", "__env__")


def _is_marker(value):
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _MARKERS


def _merge(left, right):
    result = dict(left)
    for key, value in right.items():
        current = result.get(key)
        if (
            isinstance(current, Mapping)
            and isinstance(value, Mapping)
            and not _is_marker(current)
            and not _is_marker(value)
        ):
            result[key] = _merge(current, value)
        else:
            result[key] = value
    return result


def deep_merge(base, *overrides):
    """Return base with each override merged into it, recursively; the right-hand side wins."""
    if not isinstance(base, Mapping):
        raise AnsibleFilterError(f"{FILTER_NAME}: the input must be a dict, got a {type(base).__name__}")
    result = dict(base)
    for position, override in enumerate(overrides, start=1):
        if override is None:
            continue
        if not isinstance(override, Mapping):
            raise AnsibleFilterError(
                f"{FILTER_NAME}: override {position} must be a dict (or null), got a {type(override).__name__}"
            )
        result = _merge(result, override)
    return result


class FilterModule:
    """hubsite_deep_merge filter."""

    def filters(self):
        return {FILTER_NAME: deep_merge}
