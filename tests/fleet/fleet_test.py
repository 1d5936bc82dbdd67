"""
Many workshops (docs/fleet.md) against real servers the test starts:
PostgreSQL from Debian (initdb in a temporary folder, an unprivileged
user, a Unix socket) and Mosquitto on a loopback port; two workshops, each
a simulator and an atelierd (tests/web/webbench.py), each with its
atelier-sync. Breaks the servers on purpose: PostgreSQL stopped mid-run,
the sender killed at random points, the broker restarted, atelierd and
atelier-sync killed, and three kinds of bad server.

Prints PASS/FAIL lines and a summary, as the other tests do; every process
and folder is removed at exit, also when a test fails.
"""
import atexit
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "web"))
import servers  # noqa: E402
import webbench  # noqa: E402

import cases  # noqa: E402


def check(name, ok, detail=""):
    """The fleet's cases read name first."""
    return cases.check(ok, name, detail)


def wait_for(pred, timeout=30.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Workshop(webbench.Bench):
    """A simulated workshop with its atelierd and, when started, its
    atelier-sync; fleet: section pointing at the test's servers."""

    def __init__(self, wid, pg, mqtt=None):
        super().__init__()
        self.wid = wid
        self.pg = pg
        self.mqtt = mqtt
        self.sync_proc = None
        self.write_fleet(pg.conninfo(), pg.password_file, self.config)

    def write_fleet(self, conninfo, password_file, path, lookup=1):
        with open(self.config) as f:
            text = f.read()
        text = text.split("\nfleet:\n")[0]
        text += ("\nfleet:\n  workshop: %s\n  name: \"Atelier %s\"\n  postgres: \"%s\"\n"
                 "  password_file: %s\n  lookup_seconds: %g\n" % (self.wid, self.wid.title(),
                                                                  conninfo, password_file, lookup))
        if self.mqtt:
            text += ("  mqtt:\n    host: 127.0.0.1\n    port: %d\n    username: atelier\n"
                     "    password_file: %s\n" % (self.mqtt.port, self.mqtt.password_file))
        with open(path, "w") as f:
            f.write(text)

    def start_sync(self, config=None, log="sync"):
        # Appended, so that every run's sanitizer reports are kept.
        out = open(os.path.join(self.dir, log + ".log"), "a")
        self.sync_proc = subprocess.Popen([os.path.join(self.bin, "atelier-sync"), "-c",
                                           config or self.config, "--device-dir", self.dir],
                                          stdout=out, stderr=subprocess.STDOUT, cwd=self.dir)
        self.procs.append(self.sync_proc)
        return self.sync_proc

    def kill_sync(self, sig=signal.SIGKILL):
        if self.sync_proc and self.sync_proc.poll() is None:
            self.sync_proc.send_signal(sig)
            self.sync_proc.wait(10)
        self.sync_proc = None

    def run(self, *args):
        r = subprocess.run([os.path.join(self.bin, "atelierctl"), "--socket", self.socket] +
                           list(args), capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def job(self, serial, service="ring_resizing:sizes=1", plan=False, as_json=True):
        args = (["--json"] if as_json else []) + ["job", "plan" if plan else "create",
                                                  "--serial", serial, "--type", "ring",
                                                  "--metal", "white_gold", "--service", service]
        rc, out = self.run(*args)
        if rc != 0:
            raise RuntimeError("job %s: %s" % (serial, out))
        return json.loads(out) if as_json else out

    def fleet(self):
        rc, out = self.run("--json", "fleet", "status")
        return json.loads(out) if rc == 0 else {"error": out}

    def outbox(self):
        """This journal's events, read with Python's sqlite3 (not our code)."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir, "state/journal.db"),
                             uri=True)
        rows = db.execute("SELECT seq, kind, body FROM outbox ORDER BY seq").fetchall()
        db.close()
        return [(s, k, json.loads(b)) for s, k, b in rows]

    def shared(self):
        rows = self.pg.admin("SELECT seq, kind, body::text FROM atelier.events WHERE workshop "
                             "= '%s' ORDER BY seq" % self.wid)
        return [(int(s), k, json.loads(b)) for s, k, b in rows]

    def caught_up(self):
        f = self.fleet()
        return f.get("backlog") == 0 and f.get("position", 0) > 0 and f.get("sync") == "running"

    def sync_says(self, what, timeout=20):
        """The status of the running atelier-sync once pred(status) holds."""
        pid = self.sync_proc.pid if self.sync_proc else None
        return wait_for(lambda: (lambda s: s if s.get("pid") == pid and what(s) else None)(
            self.fleet()), timeout) or self.fleet()


def same_history(w, name):
    """Every local event in PostgreSQL once, in order, equal."""
    local, shared = w.outbox(), w.shared()
    seqs = [s for s, _, _ in shared]
    ok = (len(local) == len(shared) and seqs == list(range(1, len(local) + 1)) and
          all(a[1] == b[1] and a[2] == b[2] for a, b in zip(local, shared)))
    first_diff = next((i for i, (a, b) in enumerate(zip(local, shared)) if a != b), None)
    return check(name, ok, "local %d events, shared %d, first difference at %s" %
                 (len(local), len(shared), first_diff))


def quote_rule(plan, service="ring_resizing"):
    for line in plan["quote"]["lines"]:
        if line["service"] == service:
            return line
    return {}


# --- the tests ---------------------------------------------------------------

def test_two_workshops(pg, paris, geneve):
    paris.start_sync()
    geneve.start_sync()
    # The first sender to reach the database creates the schema.
    for w in (paris, geneve):
        w.sync_says(lambda s: s.get("postgres") == "ok")
    first = paris.job("FR-5521")
    check("first re-size at Paris is free", quote_rule(first)["price"] == 0,
          json.dumps(first["quote"]))
    check("Paris's quote says it counted from the whole maison",
          "whole maison" in quote_rule(first)["rule"], quote_rule(first)["rule"])
    wait_for(paris.caught_up, 20)
    second = geneve.job("FR-5521", plan=True)
    rule = quote_rule(second)
    check("the second re-size, at Geneva, is 190 USD", rule.get("price") == 190 and
          second["quote"]["total"] == 190, json.dumps(second["quote"]))
    check("Geneva's quote says it counted from the whole maison",
          "counted from the whole maison" in rule.get("rule", ""), rule.get("rule"))
    rc, out = geneve.run("--json", "history", "--serial", "FR-5521")
    h = json.loads(out) if rc == 0 else {}
    check("Geneva's history of the serial shows Paris's job, with its workshop",
          any(j.get("workshop") == "paris" and j.get("workshop_name") == "Atelier Paris"
              for j in h.get("jobs", [])), out[:400])
    check("... and Paris's events, each with its workshop",
          h.get("events") and all(e.get("workshop") == "paris" for e in h["events"]) and
          h.get("shared", {}).get("answered") is True, out[:400])
    # Geneva takes the job in: both workshops' jobs in one history.
    geneve.job("FR-5521")
    wait_for(geneve.caught_up, 20)
    rc, out = paris.run("history", "--serial", "FR-5521")
    check("Paris's history (text) names both workshops", "at Atelier Paris" in out and
          "at Atelier Geneve" in out, out)
    rows = pg.admin("SELECT workshop, count(*) FROM atelier.jobs WHERE serial = 'FR-5521' "
                    "GROUP BY workshop ORDER BY workshop")
    check("PostgreSQL holds one job per workshop for the serial",
          rows == [["geneve", "1"], ["paris", "1"]], str(rows))
    same_history(paris, "Paris's journal and the shared history are the same events")
    history_page(geneve)


def history_page(w):
    """The web bench's History page at Geneva, in Debian's chromium: every
    workshop's jobs and events, each with its workshop's name."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    w.web = w.spawn("web", [os.path.join(w.bin, "atelier-web"), "-c", w.config, "--device-dir",
                            w.dir, "--root", w.root, "--port", str(w.port)], w._web_up)
    d = webbench.chromium()
    try:
        webbench.log_in(d, w, "marie")
        WebDriverWait(d, 10).until(lambda x: "login" not in x.current_url)
        d.get(w.url + "/history.html?serial=FR-5521")
        WebDriverWait(d, 10).until(lambda x: len(x.find_elements(
            By.CSS_SELECTOR, "#history-events tbody tr")) >= 2)
        jobs = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#history-jobs tbody tr")]
        events = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#history-events tbody tr")]
        scope = d.find_element(By.ID, "history-scope").text
        links = d.find_elements(By.CSS_SELECTOR, "#history-jobs tbody a")
        d.execute_script("document.getElementById('history-jobs').scrollIntoView()")
        if os.environ.get("TEST_LOG_DIR"):
            os.makedirs(os.path.join(os.environ["TEST_LOG_DIR"], "web"), exist_ok=True)
            d.save_screenshot(os.path.join(os.environ["TEST_LOG_DIR"], "web", "fleet-history.png"))
    finally:
        d.quit()
    check("the History page lists both workshops' jobs, each with its workshop",
          any("Atelier Paris" in j for j in jobs) and any("Atelier Geneve" in j for j in jobs),
          str(jobs))
    check("... and their events", any("Atelier Paris" in e for e in events) and
          any("Atelier Geneve" in e for e in events), str(events))
    check("... says every workshop was counted", scope == "Every workshop of the maison", scope)
    check("... and links only this workshop's job", len(links) == 1, str(len(links)))


def test_postgres_stopped(pg, paris, geneve):
    before = len(paris.outbox())
    pg.stop()
    plans = []
    t0 = time.monotonic()
    for i in range(3):
        plans.append(paris.job("FR-OUT-%d" % i))
    took = time.monotonic() - t0
    check("jobs go on at the bench while PostgreSQL is down",
          all(p.get("job") for p in plans), json.dumps(plans[0])[:300])
    rule = quote_rule(plans[0])
    check("the quote says it counted from this workshop only",
          "counted from this workshop only: the shared history did not answer" in
          rule.get("rule", ""), rule.get("rule"))
    print("      three jobs taken in %.2f s with PostgreSQL down" % took)
    f = wait_for(lambda: paris.fleet() if paris.fleet().get("error") else None, 20) or {}
    check("fleet status names the outage and counts the backlog",
          "PostgreSQL" in f.get("error", "") and f.get("backlog", 0) > 0 and
          f.get("postgres") == "down", json.dumps(f))
    rc, out = paris.run("status")
    check("status shows the backlog in one line",
          any(line.startswith("fleet paris:") and "backlog" in line for line in out.splitlines()),
          out[-300:])
    pg.start()
    check("when PostgreSQL returns the backlog arrives", wait_for(paris.caught_up, 60),
          json.dumps(paris.fleet()))
    check("the journal grew while PostgreSQL was down", len(paris.outbox()) > before)
    same_history(paris, "after the outage: every event once, in order")
    same_history(geneve, "Geneva's events too")


def test_sender_killed(pg, paris):
    """SIGKILL at random points in 20 rounds while jobs keep coming."""
    stop = threading.Event()
    made = []

    def bench():
        n = 0
        while not stop.is_set():
            try:
                paris.job("FR-KILL-%d" % (n % 7))
                made.append(n)
            except RuntimeError:
                pass
            n += 1
            time.sleep(0.02)

    th = threading.Thread(target=bench)
    th.start()
    rnd = random.Random(int(os.environ.get("FLEET_SEED", "5521")))
    try:
        for _ in range(20):
            paris.kill_sync()
            paris.start_sync()
            time.sleep(rnd.uniform(0.0, 0.4))
    finally:
        stop.set()
        th.join()
    paris.kill_sync()
    paris.start_sync()
    check("after 20 kills the sender catches up", wait_for(paris.caught_up, 60),
          json.dumps(paris.fleet()))
    print("      %d jobs taken during the kills" % len(made))
    same_history(paris, "after 20 SIGKILLs: no event lost, none twice")
    dup = pg.admin("SELECT count(*) - count(DISTINCT (workshop, seq)) FROM atelier.events")
    check("no duplicate (workshop, seq) in PostgreSQL", dup == [["0"]], str(dup))


def test_telemetry(pg, mqtt, paris):
    paris.kill_sync(signal.SIGTERM)
    paris.mqtt = mqtt
    paris.write_fleet(pg.conninfo(), pg.password_file, paris.config)
    paris.start_sync()
    topic = "atelier/paris/#"
    r = wait_for(lambda: (lambda m: m if m.get("atelier/paris/online") == "online" and
                          "atelier/paris/station/laser-1" in m else None)(
        mqtt.retained(topic, 1)), 20) or {}
    check("retained: online, the interlock and every station", r.get("atelier/paris/online") ==
          "online" and "atelier/paris/interlock" in r and
          all("atelier/paris/station/%s" % s in r for s in
              ("laser-1", "rings", "tank-clean", "tank-rinse", "bath")), str(list(r)))
    st = json.loads(r.get("atelier/paris/station/laser-1", "{}"))
    check("a station's state is its kind and state", st.get("kind") == "laser" and
          st.get("state") == "idle", str(st))
    events = os.path.join(paris.dir, "events.txt")
    sub = mqtt.subscribe("atelier/paris/events/#", events)
    time.sleep(0.5)
    job = paris.job("FR-MQTT-1")
    paris.sim("estop", "press")
    got = wait_for(lambda: (lambda t: t if "events/job" in t and "events/trip" in t else None)(
        open(events).read()), 10) or open(events).read()
    check("job transitions arrive as events (QoS 1)", "atelier/paris/events/job" in got and
          '"job":%d' % job["job"] in got.replace(" ", ""), got[:300])
    check("an e-stop is a trip event", "atelier/paris/events/trip" in got, got[:300])
    latched = wait_for(lambda: '"latched":true' in mqtt.retained(
        "atelier/paris/interlock", 1).get("atelier/paris/interlock", ""), 10)
    check("the interlock's retained state follows the e-stop", latched)
    paris.sim("estop", "release")
    paris.run("estop", "reset")
    sub.terminate()
    sub.wait()

    # Read-only: messages that look like commands change nothing.
    before = paris.actuators()
    for t, m in (("atelier/paris/station/laser-1/set", '{"state":"running"}'),
                 ("atelier/paris/cmd", "laser.stream G1X10S1000"),
                 ("atelier/paris/station/tank-clean", '{"state":"running","ultrasound":true}'),
                 ("atelier/paris/interlock/reset", "1")):
        mqtt.publish(t, m)
    time.sleep(1.0)
    rc, out = paris.run("--json", "status")
    stations = json.loads(out)["stations"] if rc == 0 else {}
    check("messages published to the workshop's topics command nothing",
          paris.actuators() == before and all(s["state"] in ("idle",) for n, s in
                                              stations.items() if n != "bath"),
          json.dumps(stations)[:300])

    # The broker restarted (without persistence): the states come back.
    mqtt.stop()
    mqtt.start()
    r = wait_for(lambda: (lambda m: m if "atelier/paris/station/bath" in m and
                          m.get("atelier/paris/online") == "online" else None)(
        mqtt.retained(topic, 1)), 30) or {}
    check("after a broker restart the retained states are back", "atelier/paris/station/bath" in r
          and r.get("atelier/paris/online") == "online", str(list(r)))

    # atelierd killed: the workshop shows offline.
    paris.daemon.kill()
    paris.daemon.wait()
    off = wait_for(lambda: mqtt.retained("atelier/paris/online", 1).get(
        "atelier/paris/online") == "offline", 15)
    check("atelierd killed: the workshop shows offline", off)
    paris.start_atelierd()
    on = wait_for(lambda: mqtt.retained("atelier/paris/online", 1).get(
        "atelier/paris/online") == "online", 15)
    check("atelierd back: online again", on)
    # atelier-sync killed: the broker's last will says offline.
    paris.kill_sync()
    off = wait_for(lambda: mqtt.retained("atelier/paris/online", 1).get(
        "atelier/paris/online") == "offline", 90, 0.5)
    check("atelier-sync killed: the last will shows the workshop offline", off)
    paris.start_sync()
    wait_for(lambda: mqtt.retained("atelier/paris/online", 1).get(
        "atelier/paris/online") == "online", 15)
    # A clean stop says offline itself, acknowledged before it disconnects.
    paris.kill_sync(signal.SIGTERM)
    off = wait_for(lambda: mqtt.retained("atelier/paris/online", 1).get(
        "atelier/paris/online") == "offline", 5)
    check("atelier-sync stopped: it says the workshop is offline", off)
    # MQTT with a wrong password: one line, PostgreSQL unaffected.
    bad = os.path.join(paris.dir, "bad-mqtt-password")
    with open(bad, "w") as f:
        f.write("not-it\n")
    cfg = os.path.join(paris.dir, "bad-mqtt.yaml")
    paris.write_fleet(pg.conninfo(), pg.password_file, cfg)
    with open(cfg) as f:
        text = f.read().replace(mqtt.password_file, bad)
    with open(cfg, "w") as f:
        f.write(text)
    paris.start_sync(cfg, "sync-bad-mqtt")
    f = paris.sync_says(lambda s: "MQTT" in s.get("error", ""), 15)
    check("an MQTT broker refusing the password: one clear line",
          "refused the connection" in f.get("error", "") and "\n" not in f.get("error", "") and
          f.get("mqtt") == "down" and f.get("postgres") == "ok", json.dumps(f))
    paris.kill_sync(signal.SIGTERM)
    paris.mqtt = None
    paris.write_fleet(pg.conninfo(), pg.password_file, paris.config)
    paris.start_sync()


class Nonsense:
    """A TCP server on loopback that answers anything with an HTTP error."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.done = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.recv(1024)
                c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            c.close()

    def close(self):
        self.done = True
        self.sock.close()


class Silent(Nonsense):
    """A server that accepts connections and never says a word."""

    def serve(self):
        self.held = []
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)


def test_lookup_bound(pg, geneve):
    """Pricing waits for the shared history at most fleet.lookup_seconds."""
    silent = Silent()
    good = geneve.config + ".good"
    os.rename(geneve.config, good)
    try:
        with open(good) as f:
            text = f.read().replace(pg.conninfo(), "host=127.0.0.1 port=%d dbname=atelier "
                                    "user=workshop" % silent.port)
        with open(geneve.config, "w") as f:
            f.write(text)
        geneve.daemon.send_signal(signal.SIGHUP)
        rule = {}
        for _ in range(50):
            t0 = time.monotonic()
            rule = quote_rule(geneve.job("FR-5521", plan=True))
            took = time.monotonic() - t0
            if "did not answer" in rule.get("rule", ""):
                break
            time.sleep(0.2)
        print("      a server that never answers: the plan took %.2f s (bound 1 s)" % took)
        check("a server that never answers: the quote is local, saying why",
              "counted from this workshop only: the shared history did not answer" in
              rule.get("rule", "") and "no answer within 1 s" in rule.get("rule", ""),
              rule.get("rule"))
        t0 = time.monotonic()
        rule = quote_rule(geneve.job("FR-5521", plan=True))
        print("      the next plan, during the retry delay, took %.2f s" % (time.monotonic() - t0))
        check("during the retry delay the quote says so at once", "next attempt in" in
              rule.get("rule", ""), rule.get("rule"))
    finally:
        os.replace(good, geneve.config)
        geneve.daemon.send_signal(signal.SIGHUP)
        silent.close()
    back = wait_for(lambda: "whole maison" in quote_rule(geneve.job("FR-5521", plan=True)).get(
        "rule", ""), 30, 0.5)
    check("the right server again: the whole maison's history", back)


def test_bad_servers(pg, paris):
    nonsense = Nonsense()
    wrong = os.path.join(paris.dir, "wrong-password")
    with open(wrong, "w") as f:
        f.write("rubis-faux\n")
    cases = [
        ("a wrong password", pg.conninfo(), wrong, "password authentication failed"),
        ("an unreachable host", "host=192.0.2.1 port=5432 dbname=atelier user=workshop",
         pg.password_file, "192.0.2.1"),
        ("a server that speaks nonsense", "host=127.0.0.1 port=%d dbname=atelier user=workshop"
         % nonsense.port, pg.password_file, "127.0.0.1:%d" % nonsense.port),
    ]
    try:
        for name, conninfo, pw, expect in cases:
            paris.kill_sync(signal.SIGTERM)
            cfg = os.path.join(paris.dir, "bad.yaml")
            paris.write_fleet(conninfo, pw, cfg)
            before_events = pg.admin("SELECT count(*) FROM atelier.events")
            paris.start_sync(cfg, "sync-bad")
            f = paris.sync_says(lambda s: s.get("error"))
            err = f.get("error", "")
            print("      %s: %s" % (name, err))
            check("%s: one clear line in fleet status" % name,
                  expect in err and err.startswith("PostgreSQL at ") and "\n" not in err and
                  len(err) < 300 and f.get("postgres") == "down", json.dumps(f))
            rc, out = paris.run("fleet", "status")
            check("%s: atelierctl fleet status shows it" % name,
                  rc == 0 and "last error   PostgreSQL at" in out, out)
            job = paris.job("FR-BAD-1")
            check("%s: nothing else changes (a job is taken, no event arrives)" % name,
                  job.get("job") and pg.admin("SELECT count(*) FROM atelier.events") ==
                  before_events, json.dumps(job)[:200])
    finally:
        nonsense.close()
        paris.kill_sync(signal.SIGTERM)
    paris.start_sync()
    check("with the right settings again, the backlog goes", wait_for(paris.caught_up, 60),
          json.dumps(paris.fleet()))
    same_history(paris, "after the bad servers: every event once, in order")


def main():
    pg = servers.Postgres()
    atexit.register(pg.remove)
    mqtt = servers.Mosquitto(persistence=False)
    atexit.register(mqtt.remove)
    paris = Workshop("paris", pg).start(web=False)
    geneve = Workshop("geneve", pg).start(web=False)
    tests = [lambda: test_two_workshops(pg, paris, geneve),
             lambda: test_postgres_stopped(pg, paris, geneve),
             lambda: test_sender_killed(pg, paris),
             lambda: test_telemetry(pg, mqtt, paris),
             lambda: test_bad_servers(pg, paris),
             lambda: test_lookup_bound(pg, geneve)]
    for t in tests:
        try:
            t()
        except Exception as e:  # a test that raises fails, the others still run
            import traceback
            traceback.print_exc()
            check("no exception", False, repr(e))
    for w in (paris, geneve):
        w.kill_sync(signal.SIGTERM)
        for p in w.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(20)
        reports = [n for n in os.listdir(w.dir) if n.endswith(".log") and any(
            m in open(os.path.join(w.dir, n), errors="replace").read()
            for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:"))]
        for n in reports:
            text = open(os.path.join(w.dir, n), errors="replace").read()
            at = min(i for i in (text.find("AddressSanitizer"), text.find("LeakSanitizer"),
                                 text.find("runtime error:")) if i >= 0)
            print("--- %s %s ---\n%s" % (w.wid, n, text[max(0, at - 400):at + 3000]))
        check("%s: no sanitizer report in the programs' logs" % w.wid, not reports, str(reports))
        if cases.failed:
            for name in ("sync", "atelierd"):
                print("--- %s %s log (tail) ---\n%s" % (w.wid, name, w.log(name)[-2000:]))
        w.stop()
    return cases.summary()


if __name__ == "__main__":
    sys.exit(main())
