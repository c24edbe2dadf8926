"""A throw-away PostgreSQL server for the tests of the shared store (tests/pg/).

start() makes a cluster with initdb in a fresh folder under /tmp, as an unprivileged user
(initdb and postgres refuse root: when the test runs as root, the cluster belongs to 'nobody'),
listening only on a Unix socket in that folder (listen_addresses = ''), with trust
authentication for the one local superuser 'fm'.  stop() stops it (pg_ctl -m immediate) and
removes the folder; use it in a finally (or `with Server() as url:`) so that a failing test
leaves no server behind.  skip_reason() says why no server can be started here (exit 77).
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile


def _bindir():
    for version in ("15", "16", "17", "14", "13"):
        d = "/usr/lib/postgresql/%s/bin" % version
        if os.access(os.path.join(d, "initdb"), os.X_OK) and \
                os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def skip_reason(flakemeter):
    if _bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed " \
               "(Debian: apt-get install postgresql)"
    out = subprocess.run([flakemeter, "show", "--db", "postgresql:///x?host=/nonexistent"],
                         capture_output=True, text=True)
    if "built without PostgreSQL support" in out.stderr:
        return "flakemeter was built without PostgreSQL support (-Dpostgresql=disabled)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            return "running as root and there is no user 'nobody' to own the cluster"
    return None


class Server:
    def __init__(self):
        self.dir = None
        self.bindir = _bindir()
        self.user = None

    def _demote(self):
        if self.user is not None:
            os.setgid(self.user.pw_gid)
            os.setgroups([])
            os.setuid(self.user.pw_uid)

    def _run(self, args, **kw):
        return subprocess.run([os.path.join(self.bindir, args[0])] + args[1:],
                              preexec_fn=self._demote, capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}, **kw)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="fmpg", dir="/tmp")  # short: socket paths <= 107
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("nobody")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        data = os.path.join(self.dir, "data")
        r = self._run(["initdb", "-D", data, "-U", "fm", "--auth=trust", "-E", "UTF8",
                       "--no-sync"])
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stderr.strip()[-500:])
        opts = ("-c listen_addresses='' -c unix_socket_directories=%s -c fsync=off "
                "-c max_connections=100 -c shared_buffers=32MB" % self.dir)
        r = self._run(["pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(self.dir, "log"),
                       "-w", "-t", "30", "start"])
        if r.returncode != 0:
            log = ""
            try:
                with open(os.path.join(self.dir, "log")) as f:
                    log = f.read()[-500:]
            except OSError:
                pass
            raise RuntimeError("pg_ctl start failed: " + r.stderr.strip()[-300:] + log)
        return self.url("postgres")

    def url(self, db):
        return "postgresql:///%s?host=%s&user=fm" % (db, self.dir)

    def createdb(self, name):
        r = subprocess.run([os.path.join(self.bindir, "..", "..", "..", "..", "bin", "createdb")
                            if False else "createdb", "-h", self.dir, "-U", "fm", name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("createdb failed: " + r.stderr.strip())
        return self.url(name)

    def psql(self, db, sql):
        r = subprocess.run(["psql", "-h", self.dir, "-U", "fm", "-d", db, "-XAtq", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: " + r.stderr.strip())
        return r.stdout.strip()

    def stop(self):
        if self.dir is None:
            return
        data = os.path.join(self.dir, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            self._run(["pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "30", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
