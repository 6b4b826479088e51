# SPDX-License-Identifier: Apache-2.0
"""hubsite_pip_missing filter: the lock lines a venv does not satisfy yet."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_pip_missing
short_description: The pinned requirements that a virtualenv does not hold yet
description:
  - Compares a lock (C(name==version) lines, as C(pip freeze) writes them) with the output of C(pip freeze) in a
    venv and returns the lock lines that are not installed at exactly that version.
  - Names are compared the way pip does (PEP 503: case, C(-), C(_) and C(.) do not matter).
  - Comments, blank lines and options (C(-r), C(--constraint)) in the lock are ignored.
  - "An empty result means the venv is as locked: the pip task can be skipped, so check mode reports no change
    (M(ansible.builtin.pip) with a requirements file always reports one in check mode)."
options:
  _input:
    description: The lock, as text or a list of lines.
    type: raw
    required: true
  installed:
    description: C(pip freeze) output of the venv, as text or a list of lines (empty when the venv does not exist).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Install when the venv differs from the lock
  ansible.builtin.pip:
    requirements: /opt/app/requirements.txt
    virtualenv: /opt/app
  when: lookup('ansible.builtin.template', 'constraints.txt.j2') | hubsite_pip_missing(__freeze.stdout) | length > 0
"""

RETURN = r"""
_value:
  description: The lock lines (C(name==version)) missing from the venv, in lock order.
  type: list
  elements: str
"""

FILTER_NAME = "hubsite_pip_missing"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def _lines(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise AnsibleFilterError(f"{FILTER_NAME}: {what} must be text or a list of strings")
        return list(value)
    raise AnsibleFilterError(f"{FILTER_NAME}: {what} must be text or a list of strings, not {type(value).__name__}")


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines, what, strict):
    pins = []
    for number, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = _PIN.match(line)
        if not match:
            if strict:
                raise AnsibleFilterError(
                    f"{FILTER_NAME}: line {number} of the {what} is not 'name==version': {line!r}; "
                    "a lock pins every package exactly"
                )
            continue  # freeze lists editable or direct-URL installs as such: never a pin of the lock
        pins.append((_canonical(match.group(1)), match.group(3), line))
    return pins


def pip_missing(lock, installed):
    """Return the lines of ``lock`` whose exact version is not in ``installed``."""
    have = {name: version for name, version, _ in _pins(_lines(installed, "installed list"), "installed list", False)}
    return [line for name, version, line in _pins(_lines(lock, "lock"), "lock", True) if have.get(name) != version]


class FilterModule:
    """hubsite_pip_missing filter."""

    def filters(self):
        return {FILTER_NAME: pip_missing}
