"""
Real servers from Debian for the fleet's tests and benchmark: PostgreSQL
(initdb in a temporary folder, run as an unprivileged user, reached on a
Unix socket, one role with a password) and Mosquitto on a loopback port.
Each is started and stopped by the test, and its folder removed, also when
the test fails (the callers register stop() with atexit).
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1] if glob.glob("/usr/lib/postgresql/*/bin") else None
ROLE = "workshop"
PASSWORD = "pavé-de-rubis"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user():
    """PostgreSQL refuses to run as root: run it as nobody then."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("nobody")


class Postgres:
    def __init__(self):
        if not PG_BIN:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        self.dir = tempfile.mkdtemp(prefix="atelier-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.mkdir(self.sock)
        self.port = free_port()
        self.user = _as_user()
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
            os.chown(self.sock, self.user.pw_uid, self.user.pw_gid)
        self.running = False
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write("admin\n")
        if self.user:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                   "--locale=C.UTF-8", "--pwfile", pwfile])
        # The workshops' role signs in with a password; the test's admin
        # (postgres) comes in over the socket without one.
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write("local all %s scram-sha-256\n" % ROLE + rules)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                    "fsync = off\nlog_min_messages = warning\nmax_connections = 200\n"
                    % (self.port, self.sock))
        self.start()
        self.admin("CREATE ROLE %s LOGIN PASSWORD '%s'" % (ROLE, PASSWORD))
        self.admin("CREATE DATABASE atelier OWNER %s" % ROLE)
        self.password_file = os.path.join(self.dir, "workshop-password")
        with open(self.password_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(self.password_file, 0o644)

    def _run(self, args, **kw):
        if self.user:
            args = ["setpriv", "--reuid=%d" % self.user.pw_uid, "--regid=%d" % self.user.pw_gid,
                    "--clear-groups"] + args
        return subprocess.run(args, check=True, capture_output=True, text=True, cwd=self.dir, **kw)

    def conninfo(self, dbname="atelier", user=ROLE):
        return "host=%s port=%d dbname=%s user=%s" % (self.sock, self.port, dbname, user)

    def start(self):
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l",
                   os.path.join(self.dir, "log"), "-w", "-t", "60", "start"])
        self.running = True

    def stop(self, mode="fast"):
        if self.running:
            self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"])
            self.running = False

    def admin(self, sql):
        """Runs sql as the superuser; the rows as lists of text."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-d",
                            "atelier" if "CREATE DATABASE" not in sql and "CREATE ROLE" not in sql
                            else "postgres", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: %s\n%s" % (sql, r.stderr))
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def remove(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Mosquitto:
    def __init__(self, persistence=True):
        self.dir = tempfile.mkdtemp(prefix="atelier-mqtt-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.users = os.path.join(self.dir, "passwd")
        # One account, so that a wrong password is refused.
        with open(self.users, "w"):
            pass
        subprocess.run(["mosquitto_passwd", "-b", self.users, "atelier", "tourmaline"],
                       check=True, capture_output=True)
        os.chmod(self.users, 0o644)
        self.password_file = os.path.join(self.dir, "mqtt-password")
        with open(self.password_file, "w") as f:
            f.write("tourmaline\n")
        user = "user %s\n" % ("nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name)
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\n"
                    "persistence %s\npersistence_location %s/\n%s"
                    % (self.port, self.users, "true" if persistence else "false", self.dir, user))
        if os.geteuid() == 0:
            os.chown(self.dir, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def retained(self, topic, wait=2.0):
        """The retained messages under topic (a filter): {topic: payload}."""
        r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-u",
                            "atelier", "-P", "tourmaline", "-t", topic, "-v", "--retained-only",
                            "-W", str(wait)], capture_output=True, text=True)
        out = {}
        for line in r.stdout.splitlines():
            k, _, v = line.partition(" ")
            out[k] = v
        return out

    def subscribe(self, topic, path):
        """Starts a subscriber writing every message under topic to path."""
        f = open(path, "w")
        return subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-u",
                                 "atelier", "-P", "tourmaline", "-t", topic, "-v", "-q", "1"],
                                stdout=f, stderr=subprocess.STDOUT)

    def publish(self, topic, payload):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-u", "atelier",
                        "-P", "tourmaline", "-t", topic, "-m", payload, "-q", "1"], check=True,
                       capture_output=True)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
