"""Filter: the users the A/B rule sends to the B instance (listed users and members of listed groups)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_ab_users
short_description: The site users that site_ab_routing sends to the B hub instance
version_added: "0.2.0"
description:
  - The names in C(site_ab_routing.users), plus every user of I(users) (C(site_users)) whose C(groups) holds a
    group of C(site_ab_routing.groups); sorted and without duplicates.
  - Names that are not site users are kept (the validate play reports them); groups without members add no one.
options:
  _input:
    description: C(site_ab_routing) (keys C(users) and C(groups) are read; both optional), or none / an empty dict.
    type: dict
    required: true
  users:
    description: C(site_users), dicts with C(name) and optional C(groups).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Show who the A/B rule sends to the B instance
  ansible.builtin.debug:
    msg: "{{ site_ab_routing | default({}) | hubsite_ab_users(site_users) }}"
"""

RETURN = r"""
_value:
  description: Sorted list of user names.
  type: list
  elements: str
"""


def _names(what, value):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise AnsibleFilterError(f"hubsite_ab_users: site_ab_routing.{what} must be a list of names, got {value!r}")
    return [str(item) for item in value]


def ab_users(ab_routing, users=None) -> list:
    if ab_routing in (None, ""):
        return []
    if not isinstance(ab_routing, Mapping):
        raise AnsibleFilterError(f"hubsite_ab_users: site_ab_routing must be a dict, got {type(ab_routing).__name__}")
    chosen = set(_names("users", ab_routing.get("users")))
    groups = set(_names("groups", ab_routing.get("groups")))
    if groups:
        if not isinstance(users, (list, tuple)):
            raise AnsibleFilterError(f"hubsite_ab_users: site_users must be a list, got {type(users).__name__}")
        for index, user in enumerate(users):
            if not isinstance(user, Mapping) or not user.get("name"):
                raise AnsibleFilterError(f"hubsite_ab_users: site_users[{index}] has no 'name'")
            member_of = user.get("groups") or []
            if not isinstance(member_of, (list, tuple)):
                raise AnsibleFilterError(
                    f"hubsite_ab_users: site_users[{index}] ({user['name']}).groups must be a list, got {member_of!r}"
                )
            if groups.intersection(str(group) for group in member_of):
                chosen.add(str(user["name"]))
    return sorted(chosen)


class FilterModule:
    """hubsite_ab_users filter."""

    def filters(self):
        return {"hubsite_ab_users": ab_users}
