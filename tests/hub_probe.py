"""What a curious rater tries from a kernel on their own hub server (run there by tests/test_hub_isolation.py).

Executed as a script in the rater's kernel, with ``PROBE`` (a dict) defined before it:
``secret`` (the database password, sent in two halves so the kernel's input never holds it
whole), ``pg_port``, ``watch`` ({label: path} of files the rater must not read), ``pids``
({label: pid} of processes whose environment the rater must not read), ``other_assignment``
(an assignment id of another rater) and ``gold`` (strings that would give labels away).
Prints one JSON line: what it found.
"""

# ruff: noqa: F821  (PROBE is defined by the cell that runs this file)
import json
import os
import pwd
import urllib.error
import urllib.request
from pathlib import Path

secret = "".join(PROBE["secret"])
found: dict = {"uid": os.getuid(), "user": pwd.getpwuid(os.getuid()).pw_name, "hub_user": os.environ.get("JUPYTERHUB_USER")}

# 1. The environment of this kernel (which is the server's).
found["env_keys"] = sorted(os.environ)
found["env_has_secret"] = any(secret in v for v in os.environ.values())
found["env_has_db_url"] = any("postgresql" in v for v in os.environ.values())

# 2. Every process's environment and command line this user can read.
readable_envs, hub_users_seen, secret_in_proc = 0, set(), []
for proc in Path("/proc").iterdir():
    if not proc.name.isdigit():
        continue
    for part in ("environ", "cmdline"):
        try:
            data = (proc / part).read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if part == "environ":
            readable_envs += 1
            hub_users_seen.update(v.split("=", 1)[1] for v in data.split("\0") if v.startswith("JUPYTERHUB_USER="))
        if secret in data:
            secret_in_proc.append(f"{proc.name}/{part}")
found["readable_envs"] = readable_envs
found["hub_users_seen"] = sorted(hub_users_seen)
found["secret_in_proc"] = secret_in_proc
unreadable = {}
for label, pid in PROBE["pids"].items():
    try:
        Path(f"/proc/{pid}/environ").read_bytes()
        unreadable[label] = False
    except OSError:
        unreadable[label] = True
found["pids_unreadable"] = unreadable

# 3. Files: those named, and everything readable under /tmp and the home folder.
blocked = {}
for label, path in PROBE["watch"].items():
    try:
        Path(path).read_bytes() if Path(path).is_file() else list(Path(path).iterdir())
        blocked[label] = False
    except OSError:
        blocked[label] = True
found["files_blocked"] = blocked
files_read, secret_in_files = 0, []
for top in ("/tmp", os.path.expanduser("~")):
    for root, _dirs, names in os.walk(top):
        for name in names:
            path = os.path.join(root, name)
            try:
                if os.path.getsize(path) > 4_000_000:
                    continue
                data = Path(path).read_bytes()
            except OSError:
                continue
            files_read += 1
            # Gold strings only in the rater's own files: /tmp may hold other runs' copies of the same items.
            mine = top != "/tmp"
            if secret.encode() in data or (mine and any(g.encode() in data for g in PROBE["gold"])):
                secret_in_files.append(path)
found["files_read"] = files_read
found["secret_in_files"] = secret_in_files

# 4. The network: PostgreSQL without the password.
import psycopg  # noqa: E402

pg = []
for password in (None, "", "postgres"):
    try:
        psycopg.connect(
            host="127.0.0.1", port=PROBE["pg_port"], user="postgres", dbname="postgres", password=password, connect_timeout=10
        ).close()
        pg.append("connected")
    except psycopg.OperationalError as exc:
        pg.append(str(exc).splitlines()[0][-80:])
found["pg"] = pg

# 5. The service, with this server's own hub token: only this rater's view.
base = os.environ["OVERSIGHT_SERVICE_URL"].rstrip("/") + "/oversight/api"
token = os.environ["JUPYTERHUB_API_TOKEN"]


def call(path: str) -> tuple[int, str]:
    req = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


status, body = call("/me")
found["me"] = [status, json.loads(body).get("rater") if status == 200 else body[:200]]
queue = json.loads(call("/studies/" + PROBE["study"] + "/queue")[1])["assignments"]
views = [call("/assignments/" + a["id"]) for a in queue]
found["own_views"] = [s for s, _ in views]
found["gold_in_views"] = sorted({g for _, text in views for g in PROBE["gold"] if g in text})
found["other"] = {
    path: call(path)[0]
    for path in (
        "/assignments/" + PROBE["other_assignment"],
        "/studies/" + PROBE["study"] + "/export",
        "/studies/" + PROBE["study"] + "/dashboard",
        "/studies/" + PROBE["study"] + "/my-results",
    )
}
print(json.dumps(found))
