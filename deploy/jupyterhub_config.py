# JupyterHub in front of one PostgreSQL store: many raters, each hub user is a rater identity.
#
#   OVERSIGHT_DB_FILE=/etc/oversight/db-url  OVERSIGHT_OWNERS=prof  jupyterhub -f deploy/jupyterhub_config.py
#
# See deploy/README.md for the whole recipe. Every setting below can be given in the
# environment, so the same file serves a lab's hub and the test that starts it for real
# (tests/test_hub.py).
#
# Database URL: $OVERSIGHT_DB, else the first line of $OVERSIGHT_DB_FILE (default
# /etc/oversight/db-url), a file that only its owner may read (mode 0600): the hub refuses a
# file others can read. Only the hub and one hub-managed service (`oversight`, started below as
# the hub's own OS user) hold the URL: the service owns the store and serves the review API;
# the users' servers get no URL, only the service's address, and forward their review API to
# it with their own hub token (oversight_ext/server/forward.py). A rater's kernel or terminal
# thus finds no database credentials, and its own hub token reaches only the API, as itself.
#
# Identity: the review API takes the rater from the hub user of the request (JupyterHub's
# OAuth), never from the request body. Owners ($OVERSIGHT_OWNERS, comma-separated) get the
# store role "owner" at hub start: they see the live dashboard, reveal results and export.
#
# Authenticator and spawner: $OVERSIGHT_HUB_AUTH=pam (default) logs in system users and
# spawns each server as that user (LocalProcessSpawner); =dummy is for a trial or a test on
# one machine: one shared password ($OVERSIGHT_HUB_PASSWORD, at least 8 characters; JupyterHub
# 5's SharedPasswordAuthenticator), every server as the hub's own OS user
# (SimpleLocalProcessSpawner, home folders under $OVERSIGHT_HUB_DIR/homes), unless
# $OVERSIGHT_HUB_SPAWNER=local runs each as the system user of its name (as with pam).
#
# Who may log in: JupyterHub 5 and later admit nobody but admins unless told whom. Here the
# authenticator admits the users the stored studies name (their listed raters and owners,
# read at each login, so a study created while the hub runs needs no restart), everyone
# when a study has open-enrolment slots, and anyone in $OVERSIGHT_HUB_USERS.

import os
import stat
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (JupyterHub's config loader defines it)

hub_dir = Path(os.environ.get("OVERSIGHT_HUB_DIR", "/srv/oversight-hub"))
hub_dir.mkdir(parents=True, exist_ok=True)


def database_url() -> str:
    url = os.environ.get("OVERSIGHT_DB", "").strip()
    if url:
        return url
    path = Path(os.environ.get("OVERSIGHT_DB_FILE", "/etc/oversight/db-url"))
    try:
        mode = path.stat().st_mode
    except OSError:
        sys.exit(f"jupyterhub_config: no database: set OVERSIGHT_DB or write the PostgreSQL URL to {path} (chmod 600)")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        sys.exit(f"jupyterhub_config: {path} has mode {stat.filemode(mode)}: others can read the database password; run `chmod 600 {path}`")
    return path.read_text(encoding="utf-8").strip().splitlines()[0]


DB_URL = database_url()
SERVICE = "oversight"
SERVICE_URL = f"http://{os.environ.get('OVERSIGHT_SERVICE_IP', '127.0.0.1')}:{os.environ.get('OVERSIGHT_SERVICE_PORT', '8765')}"
OWNERS = [u.strip() for u in os.environ.get("OVERSIGHT_OWNERS", "").split(",") if u.strip()]
USERS = [u.strip() for u in os.environ.get("OVERSIGHT_HUB_USERS", "").split(",") if u.strip()]

# The store is migrated and the owners registered once, here, before any server starts.
from oversight_ext.store import Store  # noqa: E402

with Store(DB_URL) as _store:
    for _owner in OWNERS:
        _store.add_rater(_owner, role="owner")

c.JupyterHub.ip = os.environ.get("OVERSIGHT_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("OVERSIGHT_HUB_PORT", "8000"))
c.JupyterHub.hub_port = int(os.environ.get("OVERSIGHT_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('OVERSIGHT_PROXY_API_PORT', '8001')}"
# The hub's own state (users, tokens) is separate from the oversight store.
c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "jupyterhub-proxy.pid")

if USERS:
    c.Authenticator.allowed_users = set(USERS)


def study_users() -> tuple[set[str], bool]:
    """(users the stored studies name, whether any study has open-enrolment slots)."""
    from oversight_ext.study_record import SLOT_PREFIX

    names: set[str] = set(OWNERS)
    open_slots = False
    with Store(DB_URL) as store:
        for name in store.study_names():
            study = store.study(name)
            names.update(r for r in study.raters if not r.startswith(SLOT_PREFIX))
            names.update([study.owner] if study.owner else [])
            open_slots = open_slots or study.is_open
    return names, open_slots


def _admits(base: type) -> type:
    class StudyUsers(base):  # type: ignore[valid-type,misc]
        """The authenticator, admitting also the users the stored studies name."""

        def check_allowed(self, username: str, authentication: object = None) -> object:
            names, open_slots = study_users()
            if open_slots or username in names:
                return True
            return super().check_allowed(username, authentication)

    return StudyUsers


if os.environ.get("OVERSIGHT_HUB_AUTH", "pam") == "dummy":
    from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

    c.JupyterHub.authenticator_class = _admits(SharedPasswordAuthenticator)
    c.SharedPasswordAuthenticator.user_password = os.environ["OVERSIGHT_HUB_PASSWORD"]
    if os.environ.get("OVERSIGHT_HUB_ADMIN_PASSWORD"):
        # Hub admins log in with their own password (at least 32 characters); study owners need no hub admin.
        c.SharedPasswordAuthenticator.admin_password = os.environ["OVERSIGHT_HUB_ADMIN_PASSWORD"]
        c.Authenticator.admin_users = set(OWNERS)
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(hub_dir / "homes" / "{username}")
    if os.environ.get("OVERSIGHT_HUB_SPAWNER") == "local":
        c.JupyterHub.spawner_class = "localprocess"
else:
    from jupyterhub.auth import PAMAuthenticator

    c.JupyterHub.authenticator_class = _admits(PAMAuthenticator)
    c.Authenticator.admin_users = set(OWNERS)
    c.JupyterHub.spawner_class = "localprocess"

# The store's one holder: a hub-managed service with the review API, as the hub's OS user.
c.JupyterHub.services = [
    {
        "name": SERVICE,
        "url": SERVICE_URL,
        "command": [sys.executable, "-m", "oversight_ext.server.hub_service"],
        "environment": {"OVERSIGHT_DB": DB_URL},
        "oauth_no_confirm": True,  # a browser going to the service directly is not asked to approve it
        "display": False,
    }
]
# Every user may call the service (as themselves), and each server's own token may too.
c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", f"access:services!service={SERVICE}"]}]
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", f"access:services!service={SERVICE}"]

# Each user's server: the venv's jupyterhub-singleuser with the review API forwarded to the service.
extensions = {"oversight_ext": True}
c.Spawner.default_url = os.environ.get("OVERSIGHT_DEFAULT_URL", "/lab")
if os.environ.get("OVERSIGHT_LAB", "1") == "0":
    # The review API alone (tests, load checks): the server starts several times faster.
    extensions.update(dict.fromkeys(("jupyterlab", "jupyter_lsp", "jupyter_server_terminals", "notebook_shim"), False))
    c.Spawner.default_url = "/oversight/api/me"
if os.environ.get("OVERSIGHT_SERVER_PYTHON"):
    # Users' servers in another environment than the hub's (one the users' OS accounts can run).
    c.Spawner.cmd = [os.environ["OVERSIGHT_SERVER_PYTHON"], "-m", "jupyterhub.singleuser"]
else:
    c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.args = [f"--ServerApp.jpserver_extensions={extensions!r}"]
if os.geteuid() == 0 and c.JupyterHub.spawner_class == "simple":
    # Servers of a trial hub run as the hub's own user; in a root container that is root.
    c.Spawner.args.append("--allow-root")
# The service's address, never the database's: Spawner.environment replaces nothing the hub
# keeps out (its own environment reaches servers only through Spawner.env_keep).
c.Spawner.environment = {"OVERSIGHT_SERVICE_URL": f"{SERVICE_URL}/services/{SERVICE}/"}
c.Spawner.start_timeout = int(os.environ.get("OVERSIGHT_START_TIMEOUT", "180"))
c.Spawner.http_timeout = int(os.environ.get("OVERSIGHT_START_TIMEOUT", "180"))
