"""hubsite_kernels and hubsite_validate_kernels: the site's kernels, checked, as kernel specs, launchers and
environments; the launcher really runs a kernel's set-up script before the kernel (bash, here)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "filter_plugins" / "hubsite_kernels.py"
LOCK = ROOT / "roles" / "jupyterhub" / "templates" / "opt" / "jupyterhub" / "constraints.txt.j2"


def _load():
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()


FILTERS = _load()
kernels = FILTERS["hubsite_kernels"]
validate = FILTERS["hubsite_validate_kernels"]


def test_a_set_up_script_kernel_runs_the_servers_python_after_the_script():
    [out] = kernels(
        [{"name": "experiment", "display_name": "Experiment", "setup": "export BEAMLINE=demo", "env": {"A": "1"}}],
        "ipykernel==7.4.0\n",
        header="# managed",
    )
    assert out["dir"] == "/usr/local/share/jupyter/kernels/experiment"
    assert out["spec"] == {
        "argv": ["/usr/local/share/jupyter/kernels/experiment/launch", "-f", "{connection_file}"],
        "display_name": "Experiment",
        "language": "python",
        "metadata": {"hubsite": {"managed": True}},
        "env": {"A": "1"},
    }
    assert out["setup"] == "export BEAMLINE=demo\n"
    assert (out["venv"], out["requirements"], out["python"]) == (None, None, "/opt/jupyterhub/bin/python3")
    assert out["launch"].splitlines() == [
        "#!/bin/bash",
        "# managed",
        "# Site kernel experiment (site_kernels; hubsite docs/kernels.md), started by the user's server.",
        "# The site's set-up script, sourced: what it exports reaches the kernel.",
        ". /usr/local/share/jupyter/kernels/experiment/setup.sh",
        'exec /opt/jupyterhub/bin/python3 -m ipykernel_launcher "$@"',
    ]


def test_a_kernel_with_requirements_gets_its_own_environment_with_the_locks_ipykernel():
    [listed, from_file] = kernels(
        [
            {"name": "analysis", "requirements": ["numpy==2.1.3", " scipy "]},
            {"name": "atlas", "requirements_file": str(LOCK)},
        ],
        LOCK.read_text(),
        venvs_dir="/srv/kernels/",
    )
    pin = next(line for line in LOCK.read_text().splitlines() if line.startswith("ipykernel=="))
    assert listed["venv"] == "/srv/kernels/analysis"
    assert listed["python"] == "/srv/kernels/analysis/bin/python"
    assert listed["requirements"].splitlines()[1:] == [pin, "numpy==2.1.3", "scipy"]
    assert listed["spec"]["display_name"] == "analysis"
    assert "setup.sh" not in listed["launch"]
    assert listed["launch"].splitlines()[-1] == 'exec /srv/kernels/analysis/bin/python -m ipykernel_launcher "$@"'
    assert from_file["requirements"].splitlines()[1:] == [pin, "-r site-requirements.txt"]
    assert from_file["requirements_file"] == str(LOCK)


def test_no_kernels_is_nothing_to_do():
    assert kernels([], "") == []
    assert kernels(None, "") == []


def test_the_lock_must_pin_ipykernel_when_an_environment_is_built():
    with pytest.raises(AnsibleFilterError, match="ipykernel=="):
        kernels([{"name": "a", "requirements": ["x"]}], "jupyterhub==6.1.1\n")


@pytest.mark.parametrize(
    ("value", "subject", "words"),
    [
        ("atlas", "site_kernels", "not a list"),
        (["atlas"], "site_kernels[0]", "not a dict"),
        ([{"name": "ATLAS"}], "site_kernels[0] (ATLAS).name", "lower-case letters"),
        ([{"display_name": "x"}], "site_kernels[0].name", "give the kernel a name"),
        ([{"name": "python3"}], "site_kernels[0] (python3).name", "the servers' own Python kernel"),
        ([{"name": "a"}, {"name": "a"}], "site_kernels[1] (a).name", "also the name of site_kernels[0]"),
        ([{"name": "a", "host": "x"}], "site_kernels[0] (a).host", "not a kernel setting"),
        ([{"name": "a", "setup": ""}], "site_kernels[0] (a).setup", "non-empty string"),
        ([{"name": "a", "env": ["A=1"]}], "site_kernels[0] (a).env", "not a dict"),
        ([{"name": "a", "env": {"A-B": "1"}}], "site_kernels[0] (a).env", "not an environment variable name"),
        ([{"name": "a", "env": {"A": 1}}], "site_kernels[0] (a).env.A", "not a string"),
        ([{"name": "a", "requirements": []}], "site_kernels[0] (a).requirements", "non-empty list"),
        ([{"name": "a", "requirements": ["--index-url x"]}], "site_kernels[0] (a).requirements", "requirement line"),
        ([{"name": "a", "requirements_file": "reqs.txt"}], "site_kernels[0] (a).requirements_file", "not a file"),
        (
            [{"name": "a", "requirements": ["x"], "requirements_file": str(LOCK)}],
            "site_kernels[0] (a)",
            "both requirements and requirements_file",
        ),
    ],
)
def test_bad_kernels_are_named_with_their_fix(value, subject, words):
    messages = validate({"h1": {"site_kernels": value}, "h2": {"site_kernels": value}}, {"all": ["h1", "h2"]})
    assert any(m.startswith(f"{subject}: ") and words in m for m in messages), messages
    assert len(messages) == len(set(messages))  # one host's copy of the site's value reported once
    with pytest.raises(AnsibleFilterError, match=re.escape(subject)):
        kernels(value, "ipykernel==7.4.0")


def test_good_kernels_and_templated_paths_pass_validation():
    value = [
        {"name": "experiment", "setup": "export A=1", "env": {"B": "2"}},
        {"name": "atlas", "requirements_file": "{{ inventory_dir }}/files/atlas.txt"},
        {"name": "ml", "requirements": ["uproot"], "language": "python", "display_name": "ML"},
    ]
    assert validate({"h1": {"site_kernels": value}, "h2": {}}, {"all": ["h1", "h2"]}) == []


def test_the_launcher_sources_the_set_up_script_then_execs_the_kernel(tmp_path):
    [out] = kernels(
        [{"name": "experiment", "setup": "export BEAMLINE=demo\ncd /"}],
        "",
        kernels_dir=str(tmp_path),
        python=str(tmp_path / "python"),
    )
    directory = Path(out["dir"])
    directory.mkdir()
    (directory / "setup.sh").write_text(out["setup"])
    (directory / "launch").write_text(out["launch"])
    (directory / "launch").chmod(0o755)
    # a "python" that shows what the kernel would get: its arguments, the script's export, its working directory
    fake = tmp_path / "python"
    fake.write_text('#!/bin/bash\necho "$@" "$BEAMLINE" "$PWD" $$\n')
    fake.chmod(0o755)
    proc = subprocess.Popen(
        [str(directory / "launch"), "-f", "/tmp/kernel-1.json"], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    out_text, _ = proc.communicate(timeout=30)
    assert out_text.split() == ["-m", "ipykernel_launcher", "-f", "/tmp/kernel-1.json", "demo", "/", str(proc.pid)]


def test_the_lock_in_the_role_pins_ipykernel():
    # the kernels' environments take ipykernel from the servers' lock: it must be there
    assert re.search(r"^ipykernel==\S+$", LOCK.read_text(), re.MULTILINE)
