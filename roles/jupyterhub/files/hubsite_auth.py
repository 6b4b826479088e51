# SPDX-License-Identifier: Apache-2.0
"""hubsite's JupyterHub authenticator for Kerberos password login (installed into the hub venv by hubsite).

KerberosPAMAuthenticator checks the password through a PAM service that holds pam_krb5 only, so the realm's
KDC decides. It then obtains the user's ticket-granting ticket with MIT kinit into a private file, keeps the
credential cache (base64) in the user's auth state (encrypted in the hub database with JUPYTERHUB_CRYPT_KEY),
and hands it to the user's server at each spawn in the environment variable HUBSITE_KRB5_CCACHE; the launcher
``sudospawner-singleuser`` (running as the user) writes it to a 0600 file and sets KRB5CCNAME, so the server and
its kernels hold the user's ticket (``klist``). docs/auth.md explains the design.

A KDC that cannot be reached gives the user a 503 page that says so (and the log says why), not a 403 or a 500.
HubsiteOIDCAuthenticator (OpenID Connect single sign-on) does the same when the provider cannot be reached when
the hub exchanges the login's code or reads the user's claims. Without a ticket in the auth state (a session
older than the ticket), a spawn is refused with a 403 that says to log in again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import tempfile

ENV_NAME = "HUBSITE_KRB5_CCACHE"
PAM_AUTHINFO_UNAVAIL = 9  # pam_krb5: the KDC cannot be reached
_UNREACHABLE = re.compile(r"Cannot contact any KDC|Cannot find KDC|Cannot resolve network address", re.I)


class KdcUnreachableError(Exception):
    """The realm's KDC did not answer."""


class KinitError(Exception):
    """kinit refused (wrong password, unknown principal, expired password...)."""


def principal_for(username, realm):
    """The Kerberos principal of a hub user name."""
    return f"{username}@{realm}" if realm else username


def classify_kinit_failure(returncode, stderr):
    """The exception for a failed kinit, from its exit code and error output."""
    text = " ".join(stderr.split())
    if _UNREACHABLE.search(text):
        return KdcUnreachableError(text)
    return KinitError(text or f"kinit exited with {returncode}")


async def obtain_ccache(kinit, principal, password, directory, timeout=30):
    """Run kinit for principal with password on stdin; return the credential cache's bytes.

    The cache is written to a fresh 0600 file in directory (the hub user's own) and removed at once.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="krb5cc_", dir=directory)
    os.close(fd)
    try:
        proc = await asyncio.create_subprocess_exec(
            kinit,
            "-c",
            f"FILE:{path}",
            principal,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C"},
        )
        try:
            _, stderr = await asyncio.wait_for(proc.communicate((password + "\n").encode()), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise KdcUnreachableError(f"kinit did not finish within {timeout} s") from None
        if proc.returncode != 0:
            raise classify_kinit_failure(proc.returncode, stderr.decode(errors="replace"))
        with open(path, "rb") as cache:
            return cache.read()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


try:  # the classes need JupyterHub; the helpers above are used (and unit-tested) without it
    import pamela
    from jupyterhub.auth import PAMAuthenticator
    from tornado import web
    from traitlets import Unicode
except ImportError:  # pragma: no cover - only on a machine without JupyterHub
    PAMAuthenticator = None

if PAMAuthenticator is not None:

    class KerberosPAMAuthenticator(PAMAuthenticator):
        """Kerberos password login through PAM (pam_krb5); the user's ticket goes to the user's server."""

        realm = Unicode("", config=True, help="Kerberos realm of the hub's users (user@REALM).")
        kinit = Unicode("/usr/bin/kinit", config=True, help="MIT kinit.")
        ccache_dir = Unicode(
            "/var/lib/jupyterhub/krb5", config=True, help="Private directory for kinit's short-lived cache files."
        )

        def _pam_check(self, username, password):
            """PAM authentication and account check; (0, '') or (PAM error code, message)."""
            try:
                pamela.authenticate(username, password, service=self.service, encoding=self.encoding)
                if self.check_account:
                    pamela.check_account(username, service=self.service, encoding=self.encoding)
            except pamela.PAMError as exc:
                return exc.errno or -1, str(exc)
            return 0, ""

        def _unreachable(self, username, cause):
            self.log.error(
                "Kerberos login of %s impossible: the KDC of %s cannot be reached (%s)", username, self.realm, cause
            )
            return web.HTTPError(
                503,
                "The Kerberos service (KDC) of %s cannot be reached, so nobody can log in right now. "
                "Please try again in a few minutes; if it lasts, tell the site's administrators.",
                self.realm,
            )

        async def authenticate(self, handler, data):
            username = data["username"]
            password = data["password"]
            remote = handler.request.remote_ip if handler is not None else "-"
            loop = asyncio.get_running_loop()
            code, message = await loop.run_in_executor(self.executor, self._pam_check, username, password)
            if code == PAM_AUTHINFO_UNAVAIL:
                raise self._unreachable(username, message)
            if code:
                self.log.warning("Kerberos (PAM) login failed (%r@%s): %s", username[:32], remote, message)
                return None
            principal = principal_for(username, self.realm)
            try:
                ccache = await obtain_ccache(self.kinit, principal, password, self.ccache_dir)
            except KdcUnreachableError as exc:
                raise self._unreachable(username, exc) from None
            except KinitError as exc:
                self.log.warning(
                    "kinit for %s failed after PAM accepted it (%s@%s): %s", principal, username, remote, exc
                )
                return None
            self.log.info("Kerberos ticket obtained for %s", principal)
            return {
                "name": username,
                "auth_state": {"krb5_principal": principal, "krb5_ccache": base64.b64encode(ccache).decode()},
            }

        async def pre_spawn_start(self, user, spawner):
            auth_state = await user.get_auth_state()
            ccache = (auth_state or {}).get("krb5_ccache")
            if not ccache:
                self.log.warning("Not starting %s's server: no Kerberos ticket in the hub session", user.name)
                raise web.HTTPError(
                    403,
                    "No Kerberos ticket for %s: log out and log in again with your Kerberos password.",
                    user.name,
                )
            spawner.environment[ENV_NAME] = ccache


try:  # OIDC: oauthenticator is in the hub venv (requirements), but the Kerberos class does not need it
    from oauthenticator.generic import GenericOAuthenticator
    from tornado import web
    from tornado.httpclient import HTTPClientError
except ImportError:  # pragma: no cover - only on a machine without oauthenticator
    GenericOAuthenticator = None

if GenericOAuthenticator is not None:

    class HubsiteOIDCAuthenticator(GenericOAuthenticator):
        """GenericOAuthenticator (configured as such: its settings apply) whose provider, when it cannot be reached
        at the code exchange or the user-info request, gives the user a 503 page that says so, not a 500."""

        async def httpfetch(self, url, label="fetching", parse_json=True, raise_error=True, **kwargs):
            try:
                return await super().httpfetch(
                    url, label=label, parse_json=parse_json, raise_error=raise_error, **kwargs
                )
            except (OSError, HTTPClientError) as exc:
                # an HTTP answer (4xx, 5xx) is the provider's to give; 599 is a timeout, OSError no connection
                if isinstance(exc, HTTPClientError) and exc.code != 599:
                    raise
                self.log.error("OIDC login impossible: %s %s: the provider cannot be reached (%s)", label, url, exc)
                raise web.HTTPError(
                    503,
                    "The single sign-on service (%s) cannot be reached, so nobody can log in right now. "
                    "Please try again in a few minutes; if it lasts, tell the site's administrators.",
                    self.login_service,
                ) from None
