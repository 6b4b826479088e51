# SPDX-License-Identifier: Apache-2.0
"""The Slurm spawner's options: the form a user fills in, and the check of what comes back (form or REST API).

Pure Python (no JupyterHub import), so it is unit-tested on its own (tests/unit/test_hubsite_slurm_options.py).
The hub's HubsiteSlurmSpawner (hubsite_slurmspawner.py) uses it; the limits come from the inventory
(jupyterhub_slurm_* variables, docs/spawners.md).
"""

from __future__ import annotations

import html

# limits: the dict the role writes as c.HubsiteSlurmSpawner.hubsite_limits
LIMIT_KEYS = ("partitions", "partition", "cores", "max_cores", "memory_gb", "max_memory_gb", "hours", "max_hours")
# What a user may choose, and the batchspawner template variables (req_*) each becomes.
OPTION_KEYS = ("partition", "cores", "memory_gb", "hours")


class OptionsError(ValueError):
    """A user's choice is not allowed; the message says which field and what is allowed."""


def check_limits(limits):
    """Raise ValueError when the limits themselves are inconsistent (a role bug or a bad inventory)."""
    missing = [key for key in LIMIT_KEYS if key not in limits]
    if missing:
        raise ValueError(f"hubsite_limits lacks {', '.join(missing)}")
    if not limits["partitions"] or limits["partition"] not in limits["partitions"]:
        raise ValueError(f"hubsite_limits: partition {limits['partition']!r} is not in {limits['partitions']!r}")
    for key in ("cores", "memory_gb", "hours"):
        value, high = limits[key], limits[f"max_{key}"]
        if not (_is_int(value) and _is_int(high) and 1 <= value <= high):
            raise ValueError(f"hubsite_limits: {key} {value!r} must be an integer from 1 to max_{key} {high!r}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def form_html(limits):
    """The spawn page's form: a partition menu and three whole-number fields with their bounds."""
    check_limits(limits)
    options = "".join(
        f'<option value="{html.escape(name)}"{" selected" if name == limits["partition"] else ""}>'
        f"{html.escape(name)}</option>"
        for name in limits["partitions"]
    )
    fields = [
        '<div class="form-group">'
        '<label for="hubsite-partition">Slurm partition</label>'
        f'<select class="form-control" id="hubsite-partition" name="partition">{options}</select>'
        "</div>"
    ]
    for key, label in (("cores", "CPU cores"), ("memory_gb", "Memory (GB)"), ("hours", "Run time (hours)")):
        fields.append(
            '<div class="form-group">'
            f'<label for="hubsite-{key}">{label} (1 to {limits[f"max_{key}"]})</label>'
            f'<input class="form-control" type="number" id="hubsite-{key}" name="{key}" min="1" '
            f'max="{limits[f"max_{key}"]}" step="1" value="{limits[key]}" required>'
            "</div>"
        )
    return "\n".join(fields)


def from_form(form_data, limits):
    """Form fields (each a list of strings) -> checked user options."""
    options = {}
    for key in OPTION_KEYS:
        values = form_data.get(key) or []
        if values:
            options[key] = values[0].strip() if isinstance(values[0], str) else values[0]
    return normalize(options, limits)


def _whole(key, value, high):
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not text.isdigit():
        raise OptionsError(f"{key} must be a whole number from 1 to {high}, not {str(value)[:40]!r}")
    number = int(text)
    if not 1 <= number <= high:
        raise OptionsError(f"{key} must be from 1 to {high}, not {number}")
    return number


def normalize(user_options, limits):
    """User options from the form or the REST API -> the only keys and values the spawner uses.

    Unknown keys are dropped (they would otherwise reach the batch script's template); a missing key takes the
    site's default; a value out of bounds or of the wrong kind raises OptionsError.
    """
    check_limits(limits)
    if not isinstance(user_options, dict):
        raise OptionsError("user options must be a JSON object")
    partition = user_options.get("partition", limits["partition"])
    if partition not in limits["partitions"]:
        raise OptionsError(
            f"partition {str(partition)[:40]!r} is not offered here; choose one of: {', '.join(limits['partitions'])}"
        )
    result = {"partition": partition}
    for key in ("cores", "memory_gb", "hours"):
        result[key] = _whole(key, user_options.get(key, limits[key]), limits[f"max_{key}"])
    return result


def batch_vars(options):
    """Checked options -> batchspawner's template variables (SlurmSpawner's batch_script)."""
    return {
        "partition": options["partition"],
        "nprocs": str(options["cores"]),
        "memory": f"{options['memory_gb']}G",
        "runtime": f"{options['hours']:02d}:00:00",
    }
