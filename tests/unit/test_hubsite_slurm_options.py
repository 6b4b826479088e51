"""The Slurm spawner's options (roles/jupyterhub/files/hubsite_slurm_options.py): the form and the checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "roles" / "jupyterhub" / "files" / "hubsite_slurm_options.py"
_spec = importlib.util.spec_from_file_location("hubsite_slurm_options", _PATH)
options = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(options)

LIMITS = {
    "partitions": ["interactive", "short"],
    "partition": "interactive",
    "cores": 1,
    "max_cores": 4,
    "memory_gb": 2,
    "max_memory_gb": 16,
    "hours": 2,
    "max_hours": 12,
}


def test_no_options_take_the_site_defaults():
    checked = options.normalize({}, LIMITS)
    assert checked == {"partition": "interactive", "cores": 1, "memory_gb": 2, "hours": 2}
    assert options.batch_vars(checked) == {
        "partition": "interactive",
        "nprocs": "1",
        "memory": "2G",
        "runtime": "02:00:00",
    }


def test_form_fields_become_checked_options():
    form = {"partition": ["short"], "cores": [" 4 "], "memory_gb": ["16"], "hours": ["1"]}
    assert options.from_form(form, LIMITS) == {"partition": "short", "cores": 4, "memory_gb": 16, "hours": 1}


def test_rest_api_options_drop_unknown_keys():
    checked = options.normalize({"cores": 2, "prologue": "rm -rf ~", "options": "--uid=0"}, LIMITS)
    assert set(checked) == {"partition", "cores", "memory_gb", "hours"}
    assert options.normalize(checked, LIMITS) == checked  # already checked options pass unchanged


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"partition": "gpu"}, r"partition 'gpu' is not offered here; choose one of: interactive, short"),
        ({"partition": "interactive\n#SBATCH --uid=0"}, r"is not offered here"),
        ({"cores": 0}, r"cores must be from 1 to 4, not 0"),
        ({"cores": 5}, r"cores must be from 1 to 4, not 5"),
        ({"cores": "-1"}, r"cores must be a whole number from 1 to 4"),
        ({"memory_gb": "1.5"}, r"memory_gb must be a whole number from 1 to 16"),
        ({"memory_gb": True}, r"memory_gb must be a whole number"),
        ({"hours": "13"}, r"hours must be from 1 to 12, not 13"),
        ({"hours": "1; reboot"}, r"hours must be a whole number"),
    ],
)
def test_bad_choices_are_refused_with_the_field_and_the_bounds(given, message):
    with pytest.raises(options.OptionsError, match=message):
        options.normalize(given, LIMITS)


def test_options_must_be_an_object():
    with pytest.raises(options.OptionsError, match=r"JSON object"):
        options.normalize(["cores"], LIMITS)


def test_form_shows_the_choices_and_bounds_escaped():
    html = options.form_html({**LIMITS, "partitions": ["interactive", "a<b"]})
    assert '<option value="interactive" selected>interactive</option>' in html
    assert "a&lt;b" in html
    assert "a<b" not in html
    assert 'name="cores" min="1" max="4" step="1" value="1"' in html
    assert 'name="hours" min="1" max="12" step="1" value="2"' in html


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"partition": "gpu"}, r"partition 'gpu' is not in"),
        ({"cores": 5}, r"cores 5 must be an integer from 1 to max_cores 4"),
        ({"hours": 0}, r"hours 0 must be"),
    ],
)
def test_inconsistent_limits_are_a_configuration_error(changes, message):
    with pytest.raises(ValueError, match=message):
        options.check_limits({**LIMITS, **changes})
    limits = dict(LIMITS)
    del limits["max_hours"]
    with pytest.raises(ValueError, match=r"lacks max_hours"):
        options.check_limits(limits)
