# SPDX-License-Identifier: Apache-2.0
"""hubsite_kernels and hubsite_validate_kernels filters: the site's kernels (site_kernels), checked and made
into what the hosts where servers run get (kernel.json, a launcher, a set-up script, a Python environment)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: hubsite_kernels
short_description: The site's kernels (site_kernels) as kernel specs, launchers and Python environments
description:
  - Each kernel of the input becomes a kernel spec directory C(<kernels_dir>/<name>) holding C(kernel.json), the
    launcher C(launch) (a bash script that sources the kernel's C(setup.sh) when it has a set-up script, then
    execs C(python -m ipykernel_launcher)) and C(setup.sh).
  - A kernel with C(requirements) (a list of requirement lines) or C(requirements_file) (a requirements file on
    the controller) gets a Python environment of its own, C(<venvs_dir>/<name>), built from a C(requirements.txt)
    holding the lock's ipykernel pin and those requirements; the others run the servers' own Python (O(python)).
  - Fails on the first problem that M(hubsite_validate_kernels) finds (the validate play runs those checks first,
    naming the variable).
  - hubsite_validate_kernels returns every problem of every host's site_kernels, each a string that starts
    with the variable (C(site_kernels[1] (atlas).name)), empty when the kernels are fine.
options:
  _input:
    description: The kernels (C(site_kernels)), a list of dicts with C(name) and optional C(display_name),
      C(language), C(setup), C(env), C(requirements), C(requirements_file).
    type: list
    elements: dict
    required: true
  lock:
    description: The servers' lock (constraints.txt lines); its C(ipykernel==) line pins the kernels' ipykernel.
    type: raw
    required: true
  kernels_dir:
    description: Where kernel specs go (a directory of Jupyter's data path).
    type: str
    default: /usr/local/share/jupyter/kernels
  venvs_dir:
    description: Where the kernels' own Python environments go.
    type: str
    default: /opt/hubsite/kernels
  python:
    description: The Python of kernels without an environment of their own (the servers' venv's).
    type: str
    default: /opt/jupyterhub/bin/python3
  header:
    description: Comment lines put at the top of the launcher (ansible_managed).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Make the kernels' files
  ansible.builtin.set_fact:
    __kernels: "{{ site_kernels | hubsite_kernels(lookup('ansible.builtin.file', 'constraints.txt')) }}"
# site_kernels: [{name: experiment, display_name: Experiment, setup: "export BEAMLINE=demo\n"}] ->
# [{"name": "experiment", "dir": "/usr/local/share/jupyter/kernels/experiment", "python": "/opt/jupyterhub/bin/python3",
#   "venv": null, "requirements": null, "requirements_file": null, "setup": "export BEAMLINE=demo\n",
#   "spec": {"argv": [".../experiment/launch", "-f", "{connection_file}"], "display_name": "Experiment", ...},
#   "launch": "#!/bin/bash\n..."}]
- name: Check the inventory's kernels
  ansible.builtin.set_fact:
    __errors: "{{ hostvars | hubsite_validate_kernels(groups) }}"
"""

RETURN = r"""
_value:
  description: One dict per kernel, in input order (hubsite_kernels); messages (hubsite_validate_kernels).
  type: list
  elements: dict
  contains:
    name:
      description: The kernel's name (kernel spec directory).
      type: str
    dir:
      description: The kernel spec directory.
      type: str
    spec:
      description: The content of kernel.json.
      type: dict
    launch:
      description: The launcher script.
      type: str
    setup:
      description: The set-up script, or null.
      type: str
    python:
      description: The Python the kernel runs.
      type: str
    venv:
      description: The kernel's own Python environment, or null.
      type: str
    requirements:
      description: The content of the environment's requirements.txt, or null.
      type: str
    requirements_file:
      description: The controller path of the site's requirements file (copied to site-requirements.txt), or null.
      type: str
"""

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYS = ("name", "display_name", "language", "setup", "env", "requirements", "requirements_file")
# the servers' own kernel, which a site kernel must not replace
_RESERVED = ("python3",)
_EXAMPLE = "{name: experiment, display_name: Experiment, setup: 'export BEAMLINE=demo'}"


def _show(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_template(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def problems(kernels):
    """(subject, message) for everything wrong with site_kernels; empty when fine."""
    if kernels is None:
        return []
    if not isinstance(kernels, list):
        return [("site_kernels", f"is {_show(kernels)}, not a list; write a list of kernels, e.g. [{_EXAMPLE}]")]
    found, seen = [], {}
    for index, kernel in enumerate(kernels):
        subject = f"site_kernels[{index}]"
        if not isinstance(kernel, Mapping):
            found.append((subject, f"is {_show(kernel)}, not a dict; write it as {_EXAMPLE}"))
            continue
        name = kernel.get("name")
        if isinstance(name, str):
            subject += f" ({name})"
        for key in sorted(set(map(str, kernel)) - set(_KEYS)):
            found.append((f"{subject}.{key}", f"is not a kernel setting; the settings are {', '.join(_KEYS)}"))
        if not isinstance(name, str) or not _NAME_RE.match(name):
            found.append(
                (
                    f"{subject}.name",
                    f"is {_show(name)}; give the kernel a name of lower-case letters, digits, '.', '_' and '-' "
                    "(at most 64, starting with a letter or digit), e.g. name: experiment",
                )
            )
        elif name in _RESERVED:
            found.append(
                (f"{subject}.name", f"{name!r} is the servers' own Python kernel; choose another name, e.g. experiment")
            )
        elif name in seen:
            found.append(
                (f"{subject}.name", f"{name!r} is also the name of site_kernels[{seen[name]}]; give each a name")
            )
        else:
            seen[name] = index
        for key in ("display_name", "language", "setup"):
            if key in kernel and (not isinstance(kernel[key], str) or not kernel[key].strip()):
                found.append((f"{subject}.{key}", f"is {_show(kernel[key])}; write a non-empty string or remove it"))
        env = kernel.get("env", {})
        if not isinstance(env, Mapping):
            found.append((f"{subject}.env", f"is {_show(env)}, not a dict; write it as {{BEAMLINE: demo}}"))
        else:
            for key, value in env.items():
                if not isinstance(key, str) or not _ENV_RE.match(key):
                    found.append((f"{subject}.env", f"{_show(key)} is not an environment variable name"))
                if not isinstance(value, str):
                    found.append(
                        (f"{subject}.env.{key}", f"is {_show(value)}, not a string; quote it, e.g. {key}: '{value}'")
                    )
        found.extend(_requirement_problems(subject, kernel))
    return found


def _requirement_problems(subject, kernel):
    found = []
    if "requirements" in kernel and "requirements_file" in kernel:
        found.append((subject, "has both requirements and requirements_file; list the requirements in one of them"))
    if "requirements" in kernel:
        lines = kernel["requirements"]
        if not isinstance(lines, list) or not lines:
            found.append(
                (
                    f"{subject}.requirements",
                    f"is {_show(lines)}; write a non-empty list of requirement lines, e.g. [numpy==2.1.3]",
                )
            )
        else:
            for line in lines:
                if not isinstance(line, str) or not line.strip() or "\n" in line or line.lstrip().startswith("-"):
                    found.append(
                        (
                            f"{subject}.requirements",
                            f"{_show(line)} is not a requirement line; write one package per item, e.g. "
                            "numpy==2.1.3 (pip options go in a requirements_file)",
                        )
                    )
    if "requirements_file" in kernel:
        path = kernel["requirements_file"]
        if not isinstance(path, str) or not (_is_template(path) or (os.path.isabs(path) and os.path.isfile(path))):
            found.append(
                (
                    f"{subject}.requirements_file",
                    f"names {_show(path)}, which is not a file on the controller (an absolute path); put the "
                    'requirements file there, e.g. requirements_file: "{{ inventory_dir }}/files/experiment.txt"',
                )
            )
    return found


def _ipykernel_pin(lock):
    lines = lock.splitlines() if isinstance(lock, str) else list(lock or [])
    for line in lines:
        if isinstance(line, str) and re.match(r"^ipykernel\s*==", line.strip(), re.IGNORECASE):
            return line.strip()
    raise AnsibleFilterError("hubsite_kernels: the lock has no ipykernel== line")


def kernelspecs(
    kernels,
    lock,
    kernels_dir="/usr/local/share/jupyter/kernels",
    venvs_dir="/opt/hubsite/kernels",
    python="/opt/jupyterhub/bin/python3",
    header="",
):
    """The site's kernels, checked, as the files and environments the hosts get."""
    found = problems(kernels)
    if found:
        subject, message = found[0]
        raise AnsibleFilterError(f"hubsite_kernels: {subject}: {message}")
    pin = _ipykernel_pin(lock) if any("requirements" in k or "requirements_file" in k for k in kernels or []) else None
    out = []
    for kernel in kernels or []:
        name = kernel["name"]
        directory = f"{kernels_dir.rstrip('/')}/{name}"
        own = "requirements" in kernel or "requirements_file" in kernel
        venv = f"{venvs_dir.rstrip('/')}/{name}" if own else None
        interpreter = f"{venv}/bin/python" if own else python
        setup = kernel.get("setup")
        if setup is not None and not setup.endswith("\n"):
            setup += "\n"
        lines = ["#!/bin/bash"]
        lines += [line for line in header.splitlines() if line.strip()]
        lines.append(f"# Site kernel {name} (site_kernels; hubsite docs/kernels.md), started by the user's server.")
        if setup is not None:
            lines.append("# The site's set-up script, sourced: what it exports reaches the kernel.")
            lines.append(f". {directory}/setup.sh")
        lines.append(f'exec {interpreter} -m ipykernel_launcher "$@"')
        spec = {
            "argv": [f"{directory}/launch", "-f", "{connection_file}"],
            "display_name": kernel.get("display_name", name),
            "language": kernel.get("language", "python"),
            "metadata": {"hubsite": {"managed": True}},
        }
        if kernel.get("env"):
            spec["env"] = {str(k): str(v) for k, v in kernel["env"].items()}
        requirements = None
        if own:
            site = (
                [line.strip() for line in kernel["requirements"]]
                if "requirements" in kernel
                else ["-r site-requirements.txt"]
            )
            requirements = "\n".join([f"# {name}: ipykernel as the servers' lock pins it, then the site's", pin, *site])
            requirements += "\n"
        out.append(
            {
                "name": name,
                "dir": directory,
                "spec": spec,
                "launch": "\n".join(lines) + "\n",
                "setup": setup,
                "python": interpreter,
                "venv": venv,
                "requirements": requirements,
                "requirements_file": kernel.get("requirements_file"),
            }
        )
    return out


def validate_kernels(hostvars, groups):
    """Every problem of site_kernels, as 'subject: message' strings, each value checked once."""
    if not isinstance(hostvars, Mapping) or not isinstance(groups, Mapping):
        raise AnsibleFilterError("hubsite_validate_kernels: input (hostvars) and groups must be dicts")
    messages, checked = set(), set()
    for host in groups.get("all", []) or list(hostvars):
        try:
            kernels = hostvars[host].get("site_kernels")
        # A value that cannot be templated is reported by hubsite_validate_inventory.
        except Exception:  # noqa: BLE001
            continue
        try:
            key = json.dumps(kernels, sort_keys=True, default=str)
        except (TypeError, ValueError):
            key = repr(kernels)
        if key in checked:
            continue
        checked.add(key)
        messages.update(f"{subject}: {' '.join(message.split())}" for subject, message in problems(kernels))
    return sorted(messages)


class FilterModule:
    """hubsite_kernels and hubsite_validate_kernels filters."""

    def filters(self):
        return {"hubsite_kernels": kernelspecs, "hubsite_validate_kernels": validate_kernels}
