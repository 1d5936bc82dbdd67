"""
The shared history's figures (docs/fleet.md, "Sizing"), against a real
PostgreSQL started for the run:

1. One workshop (the simulator, atelierd, atelier-sync) taking 100 jobs a
   minute: events replicated per second and the lag from the journal's
   commit to PostgreSQL's (p50, p99).
2. A backlog: the same workshop's whole journal sent again from nothing
   (a new database), as after a long outage: events per second.
3. 50 workshops (50 atelier-sync, each replaying a copy of that journal
   under its own id) into one PostgreSQL: the aggregate rate of the
   catch-up, then the lag while each workshop keeps 100 jobs a minute
   coming (synthetic events appended to its outbox).

Prints the figures side by side; asserts nothing on time (the machine is
shared).
"""
import atexit
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests/fleet"))
sys.path.insert(0, os.path.join(REPO, "tests/web"))
import servers  # noqa: E402
import webbench  # noqa: E402

BIN = os.path.abspath(os.environ.get("ATELIER_BIN", os.path.join(REPO, "build/release/bin")))
JOBS_PER_MINUTE = 100
LOAD_SECONDS = float(os.environ.get("FLEET_LOAD_SECONDS", "60"))
WORKSHOPS = int(os.environ.get("FLEET_WORKSHOPS", "50"))


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def lags(pg, workshops, since_seq=None):
    """Milliseconds from each event's time in the journal to its arrival."""
    cond = "workshop IN (%s)" % ",".join("'%s'" % w for w in workshops)
    if since_seq:
        cond += " AND seq > %d" % since_seq
    rows = pg.admin("SELECT extract(epoch FROM received - t) * 1000 FROM atelier.events WHERE "
                    + cond)
    return [float(r[0]) for r in rows]


def count(pg, workshop=None):
    where = " WHERE workshop = '%s'" % workshop if workshop else ""
    return int(pg.admin("SELECT count(*) FROM atelier.events" + where)[0][0])


def fleet_yaml(path, wid, pg, state_dir):
    with open(os.path.join(REPO, "config/sim-workshop.yaml")) as f:
        text = f.read()
    text = text.replace("state_dir: state", "state_dir: %s" % state_dir)
    # The catalogues and profiles where the repository has them.
    text = ("gems_file: %s/config/gems.yaml\nservices_file: %s/config/services.yaml\n"
            "profile_dir: %s/config/profiles\n" % (REPO, REPO, REPO)) + text
    text += ("\nfleet:\n  workshop: %s\n  postgres: \"%s\"\n  password_file: %s\n"
             % (wid, pg.conninfo(), pg.password_file))
    with open(path, "w") as f:
        f.write(text)


def one_workshop(pg):
    bench = webbench.Bench(bin_dir=BIN)
    atexit.register(bench.stop)
    with open(bench.config, "a") as f:
        f.write("\nfleet:\n  workshop: bench-1\n  postgres: \"%s\"\n  password_file: %s\n"
                % (pg.conninfo(), pg.password_file))
    bench.start(web=False)
    sync = bench.spawn("sync", [os.path.join(BIN, "atelier-sync"), "-c", bench.config,
                                "--device-dir", bench.dir], lambda: True)
    ctl = os.path.join(BIN, "atelierctl")
    n = int(LOAD_SECONDS * JOBS_PER_MINUTE / 60)
    t0 = time.monotonic()
    for i in range(n):
        due = t0 + i * 60.0 / JOBS_PER_MINUTE
        while time.monotonic() < due:
            time.sleep(0.005)
        subprocess.run([ctl, "--socket", bench.socket, "job", "create", "--serial",
                        "SN-%04d" % (i % 40), "--type", "ring", "--metal", "white_gold",
                        "--service", "ring_resizing:sizes=1", "--service", "polishing"],
                       check=True, capture_output=True)
    journal = os.path.join(bench.dir, "state/journal.db")
    db = sqlite3.connect("file:%s?mode=ro" % journal, uri=True)
    total = db.execute("SELECT max(seq) FROM outbox").fetchone()[0]
    db.close()
    while count(pg, "bench-1") < total:
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    lag = lags(pg, ["bench-1"])
    sync.terminate()
    sync.wait()
    keep = tempfile.mkdtemp(prefix="atelier-fleet-template-")
    atexit.register(shutil.rmtree, keep, True)
    template = os.path.join(keep, "journal.db")
    # SQLite's backup, not a file copy: the write-ahead log holds the
    # latest commits.
    src = sqlite3.connect("file:%s?mode=ro" % journal, uri=True)
    dst = sqlite3.connect(template)
    src.backup(dst)
    dst.close()
    src.close()
    bench.stop()
    return {"jobs": n, "events": total, "seconds": elapsed, "rate": total / elapsed,
            "lag": lag, "template": template}


def catch_up(pg, template):
    """The whole journal into an empty database, as after an outage."""
    pg.admin("DROP SCHEMA atelier CASCADE")
    d = tempfile.mkdtemp(prefix="atelier-fleet-bench-")
    atexit.register(shutil.rmtree, d, True)
    os.mkdir(os.path.join(d, "state"))
    shutil.copy(template, os.path.join(d, "state/journal.db"))
    cfg = os.path.join(d, "atelier.yaml")
    fleet_yaml(cfg, "bench-1", pg, "state")
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(BIN, "atelier-sync"), "-c", cfg, "--device-dir", d, "--once"],
                       capture_output=True, text=True)
    took = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    events = count(pg, "bench-1")
    return {"events": events, "seconds": took, "rate": events / took}


def many(pg, template, n, jobs):
    pg.admin("DROP SCHEMA atelier CASCADE")
    root = tempfile.mkdtemp(prefix="atelier-fleet-bench-")
    atexit.register(shutil.rmtree, root, True)
    procs = []
    journals = []
    names = ["w%02d" % i for i in range(n)]
    for w in names:
        d = os.path.join(root, w)
        os.makedirs(os.path.join(d, "state"))
        j = os.path.join(d, "state/journal.db")
        shutil.copy(template, j)
        db = sqlite3.connect(j)
        db.execute("UPDATE outbox_origin SET id = ?", (uuid.uuid4().hex,))
        db.commit()
        db.close()
        journals.append(j)
        fleet_yaml(os.path.join(d, "atelier.yaml"), w, pg, "state")
    per = count_template(template)
    t0 = time.monotonic()
    for w in names:
        d = os.path.join(root, w)
        log = open(os.path.join(d, "sync.log"), "w")
        procs.append(subprocess.Popen([os.path.join(BIN, "atelier-sync"), "-c",
                                       os.path.join(d, "atelier.yaml"), "--device-dir", d],
                                      stdout=log, stderr=subprocess.STDOUT))
    atexit.register(lambda: [p.kill() for p in procs if p.poll() is None])
    while count(pg) < per * n:
        time.sleep(0.1)
    replay = time.monotonic() - t0
    # Steady load: every workshop 100 jobs a minute, each job the same
    # number of events as the real ones above.
    per_job = max(1, per // jobs)
    stop = threading.Event()

    def writer(paths):
        conns = [sqlite3.connect(p, timeout=10) for p in paths]
        start = time.monotonic()
        k = 0
        while not stop.is_set():
            due = start + k * 60.0 / JOBS_PER_MINUTE
            now = time.monotonic()
            if now < due:
                time.sleep(min(0.05, due - now))
                continue
            for c in conns:
                with c:
                    for _ in range(per_job):
                        c.execute("INSERT INTO outbox (t, kind, body) VALUES (strftime("
                                  "'%Y-%m-%dT%H:%M:%fZ','now'), 'audit', ?)",
                                  (json.dumps({"id": k, "who": "bench", "what": "synthetic"}),))
            k += 1
        for c in conns:
            c.close()

    threads = [threading.Thread(target=writer, args=(journals[i::4],)) for i in range(4)]
    base = per
    for t in threads:
        t.start()
    time.sleep(min(LOAD_SECONDS, 30))
    stop.set()
    for t in threads:
        t.join()
    total = sum(int(sqlite3.connect("file:%s?mode=ro" % j, uri=True).execute(
        "SELECT max(seq) FROM outbox").fetchone()[0]) for j in journals)
    deadline = time.monotonic() + 120
    while count(pg) < total and time.monotonic() < deadline:
        time.sleep(0.1)
    steady = lags(pg, names, base)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(20)
    size = int(pg.admin("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN "
                        "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'atelier' "
                        "AND c.relkind = 'r'")[0][0])
    return {"bytes_per_event": size / count(pg), "workshops": n, "replayed": per * n,
            "replay_seconds": replay,
            "replay_rate": per * n / replay, "steady_events": len(steady), "lag": steady,
            "steady_rate": len(steady) / min(LOAD_SECONDS, 30)}


def count_template(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    n = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    db.close()
    return n


def main():
    pg = servers.Postgres()
    atexit.register(pg.remove)
    a = one_workshop(pg)
    b = catch_up(pg, a["template"])
    c = many(pg, a["template"], WORKSHOPS, a["jobs"])
    print("shared history, one PostgreSQL 15 on this machine (fsync off, Unix socket)")
    print("%-52s %12s %12s %12s" % ("", "events/s", "lag p50 ms", "lag p99 ms"))
    print("%-52s %12.0f %12.1f %12.1f" % (
        "1 workshop, %d jobs a minute (%d jobs, %d events)" % (JOBS_PER_MINUTE, a["jobs"],
                                                                 a["events"]),
        a["rate"], pct(a["lag"], 50), pct(a["lag"], 99)))
    print("%-52s %12.0f %12s %12s" % ("1 workshop, backlog of %d events sent at once" %
                                      b["events"], b["rate"], "-", "-"))
    print("%-52s %12.0f %12s %12s" % ("%d workshops, backlogs of %d events in all" % (
        c["workshops"], c["replayed"]), c["replay_rate"], "-", "-"))
    print("%-52s %12.0f %12.1f %12.1f" % ("%d workshops, each %d jobs a minute" % (
        c["workshops"], JOBS_PER_MINUTE), c["steady_rate"], pct(c["lag"], 50),
        pct(c["lag"], 99)))
    print("storage: %.0f bytes per event in PostgreSQL (the events and their projections, "
          "with indexes)" % c["bytes_per_event"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
