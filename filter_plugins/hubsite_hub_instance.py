"""Filter: which hub instance a host belongs to (main, the A/B routing's B instance, or none)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_hub_instance
short_description: The hub instance of a host, from its groups and the site's A/B routing
version_added: "0.2.0"
description:
  - A host of group C(hub) belongs to the main instance (C(main)); a host of the group that
    C(site_ab_routing.instance) names belongs to that instance, named after the group (e.g. C(hub_b)); any other
    host belongs to none (an empty string).
  - A host in both groups is an inventory error (the validate play reports it); here the main instance wins.
options:
  _input:
    description: The host's groups (C(group_names)).
    type: list
    elements: str
    required: true
  ab_routing:
    description: C(site_ab_routing), or an empty dict / none without A/B routing.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Name this host's hub instance
  ansible.builtin.debug:
    msg: "{{ group_names | hubsite_hub_instance(site_ab_routing | default({})) }}"
"""

RETURN = r"""
_value:
  description: C(main), the B instance's group name, or an empty string when the host runs no hub.
  type: str
"""

MAIN = "main"
MAIN_GROUP = "hub"


def ab_group(ab_routing):
    """The B instance's group named by site_ab_routing, or None."""
    if ab_routing is None or ab_routing == "":
        return None
    if not isinstance(ab_routing, Mapping):
        raise AnsibleFilterError(
            f"hubsite_hub_instance: site_ab_routing must be a dict, got {type(ab_routing).__name__}"
        )
    group = ab_routing.get("instance")
    if group in (None, ""):
        return None
    if not isinstance(group, str):
        raise AnsibleFilterError(f"hubsite_hub_instance: site_ab_routing.instance must be a group name, got {group!r}")
    return group


def hub_instance(group_names, ab_routing=None) -> str:
    if not isinstance(group_names, (list, tuple)):
        raise AnsibleFilterError(
            f"hubsite_hub_instance: expected the host's group_names (a list), got {type(group_names).__name__}"
        )
    names = [str(name) for name in group_names]
    if MAIN_GROUP in names:
        return MAIN
    group = ab_group(ab_routing)
    if group and group in names:
        return group
    return ""


class FilterModule:
    """hubsite_hub_instance filter."""

    def filters(self):
        return {"hubsite_hub_instance": hub_instance}
