"""
make demo, many workshops (docs/fleet.md): a PostgreSQL started for the
demo in a temporary folder, two workshops (Paris and Geneva, each a
simulator, atelierd and atelier-sync), and one ring re-sized in each: Paris
free, Geneva from 190 USD, counted from the whole maison; then the piece's
history as Geneva sees it, with both workshops. Everything is stopped and
removed at the end. Argument: the folder of the built programs.
"""
import atexit
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["ATELIER_BIN"] = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                                            os.path.join(REPO, "build/release/bin"))
sys.path.insert(0, os.path.join(REPO, "tests/fleet"))
sys.path.insert(0, os.path.join(REPO, "tests/web"))
import servers  # noqa: E402
from fleet_test import Workshop, wait_for, quote_rule  # noqa: E402


def show(text):
    for line in text.rstrip().splitlines():
        print("   " + line)


def main():
    pg = servers.Postgres()
    atexit.register(pg.remove)
    print("   PostgreSQL %s in %s" % (pg.admin("SHOW server_version")[0][0], pg.dir))
    paris = Workshop("paris", pg).start(web=False)
    geneve = Workshop("geneve", pg).start(web=False)
    atexit.register(geneve.stop)
    atexit.register(paris.stop)
    for w in (paris, geneve):
        w.start_sync()
        w.sync_says(lambda s: s.get("postgres") == "ok")
    print("   Paris re-sizes ring FR-5521:")
    plan = paris.job("FR-5521")
    r = quote_rule(plan)
    show("%s  %.2f USD  (%s)" % (r["title"], r["price"], r["rule"]))
    wait_for(paris.caught_up, 20)
    print("   a month later the client brings it to Geneva:")
    plan = geneve.job("FR-5521")
    r = quote_rule(plan)
    show("%s  %.2f USD  (%s)" % (r["title"], r["price"], r["rule"]))
    wait_for(geneve.caught_up, 20)
    print("   atelierctl history --serial FR-5521, at Geneva:")
    show(geneve.run("history", "--serial", "FR-5521")[1])
    print("   atelierctl fleet status, at Paris:")
    show(paris.run("fleet", "status")[1])
    for w in (paris, geneve):
        w.kill_sync(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
