"""Filter: JupyterHub's allowed users, admins and groups, from the site's user list."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_hub_access
short_description: Compute JupyterHub allowed users, admin users and groups from site users
version_added: "0.1.0"
description:
  - Allowed users are every site user plus I(extra_allowed); admins are site users with C(admin=true) plus
    I(extra_admins); groups map each site group to its sorted members, in JupyterHub's C(load_groups) shape.
  - Every list is sorted, so the generated configuration is stable from run to run.
options:
  _input:
    description: Site users, dicts with C(name) and optional C(admin) and C(groups).
    type: list
    elements: dict
    required: true
  extra_allowed:
    description: Further allowed user names (users that log in but are not site accounts, e.g. from SSO).
    type: list
    elements: str
    default: []
  extra_admins:
    description: Further admin user names.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Show who may log in
  ansible.builtin.debug:
    msg: "{{ site_users | hubsite_hub_access(jupyterhub_allowed_users, jupyterhub_admin_users) }}"
"""

RETURN = r"""
_value:
  description:
    - C(allowed_users) and C(admin_users), sorted lists; C(groups), each group name mapped to a dict whose
      C(users) is the sorted list of its members, the shape of JupyterHub's C(load_groups).
  type: dict
"""


def _names(what, value) -> set[str]:
    """A list of user names (None is an empty list); a string would otherwise be taken letter by letter."""
    if value is None:
        return set()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise AnsibleFilterError(f"hubsite_hub_access: {what} must be a list of user names, got {value!r}")
    return {str(v) for v in value}


def hub_access(users, extra_allowed=None, extra_admins=None) -> dict:
    if not isinstance(users, (list, tuple)):
        raise AnsibleFilterError(f"hubsite_hub_access: expected a list of users, got {type(users).__name__}")
    allowed = _names("extra_allowed (jupyterhub_allowed_users)", extra_allowed)
    admins = _names("extra_admins (jupyterhub_admin_users)", extra_admins)
    groups = {}
    for index, user in enumerate(users):
        if not isinstance(user, dict) or not user.get("name"):
            raise AnsibleFilterError(f"hubsite_hub_access: users[{index}] has no 'name'")
        name = str(user["name"])
        allowed.add(name)
        if user.get("admin", False) is True:
            admins.add(name)
        user_groups = user.get("groups") or []
        if not isinstance(user_groups, (list, tuple)):
            raise AnsibleFilterError(
                f"hubsite_hub_access: users[{index}] ({name}).groups must be a list of group names, got {user_groups!r}"
            )
        for group in user_groups:
            groups.setdefault(str(group), set()).add(name)
    unknown = admins - allowed
    if unknown:
        raise AnsibleFilterError(
            f"hubsite_hub_access: admin users {sorted(unknown)} are not allowed users; add them to site_users "
            "or jupyterhub_allowed_users"
        )
    return {
        "allowed_users": sorted(allowed),
        "admin_users": sorted(admins),
        "groups": {g: {"users": sorted(m)} for g, m in sorted(groups.items())},
    }


class FilterModule:
    def filters(self):
        return {"hubsite_hub_access": hub_access}
