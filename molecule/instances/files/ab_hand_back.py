"""Run on a B hub host with the hub venv's Python: B's own login hook, as jupyterhub_config.py defines it, with
site_ab_routing.opt_in false, in a real Tornado server; print what a browser gets for each user as JSON.

The scenario's site has opt_in true (opt-in is tested through the front), so B hands no one back there. This runs
the other branch of the same generated code: the hook is taken from the deployed config file (loaded as JupyterHub
loads it, with the hub's environment file), only its opt_in flag is turned off, and each user's login POST goes
through Tornado's real request handling (set_cookie, clear_cookie, redirect, Finish). tests/test_ab.py checks it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from urllib.parse import urlencode

from jupyterhub.auth import Authenticator
from tornado import httpclient, httpserver, netutil, web
from traitlets.config.loader import PyFileConfigLoader

CONFIG_DIR = "/etc/jupyterhub"
LOGIN_PATH = "/hub/login?next=%2Fhub%2Fspawn"


def load_hook():
    with open(os.path.join(CONFIG_DIR, "hub.env"), encoding="utf-8") as env:
        for line in env:
            name, sep, value = line.rstrip("\n").partition("=")
            if sep and not name.startswith("#"):
                os.environ[name.strip()] = value
    config = PyFileConfigLoader("jupyterhub_config.py", path=CONFIG_DIR).load_config()
    hook = config.Authenticator.post_auth_hook
    hook.__globals__["_HUBSITE_AB"]["opt_in"] = False
    return hook, hook.__globals__["_HUBSITE_AB"]


def main():
    hook, ab = load_hook()
    authenticator = Authenticator()

    class Login(web.RequestHandler):
        def post(self):
            authentication = {"name": self.get_body_argument("username")}
            self.write({"logged_in": hook(authenticator, self, authentication)["name"]})

    async def run():
        sockets = netutil.bind_sockets(0, "127.0.0.1")
        server = httpserver.HTTPServer(web.Application([(r"/hub/login", Login)]))
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        client = httpclient.AsyncHTTPClient()
        answers = {"role": ab["role"], "users": ab["users"]}
        for user in sys.argv[1:]:
            response = await client.fetch(
                f"http://127.0.0.1:{port}{LOGIN_PATH}",
                method="POST",
                body=urlencode({"username": user, "password": "-"}),
                headers={"Cookie": f"{ab['cookie']}=b"},
                follow_redirects=False,
                raise_error=False,
            )
            answers[user] = {
                "status": response.code,
                "location": response.headers.get("Location"),
                "set_cookie": response.headers.get_list("Set-Cookie"),
                "cache_control": response.headers.get("Cache-Control"),
                "body": response.body.decode() if response.code == 200 else None,
            }
        server.stop()
        return answers

    print(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    main()
