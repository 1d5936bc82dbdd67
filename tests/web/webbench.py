"""
The web bench under test: the simulator, atelierd and atelier-web started
for real in a temporary folder, two accounts (a jeweller and a technician),
and Debian's chromium driven by Selenium. Shared by the browser test
(browser_test.py) and the web benchmark (tests/bench/bench_web.py). Every
process is stopped and the folder removed at exit, also on SIGTERM or
SIGINT or when a test fails.
"""
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORDS = {"marie": "emeraude-huilee", "tom": "platine-rhodie", "luc": "saphir-chauffe"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    """The three programs of the bench on one simulated workshop."""

    def __init__(self, config="config/sim-workshop.yaml", bin_dir=None, web_root=None):
        self.bin = os.path.abspath(bin_dir or os.environ.get("ATELIER_BIN", os.path.join(REPO, "build/asan/bin")))
        self.root = web_root or os.environ.get("ATELIER_WEB_ROOT", os.path.join(REPO, "firmware-host/web/www"))
        self.dir = tempfile.mkdtemp(prefix="atelier-web-")
        self.procs = []
        atexit.register(self.stop)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        # The configuration as shipped, trusting this account as the web
        # gateway and keeping the accounts beside the simulator's devices.
        with open(os.path.join(REPO, config)) as f:
            text = f.read()
        text = text.replace("\napi:\n", "\napi:\n  web_gateway: %s\n  web_users: web-users\n"
                            "  max_clients_per_user: 256\n  max_clients: 300\n" % user, 1)
        self.config = os.path.join(self.dir, "atelier.yaml")
        with open(self.config, "w") as f:
            f.write(text)
        for name in ("gems.yaml", "services.yaml"):
            shutil.copy(os.path.join(REPO, "config", name), self.dir)
        if os.path.isdir(os.path.join(REPO, "config/profiles")):
            shutil.copytree(os.path.join(REPO, "config/profiles"), os.path.join(self.dir, "profiles"))
        if os.path.isdir(os.path.join(REPO, "config/symbols")):
            shutil.copytree(os.path.join(REPO, "config/symbols"), os.path.join(self.dir, "symbols"))
        self.users = os.path.join(self.dir, "web-users")
        self.add_user("marie", "jeweller", "Marie Curie")
        self.add_user("tom", "technician", "Tom Lenoir")
        self.add_user("luc", "jeweller", "Luc")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.socket = os.path.join(self.dir, "atelier.sock")

    def _on_signal(self, signum, frame):
        self.stop()
        sys.exit(128 + signum)

    def add_user(self, name, role, display):
        subprocess.run([os.path.join(self.bin, "atelierctl"), "user", "--file", self.users, "add",
                        name, "--role", role, "--name", display],
                       input=PASSWORDS[name] + "\n", text=True, check=True, capture_output=True)

    def spawn(self, name, args, ready):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.procs.append(p)
        for _ in range(300):
            if ready():
                return p
            if p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("%s did not start:\n%s" % (name, self.log(name)))

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name + ".log")) as f:
                return f.read()
        except OSError:
            return ""

    def start(self, atelierd=True, web=True):
        self.spawn("sim", [os.path.join(self.bin, "atelier-sim"), "--run-dir", self.dir,
                           "--config", self.config],
                   lambda: os.path.exists(os.path.join(self.dir, "ctl.sock")))
        if atelierd:
            self.start_atelierd()
        if web:
            self.web = self.spawn("web", [os.path.join(self.bin, "atelier-web"), "-c", self.config,
                                          "--device-dir", self.dir, "--root", self.root,
                                          "--port", str(self.port)], self._web_up)
        return self

    def start_atelierd(self):
        self.daemon = self.spawn("atelierd", [os.path.join(self.bin, "atelierd"), "-c", self.config,
                                              "--device-dir", self.dir],
                                 lambda: os.path.exists(self.socket))
        # Every station up, then laser mode on every laser, as a
        # technician commissions a new GRBL.
        for _ in range(200):
            st = self.ctl("--json", "status")
            if st and all(d.get("link", "ready") == "ready" and d.get("up", True)
                          for d in json.loads(st)["devices"].values()):
                break
            time.sleep(0.1)
        status = json.loads(self.ctl("--json", "status"))
        for name, s in status["stations"].items():
            if s["kind"] == "laser":
                self.ctl("--station", name, "laser", "setting", "32", "1")

    def _web_up(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def ctl(self, *args):
        r = subprocess.run([os.path.join(self.bin, "atelierctl"), "--socket", self.socket] + list(args),
                           capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else None

    def sim(self, *args):
        subprocess.run([os.path.join(self.bin, "atelier-sim"), "ctl", self.dir] + list(args),
                       check=True, capture_output=True)

    def actuators(self):
        with open(os.path.join(self.dir, "actuators.log")) as f:
            return f.read()

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        if self.dir and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- plain HTTP, for what a browser would not send ---------------------

    def http(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.putrequest(method, path, skip_accept_encoding=True)
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        if data is not None:
            c.putheader("Content-Length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        out = (r.status, dict(r.getheaders()), r.read())
        c.close()
        return out

    def login(self, user, password=None):
        status, headers, body = self.http("POST", "/api/login",
                                          {"user": user, "password": password or PASSWORDS[user]},
                                          {"Content-Type": "application/json"})
        if status != 200:
            return status, None, None
        cookie = headers["Set-Cookie"].split(";")[0]
        return status, cookie, json.loads(body)["csrf"]

    def rpc(self, cookie, csrf, method, params=None):
        status, _, body = self.http("POST", "/api/rpc", {"method": method, "params": params or {}},
                                    {"Cookie": cookie, "X-CSRF-Token": csrf,
                                     "Content-Type": "application/json"})
        return status, json.loads(body)


def log_in(driver, bench, user, password=None):
    """Logs in through the login page, as a person would."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(bench.url + "/login.html")
    # The button is enabled once the page's script holds the form.
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "login-submit").is_enabled())
    driver.find_element(By.ID, "login-user").send_keys(user)
    driver.find_element(By.ID, "login-password").send_keys(password or PASSWORDS[user])
    driver.find_element(By.ID, "login-submit").click()


def chromium(width=1280, height=800):
    """Debian's chromium under chromedriver, headless."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,%d" % (width, height), "--lang=en-GB"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
