"""hubsite_auth_settings and hubsite_oidc_endpoints: an authenticator choice as JupyterHub settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_auth_settings.py"
_spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
auth_settings = _module.FilterModule().filters()["hubsite_auth_settings"]
oidc_endpoints = _module.FilterModule().filters()["hubsite_oidc_endpoints"]

KERBEROS = {"realm": "EXAMPLE.ORG", "pam_service": "hubsite-jupyterhub", "kinit": "/usr/bin/kinit"}
ENDPOINTS = {
    "authorize_url": "https://sso.example.org/auth",
    "token_url": "https://sso.example.org/token",
    "userdata_url": "https://sso.example.org/me",
}
OIDC = {
    "endpoints": ENDPOINTS,
    "client_id": "jupyterhub",
    "client_secret_env": "HUBSITE_OIDC_CLIENT_SECRET",
    "callback_url": "https://hub.example.org/hub/oauth_callback",
    "scopes": ["openid", "groups"],
    "username_claim": "preferred_username",
    "groups_claim": "groups",
    "allowed_groups": ["physics", "chemistry"],
    "admin_groups": ["admins"],
    "allow_all": False,
    "login_service": "Example SSO",
}
DISCOVERY_URL = "https://sso.example.org/.well-known/openid-configuration"
DISCOVERY = {
    "issuer": "https://sso.example.org",
    "authorization_endpoint": "https://sso.example.org/auth",
    "token_endpoint": "https://sso.example.org/token",
    "userinfo_endpoint": "https://sso.example.org/me",
}


def test_pam_adds_only_the_login_pages_words():
    assert auth_settings("pam") == {
        "JupyterHub": {"template_vars": {"login_method": "Sign in with your account on this site."}}
    }


@pytest.mark.parametrize(
    ("authenticator", "words"),
    [
        ("kerberos", "Sign in with your Kerberos user name and password (realm EXAMPLE.ORG)."),
        ("oidc", "Sign in with Example SSO."),
    ],
)
def test_the_login_page_says_how_to_sign_in(authenticator, words):
    settings = auth_settings(authenticator, kerberos=KERBEROS, oidc=OIDC)
    assert settings["JupyterHub"]["template_vars"] == {"login_method": words}


def test_kerberos_uses_hubsite_authenticator_with_auth_state():
    settings = auth_settings("kerberos", kerberos=KERBEROS)
    assert settings["JupyterHub"]["authenticator_class"] == "hubsite_auth.KerberosPAMAuthenticator"
    assert settings["Authenticator"]["enable_auth_state"] is True
    assert settings["KerberosPAMAuthenticator"] == {
        "service": "hubsite-jupyterhub",
        "realm": "EXAMPLE.ORG",
        "kinit": "/usr/bin/kinit",
        "open_sessions": False,
        "renew_interval": 3600,
    }


def test_kerberos_spnego_adds_the_keytab_and_says_the_browser_signs_in():
    settings = auth_settings("kerberos", kerberos={**KERBEROS, "spnego": True, "keytab": "/etc/jupyterhub/http.keytab"})
    traits = settings["KerberosPAMAuthenticator"]
    assert traits["spnego"] is True
    assert traits["keytab"] == "/etc/jupyterhub/http.keytab"
    assert traits["service"] == "hubsite-jupyterhub"
    assert "your browser signs you in by itself" in settings["JupyterHub"]["template_vars"]["login_method"]
    # spnego false is the password login alone
    assert "spnego" not in auth_settings("kerberos", kerberos={**KERBEROS, "spnego": False})["KerberosPAMAuthenticator"]


def test_oidc_generic_oauthenticator_with_groups_from_a_claim_and_secret_from_env():
    settings = auth_settings("oidc", oidc=OIDC)
    generic = settings["GenericOAuthenticator"]
    assert settings["JupyterHub"]["authenticator_class"] == "hubsite_auth.HubsiteOIDCAuthenticator"
    assert settings["Authenticator"] == {"enable_auth_state": True, "manage_groups": True}
    assert generic["client_secret"] == {"__env__": "HUBSITE_OIDC_CLIENT_SECRET"}
    assert generic["authorize_url"] == ENDPOINTS["authorize_url"]
    assert generic["userdata_url"] == ENDPOINTS["userdata_url"]
    assert generic["auth_state_groups_key"] == "oauth_user.groups"
    assert generic["allowed_groups"] == {"__set__": ["chemistry", "physics"]}
    assert generic["admin_groups"] == {"__set__": ["admins"]}
    assert generic["manage_groups"] is True
    assert generic["allow_all"] is False
    assert generic["refresh_pre_spawn"] is True


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("github",), "not supported"),
        (("kerberos",), "kerberos must be a dict"),
        (("kerberos", {"realm": "X"}), "lacks pam_service, kinit"),
        (("kerberos", {**KERBEROS, "spnego": "yes"}), "kerberos.spnego must be a bool"),
        (("kerberos", {**KERBEROS, "spnego": True}), "needs kerberos.keytab"),
        (("oidc", None, {**OIDC, "endpoints": {}}), "oidc.endpoints lacks authorize_url"),
    ],
)
def test_bad_calls_are_named(args, match):
    with pytest.raises(AnsibleFilterError, match=match):
        auth_settings(*args)


def test_endpoints_from_discovery():
    assert oidc_endpoints(DISCOVERY, DISCOVERY_URL) == ENDPOINTS
    # A trailing slash on the issuer is the same issuer.
    assert oidc_endpoints({**DISCOVERY, "issuer": "https://sso.example.org/"}, DISCOVERY_URL) == ENDPOINTS


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ({**DISCOVERY, "issuer": "https://other.example.org"}, "not the URL's prefix"),
        ({**DISCOVERY, "token_endpoint": "http://sso.example.org/token"}, "no https token_endpoint"),
        ({k: v for k, v in DISCOVERY.items() if k != "userinfo_endpoint"}, "no https userinfo_endpoint"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_bad_discovery_documents_are_refused(document, match):
    with pytest.raises(AnsibleFilterError, match=match):
        oidc_endpoints(document, DISCOVERY_URL)


def test_kerberos_renew_interval_passes_through_and_bad_values_are_refused():
    traits = auth_settings("kerberos", kerberos={**KERBEROS, "renew_interval": 0})["KerberosPAMAuthenticator"]
    assert traits["renew_interval"] == 0
    for bad in (-1, "3600", True, 1.5):
        with pytest.raises(AnsibleFilterError, match="renew_interval"):
            auth_settings("kerberos", kerberos={**KERBEROS, "renew_interval": bad})
