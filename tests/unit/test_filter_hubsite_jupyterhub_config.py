"""hubsite_jupyterhub_config: deterministic, valid Python that gives back exactly the values it was given."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_jupyterhub_config.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


render = _load_filter("hubsite_jupyterhub_config")


class FakeSection:
    """c.Class: stores trait assignments."""

    def __init__(self):
        object.__setattr__(self, "values", {})

    def __setattr__(self, name, value):
        self.values[name] = value

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


class FakeConfig:
    """An autovivifying stand-in for traitlets' Config: c.Class.trait = value."""

    def __init__(self):
        object.__setattr__(self, "sections", {})

    def __getattr__(self, name):
        return self.sections.setdefault(name, FakeSection())


def _traitlets_config():
    traitlets_config = pytest.importorskip("traitlets.config")
    return traitlets_config.Config()


@pytest.fixture(params=["fake", "traitlets"])
def config(request):
    """A fresh `c`: the fake always, traitlets' Config when traitlets is importable."""
    if request.param == "traitlets":
        return _traitlets_config()
    return FakeConfig()


def run_config(source, c):
    code = compile(source, "jupyterhub_config.py", "exec")
    exec(code, {"c": c})  # noqa: S102 - the point of the test: the rendered file runs as JupyterHub would run it
    return c


HOSTILE_STRINGS = [
    "",
    "plain",
    "it's",
    'say "hi"',
    "both ' and \"",
    '"""',
    "'''",
    '""" + __import__("os").getcwd() + """',
    "''' + __import__('os').getcwd() + '''",
    "__import__('os').system('false')",
    "'); import os; os.system('false'); ('",
    "back\\slash",
    "trailing backslash\\",
    "\\'",
    "new\nline",
    "carriage\r\nreturn",
    "tab\there",
    "nul\x00byte",
    "line\u2028separator",
    "unicode: é ü 漢字 🚀",
    "{braces} and %s and {0}",
    "#comment",
    "\\N{BULLET}",
]


@pytest.mark.parametrize("value", HOSTILE_STRINGS, ids=range(len(HOSTILE_STRINGS)))
def test_hostile_strings_round_trip(value, config, tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"{value}__import__('os').system('touch {marker}')"
    settings = {
        "JupyterHub": {"bind_url": value, "template_vars": {value: hostile, "k": [value, hostile]}},
        "Spawner": {"environment": {"X": hostile}},
    }
    c = run_config(render(settings), config)
    assert c.JupyterHub.bind_url == value
    assert c.JupyterHub.template_vars == {value: hostile, "k": [value, hostile]}
    assert c.Spawner.environment == {"X": hostile}
    assert not marker.exists()


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -1,
        2**70,
        0.5,
        -1e300,
        [],
        {},
        [1, "a", None, True, 2.5],
        {"nested": {"deeper": [{"a": 1}, {"b": [None]}]}},
        ["x" * 60, "y" * 60, {"z": "w" * 80}],
    ],
    ids=lambda value: repr(value)[:30],
)
def test_json_like_values_round_trip(value, config):
    c = run_config(render({"JupyterHub": {"trait": value}}), config)
    assert c.JupyterHub.trait == value
    assert type(c.JupyterHub.trait) is type(value)


def test_realistic_settings_round_trip(config, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_CULLER_TOKEN", "t0k3n'\"\\")
    monkeypatch.setenv("PGPASSWORD", "pg secret")
    settings = {
        "JupyterHub": {
            "bind_url": "http://:8000",
            "hub_bind_url": "http://127.0.0.1:8081",
            "db_url": "postgresql://jupyterhub@db:5432/jupyterhub",
            "load_roles": [{"name": "idle-culler", "scopes": ["list:users", "admin:servers"], "services": ["c"]}],
            "services": [
                {
                    "name": "idle-culler",
                    "api_token": {"__env__": "JUPYTERHUB_CULLER_TOKEN"},
                    "command": ["/opt/jupyterhub/bin/python3", "-m", "jupyterhub_idle_culler", "--timeout=3600"],
                }
            ],
        },
        "Authenticator": {"allowed_users": {"__set__": ["bob", "alice"]}, "admin_users": {"__set__": []}},
        "Spawner": {"environment": {"PGPASSWORD": {"__env__": "PGPASSWORD"}}, "default_url": "/lab"},
    }
    source = render(settings)
    assert source.startswith("import os\n\n")
    c = run_config(source, config)
    assert c.JupyterHub.services[0]["api_token"] == "t0k3n'\"\\"
    assert c.JupyterHub.services[0]["command"][-1] == "--timeout=3600"
    assert c.JupyterHub.load_roles == settings["JupyterHub"]["load_roles"]
    assert c.Authenticator.allowed_users == {"alice", "bob"}
    assert c.Authenticator.admin_users == set()
    assert c.Spawner.environment == {"PGPASSWORD": "pg secret"}
    # the secrets themselves are not in the file
    assert "t0k3n" not in source
    assert "pg secret" not in source


def test_output_is_sorted_and_exact():
    settings = {
        "Spawner": {"default_url": "/lab", "cmd": ["jupyterhub-singleuser"]},
        "JupyterHub": {"bind_url": "http://:8000", "admin_access": False},
        "Authenticator": {"allowed_users": {"__set__": ["bob", "alice", "bob"]}},
    }
    assert render(settings) == (
        "c.Authenticator.allowed_users = {'alice', 'bob'}\n"
        "c.JupyterHub.admin_access = False\n"
        "c.JupyterHub.bind_url = 'http://:8000'\n"
        "c.Spawner.cmd = ['jupyterhub-singleuser']\n"
        "c.Spawner.default_url = '/lab'\n"
    )


def test_env_marker_adds_import_os():
    assert render({"JupyterHub": {"cookie_secret": {"__env__": "JPY_COOKIE_SECRET"}}}) == (
        "import os\n\nc.JupyterHub.cookie_secret = os.environ['JPY_COOKIE_SECRET']\n"
    )


def test_deterministic_whatever_the_key_order():
    one = {"B": {"y": {"q": 1, "p": 2}, "x": 1}, "A": {"z": {"__set__": [3, 1, 2]}}}
    two = {"A": {"z": {"__set__": [2, 3, 1]}}, "B": {"x": 1, "y": {"p": 2, "q": 1}}}
    assert render(one) == render(two)


def test_long_values_wrap_and_stay_valid(config):
    services = [{"name": f"service-{index}", "url": f"http://127.0.0.1:{9000 + index}"} for index in range(5)]
    source = render({"JupyterHub": {"services": services}})
    assert max(len(line) for line in source.splitlines()) <= 100
    assert source.count("\n") > 5
    assert run_config(source, config).JupyterHub.services == services


def test_empty_settings():
    assert render({}) == ""
    assert render({"JupyterHub": {}}) == ""


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ([], "expected a dict"),
        ("JupyterHub", "expected a dict"),
        ({"jupyterhub": {"x": 1}}, "'jupyterhub' is not a valid traitlets class name"),
        ({"JupyterHub.Spawner": {"x": 1}}, "'JupyterHub.Spawner' is not a valid traitlets class name"),
        ({"Jupyter Hub": {"x": 1}}, "is not a valid traitlets class name"),
        ({"None": {"x": 1}}, "'None' is not a valid traitlets class name"),
        ({"_Private": {"x": 1}}, "is not a valid traitlets class name"),
        ({"c": {"x": 1}}, "is not a valid traitlets class name"),
        ({"X); import os; (Y": {"x": 1}}, "is not a valid traitlets class name"),
        ({1: {"x": 1}}, "1 is not a valid traitlets class name"),
        ({"JupyterHub": {"bind.url": 1}}, "'bind.url' is not a valid trait name"),
        ({"JupyterHub": {"Bind_url": 1}}, "'Bind_url' is not a valid trait name"),
        ({"JupyterHub": {"__class__": 1}}, "'__class__' is not a valid trait name"),
        ({"JupyterHub": {"import": 1}}, "'import' is not a valid trait name"),
        ({"JupyterHub": {"x = 1\nimport os\nc.A.y": 1}}, "is not a valid trait name"),
        ({"JupyterHub": ["bind_url"]}, "JupyterHub: must be a dict"),
        ({"JupyterHub": {"x": {1, 2}}}, "JupyterHub.x: a value of type set is not JSON-like"),
        ({"JupyterHub": {"x": (1, 2)}}, "JupyterHub.x: a value of type tuple is not JSON-like"),
        ({"JupyterHub": {"x": b"bytes"}}, "a value of type bytes is not JSON-like"),
        ({"JupyterHub": {"x": [object()]}}, "JupyterHub.x[0]: a value of type object is not JSON-like"),
        ({"JupyterHub": {"x": float("nan")}}, "is not a finite number"),
        ({"JupyterHub": {"x": float("inf")}}, "is not a finite number"),
        ({"JupyterHub": {"x": {1: "a"}}}, "dict key 1 is a int; dict keys must be strings"),
        ({"JupyterHub": {"x": {"__set__": "ab"}}}, "__set__ takes a list"),
        ({"JupyterHub": {"x": {"__set__": [[1]]}}}, "__set__ elements must be"),
        ({"JupyterHub": {"x": {"__set__": [1], "y": 2}}}, "must be the only key"),
        ({"JupyterHub": {"x": {"__env__": "A'] + __import__('os').getcwd() + os.environ['B"}}}, "__env__ takes"),
        ({"JupyterHub": {"x": {"__env__": ""}}}, "__env__ takes an environment variable name"),
        ({"JupyterHub": {"x": {"__env__": ["A"]}}}, "__env__ takes an environment variable name"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_rejects(settings, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        render(settings)
    message = str(error.value)
    assert message.startswith("hubsite_jupyterhub_config: ")
    assert fragment in message


def test_ansible_string_subclasses_render_as_plain_strings(config):
    class TaggedStr(str):
        def __repr__(self):
            return "TaggedStr(!)"

    source = render({TaggedStr("JupyterHub"): {TaggedStr("bind_url"): TaggedStr("http://:8000")}})
    assert "TaggedStr" not in source
    assert run_config(source, config).JupyterHub.bind_url == "http://:8000"
