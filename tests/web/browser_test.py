"""
The web bench in a real browser (issue 14): Debian's chromium, driven by
Selenium, against atelier-sim, atelierd and atelier-web started here. A
jeweller logs in, describes a platinum ring with an oiled emerald and sees
the tank and the bath substituted with their reasons, designs "محمد" on a
ring, creates an engraving job and takes it to done at the bench; the
e-stop pressed in the simulator shows the banner without a reload; a
jeweller is refused calibration (page and API), a technician is not; a
request without the CSRF token, a WebSocket from another origin, wrong
passwords past the fifth and paths out of the web root are all refused.
Screenshots of every page are kept in $TEST_LOG_DIR/web (look at them).
Prints PASS/FAIL lines and a summary, as the other tests do.
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webbench  # noqa: E402

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from cases import check  # noqa: E402
import cases  # noqa: E402


def wait(driver, cond, timeout=10):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.02).until(lambda d: cond(d))
    except TimeoutException:
        return None


shots = os.path.join(os.environ.get("TEST_LOG_DIR", os.path.join(webbench.REPO, "build/test-logs")), "web")
os.makedirs(shots, exist_ok=True)


def shot(driver, name):
    # The whole page, not only the window: the ticket and long plans.
    h = driver.execute_script("return Math.max(document.body.scrollHeight, 800)")
    w = driver.execute_script("return document.documentElement.clientWidth")
    driver.set_window_size(1280, min(h + 140, 4000))
    driver.save_screenshot(os.path.join(shots, name + ".png"))
    driver.set_window_size(1280, 800)
    # No horizontal scrolling on a tablet's width.
    return driver.execute_script("return document.documentElement.scrollWidth") <= w + 1


def console_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and "favicon" not in e["message"]]


def fetch(driver, path, body=None, csrf=True):
    """A fetch from inside the page, as its own scripts would make it."""
    return driver.execute_async_script("""
        const [path, body, withCsrf, done] = arguments;
        (async () => {
          const s = await (await fetch('/api/session')).json();
          const h = {'Content-Type': 'application/json'};
          if (withCsrf) h['X-CSRF-Token'] = s.csrf;
          const r = await fetch(path, {method: body ? 'POST' : 'GET', headers: h,
                                       body: body ? JSON.stringify(body) : undefined});
          done({status: r.status, body: await r.text()});
        })().catch(e => done({status: 0, body: String(e)}));
    """, path, body, csrf)


def server_checks(bench):
    """What a browser would never send: checked over plain HTTP."""
    # Paths out of the web root: a file beside it must never be served.
    secret = os.path.join(os.path.dirname(bench.root), "gw-secret.txt")
    made_secret = not os.path.exists(secret)
    if made_secret:
        with open(secret, "w") as f:
            f.write("SECRET-BESIDE-THE-WEB-ROOT\n")
    try:
        st, cookie, csrf = bench.login("marie")
        for p in ("/../gw-secret.txt", "/%2e%2e/gw-secret.txt", "/%2E%2E/gw-secret.txt",
                  "/..%2fgw-secret.txt", "/%2e%2e%2fgw-secret.txt", "/.%2e/gw-secret.txt",
                  "/%252e%252e/gw-secret.txt", "/..%5cgw-secret.txt", "/css/../../gw-secret.txt",
                  "/css/%2e%2e/%2e%2e/gw-secret.txt", "//etc/passwd", "/%2fetc%2fpasswd",
                  "/..;/gw-secret.txt", "/%c0%ae%c0%ae/gw-secret.txt", "/.hidden", "/../../../etc/passwd"):
            status, _, body = bench.http("GET", p, headers={"Cookie": cookie})
            check(status in (400, 403, 404) and b"SECRET" not in body and b"root:" not in body,
                  "path %s stays in the web root" % p, "HTTP %d" % status)
    finally:
        if made_secret:
            os.unlink(secret)

    # CSRF: the session's cookie alone changes nothing.
    status, _, body = bench.http("POST", "/api/rpc", {"method": "job.list"},
                                 {"Cookie": cookie, "Content-Type": "application/json"})
    check(status == 403 and b"CSRF" in body, "a POST without the CSRF token is refused",
          "HTTP %d %s" % (status, body[:80]))
    status, _, body = bench.http("POST", "/api/rpc", {"method": "job.list"},
                                 {"Cookie": cookie, "X-CSRF-Token": "0" * 64,
                                  "Content-Type": "application/json"})
    check(status == 403, "a POST with another CSRF token is refused", "HTTP %d" % status)
    status, _, _ = bench.http("POST", "/api/rpc", {"method": "job.list"},
                              {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "http://evil.example",
                               "Content-Type": "application/json"})
    check(status == 403, "a POST from another origin is refused", "HTTP %d" % status)
    status, _, _ = bench.http("POST", "/api/rpc", {"method": "job.list"},
                              {"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    check(status == 401, "no session, no call", "HTTP %d" % status)
    status, _, body = bench.http("POST", "/api/rpc", {"method": "act_as", "params": {"user": "tom"}},
                                 {"Cookie": cookie, "X-CSRF-Token": csrf,
                                  "Content-Type": "application/json"})
    check(status == 400, "a page cannot ask the gateway to act for someone else", "HTTP %d" % status)

    # The cookie's attributes.
    status, headers, _ = bench.http("POST", "/api/login",
                                    {"user": "marie", "password": webbench.PASSWORDS["marie"]},
                                    {"Content-Type": "application/json"})
    c = headers.get("Set-Cookie", "")
    check(status == 200 and "HttpOnly" in c and "SameSite=Strict" in c and "Path=/" in c,
          "session cookie is HttpOnly, SameSite=Strict", c)
    check("Content-Security-Policy" in headers and "default-src 'self'" in headers["Content-Security-Policy"],
          "answers carry a Content-Security-Policy")

    # The role is the user's, decided by atelierd: a jeweller's calibration
    # call is refused by atelierd itself, a technician's goes through.
    status, r = bench.rpc(cookie, csrf, "calibrate.begin", {"procedure": "tank.temperature",
                                                            "instrument": "x", "station": "tank-clean"})
    check(r.get("error", {}).get("code") == 1001, "atelierd refuses a jeweller calibration", r)
    st, tcookie, tcsrf = bench.login("tom")
    status, r = bench.rpc(tcookie, tcsrf, "calibration.due")
    check("result" in r, "a technician reads calibration.due", r)
    status, _, _ = bench.http("GET", "/calibration.html", headers={"Cookie": cookie})
    check(status == 403, "the calibration page is refused to a jeweller", "HTTP %d" % status)
    status, _, _ = bench.http("GET", "/calibration.html", headers={"Cookie": tcookie})
    check(status == 200, "the calibration page opens for a technician", "HTTP %d" % status)
    status, headers, _ = bench.http("GET", "/index.html")
    check(status == 303 and headers.get("Location", "").startswith("/login.html?next="),
          "a page without a session goes to the login page", "HTTP %d" % status)

    # The audit trail names the person and the channel.
    status, r = bench.rpc(cookie, csrf, "job.create", {
        "piece": {"serial": "AUD-1", "type": "ring", "metal": "platinum"}, "services": ["shining"]})
    job = r.get("result", {}).get("job")
    status, r = bench.rpc(cookie, csrf, "job.show", {"job": job})
    who = [e["who"] for e in r.get("result", {}).get("events", [])]
    check("Marie Curie (marie, web)" in who, "audit trail says 'Marie Curie (marie, web)'", who)

    # A laser hold is its web user's, not every web user's: through the
    # gateway, each person keeps an identity of their own.
    prog = "G21 G90\nM4 S200\n" + "".join("G1 X%d Y5 F600\nG1 X5 Y5\n" % (6 + i % 5) for i in range(200)) + "M5\n"
    laser = sorted(n for n, s in json.loads(bench.ctl("--json", "status"))["stations"].items()
                   if s["kind"] == "laser")[-1]
    status, r = bench.rpc(tcookie, tcsrf, "laser.stream", {"station": laser, "gcode": prog})
    check("result" in r, "a technician streams a program through the web bench", r)
    status, r = bench.rpc(tcookie, tcsrf, "laser.hold", {"station": laser})
    check("result" in r, "the technician holds it", r)
    for _ in range(50):
        status, r = bench.rpc(cookie, csrf, "laser.resume", {"station": laser})
        if r.get("error", {}).get("code") != 1005:
            break
        time.sleep(0.1)
    check(r.get("error", {}).get("code") == 1001, "another web user cannot resume that hold", r)
    for _ in range(50):
        status, r = bench.rpc(tcookie, tcsrf, "laser.resume", {"station": laser})
        if r.get("error", {}).get("code") != 1005:
            break
        time.sleep(0.1)
    check("result" in r, "the technician who held it resumes it", r)
    # The abort resets GRBL in motion: it then wants an unlock ($X), as
    # after any abort, before the next job.
    bench.rpc(tcookie, tcsrf, "laser.abort", {"station": laser})
    for _ in range(100):
        bench.rpc(tcookie, tcsrf, "laser.unlock", {"station": laser})
        st = json.loads(bench.ctl("--json", "status"))
        if st["stations"][laser]["state"] == "idle" and st["devices"][laser].get("state") == "Idle":
            break
        time.sleep(0.1)

    # A deleted account loses atelierd at its next call.
    st, lcookie, lcsrf = bench.login("luc")
    import subprocess
    subprocess.run([os.path.join(bench.bin, "atelierctl"), "user", "--file", bench.users, "del", "luc"],
                   check=True, capture_output=True)
    status, r = bench.rpc(lcookie, lcsrf, "job.list")
    check(status == 401, "a deleted user's open session ends at its next call", "HTTP %d %s" % (status, r))
    status, _, _ = bench.http("GET", "/index.html", headers={"Cookie": lcookie})
    check(status == 303, "and its pages go to the login page", "HTTP %d" % status)
    st, lcookie, lcsrf = bench.login("luc")
    check(st == 401, "a deleted user cannot log in", "HTTP %d" % st)
    bench.add_user("luc", "jeweller", "Luc")
    check(bench.login("luc")[0] == 200, "the account added again logs in (and its failure is forgotten)")

    # Wrong passwords: five are answered, the sixth is throttled, even
    # with the right password, for that user at that address only.
    codes = [bench.login("luc", "not-the-password")[0] for _ in range(5)]
    check(codes == [401] * 5, "five wrong passwords are answered 401", codes)
    status, _, body = bench.http("POST", "/api/login",
                                 {"user": "luc", "password": webbench.PASSWORDS["luc"]},
                                 {"Content-Type": "application/json"})
    retry = json.loads(body).get("retry_after", 0) if status == 429 else 0
    check(status == 429 and retry > 0, "the sixth attempt is throttled, with retry_after",
          "HTTP %d %s" % (status, body[:80]))
    check(bench.login("marie")[0] == 200, "another user is not throttled")

    # The WebSocket: only for a session, only from this origin.
    def handshake(origin, cookie):
        h = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Host": "127.0.0.1:%d" % bench.port}
        if origin:
            h["Origin"] = origin
        if cookie:
            h["Cookie"] = cookie
        import socket
        s = socket.create_connection(("127.0.0.1", bench.port), timeout=5)
        s.sendall(("GET /ws HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode())
        try:
            line = s.recv(200).split(b"\r\n")[0]
        except OSError:
            line = b""
        s.close()
        return line
    own = "http://127.0.0.1:%d" % bench.port
    check(b" 101 " in handshake(own, cookie), "WebSocket opens for a session of this origin")
    check(b" 101 " not in handshake("http://evil.example", cookie), "WebSocket from another origin is refused")
    check(b" 101 " not in handshake(None, cookie), "WebSocket without an Origin is refused")
    check(b" 101 " not in handshake(own, None), "WebSocket without a session is refused")

    # The ticket's QR code encodes the job's page.
    status, headers, body = bench.http("GET", "/api/qr.svg?job=%s" % job, headers={"Cookie": cookie})
    check(status == 200 and body.startswith(b"<svg") and headers.get("Content-Type") == "image/svg+xml",
          "QR code of a job's page", "HTTP %d" % status)


def browser_checks(bench):
    d = webbench.chromium()
    try:
        # Login, wrong then right.
        webbench.log_in(d, bench, "marie", "wrong-password")
        err = wait(d, lambda d: d.find_element(By.ID, "login-error").text.strip() or None)
        check(bool(err), "a wrong password is said on the login page", err)
        shot(d, "01-login")
        webbench.log_in(d, bench, "marie")
        check(wait(d, lambda d: d.current_url.rstrip("/").endswith(str(bench.port)) or
                   d.current_url.endswith("/index.html")) is not None, "login goes to the bench", d.current_url)

        # The bench: one card per station that status lists.
        status = json.loads(bench.ctl("--json", "status"))
        names = sorted(status["stations"])
        cards = wait(d, lambda d: sorted(e.get_attribute("data-station") for e in
                                          d.find_elements(By.CSS_SELECTOR, "#station-list .station[data-station]"))
                     == names and True)
        check(cards is not None, "the bench shows every station of status (%s)" % ", ".join(names),
              [e.get_attribute("data-station") for e in d.find_elements(By.CSS_SELECTOR, "#station-list .station")])
        small = d.execute_script("""
            return [...document.querySelectorAll('button, nav a, input:not([type=hidden]), select')]
              .filter(e => e.offsetParent !== null)
              .filter(e => e.getBoundingClientRect().height < 43.5)
              .map(e => e.outerHTML.slice(0, 60));""")
        check(not small, "touch targets on the bench are at least 44 px", small[:3])
        check(shot(d, "02-bench"), "the bench does not scroll sideways")

        # E-stop pressed in the simulator: the banner appears on its own.
        banner = d.find_element(By.ID, "interlock-banner")
        check(not banner.is_displayed(), "no banner while the interlock is clear")
        t0 = time.monotonic()
        bench.sim("estop", "press")
        seen = wait(d, lambda d: d.find_element(By.ID, "interlock-banner").is_displayed(), 10)
        latency = time.monotonic() - t0
        check(seen is not None, "e-stop banner shown without a reload (%.0f ms after the press)" % (latency * 1000))
        text = d.find_element(By.ID, "interlock-banner").text if seen else ""
        check(re.search(r"(?i)stop", text) is not None, "the banner says it is the emergency stop", text)
        shot(d, "03-bench-estop")
        bench.sim("estop", "release")
        time.sleep(0.3)
        bench.ctl("estop", "reset")
        check(wait(d, lambda d: not d.find_element(By.ID, "interlock-banner").is_displayed(), 10) is not None,
              "the banner goes once the e-stop is reset")

        # New job: a platinum ring with an oiled emerald, re-sized: the
        # tank and the bath are refused the emerald and substituted.
        d.get(bench.url + "/job-new.html")
        wait(d, lambda d: d.find_elements(By.ID, "serial"))
        fill_new_job(d, "PT-0457", "ring", "platinum", [("emerald", "oiled", 1)], ["ring_resizing"])
        plan = wait(d, lambda d: "substitut" in d.find_element(By.ID, "plan").text.lower() and
                    d.find_element(By.ID, "plan").text, 15)
        check(plan is not None and "emerald" in plan.lower(), "the plan shows substitutions with the emerald's reason",
              (plan or d.find_element(By.ID, "plan").text)[:300])
        subs = d.execute_script("return document.querySelectorAll('#plan .substitution, #plan [data-substitution]').length")
        check(plan is not None and plan.lower().count("substitut") >= 2 or subs >= 2,
              "both the tank and the bath are substituted", subs)
        shot(d, "04-new-job-plan")

        # Designer: Arabic on a ring.
        d.get(bench.url + "/designer.html")
        wait(d, lambda d: d.find_elements(By.ID, "preview"))
        designer_text(d, "محمد")
        prev = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#preview img, #preview svg"), 15)
        check(bool(prev), "the designer previews محمد on a ring")
        check(wait(d, lambda d: d.find_element(By.ID, "fit").text.strip() or None) is not None,
              "the designer says whether it fits")
        shot(d, "05-designer")
        # The outside of the ring, turning on a laser's rotary: the preview
        # adds the ring seen along its axis, with the text's arc.
        from selenium.webdriver.support.ui import Select
        Select(d.find_element(By.ID, "band")).select_by_value("outer")
        d.execute_script("document.getElementById('band').dispatchEvent(new Event('change', {bubbles: true}))")
        top = wait(d, lambda d: [i for i in d.find_elements(By.CSS_SELECTOR, "#preview img")
                                 if "top-view" in __import__("urllib.parse").parse.unquote(
                                     i.get_attribute("src") or "")], 15)
        check(bool(top), "the designer shows the outside of a ring on the rotary, seen along its axis",
              d.find_element(By.ID, "fit").text)
        shot(d, "05-designer-rotary")

        # An engraving job from creation to done, at the bench.
        job = engraving_job_to_done(d, bench)
        shot(d, "06-job-done")

        # The ticket, printable, with its QR code.
        if job:
            d.get(bench.url + "/job.html?job=%d" % job)
            qr = wait(d, lambda d: [i for i in d.find_elements(By.CSS_SELECTOR, "img")
                                    if "qr.svg" in (i.get_attribute("src") or "")
                                    and d.execute_script("return arguments[0].naturalWidth", i) > 0], 10)
            check(bool(qr), "the job's ticket carries its QR code")
            check(wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#engraving-preview img"), 10) is not None,
                  "the job's ticket carries the engraving's preview")
            d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
            shot(d, "07-ticket-print")
            d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

        # History and export.
        d.get(bench.url + "/history.html?serial=PT-0457")
        shot(d, "08-history")
        d.get(bench.url + "/export.html")
        shot(d, "09-export")

        # A jeweller and calibration: the page is refused, and so is the
        # API when the page's own script calls it.
        d.get(bench.url + "/calibration.html")
        check("technician" in d.find_element(By.TAG_NAME, "body").text.lower(),
              "a jeweller opening calibration is told it is for technicians")
        shot(d, "10-calibration-refused")
        r = fetch(d, "/api/rpc", {"method": "calibrate.begin",
                                  "params": {"procedure": "tank.temperature", "instrument": "x",
                                             "station": "tank-clean"}})
        check('"code":1001' in r["body"], "calibrate.begin from the page is refused for a jeweller", r)
        r = fetch(d, "/api/rpc", {"method": "job.list"}, csrf=False)
        check(r["status"] == 403, "the page's own fetch without the CSRF token is refused", r)

        # French. The refusals above were logged by the browser on
        # purpose; what is logged from here on is the pages' own.
        d.get_log("browser")
        d.get(bench.url + "/index.html")
        d.execute_script("localStorage.setItem('atelier.lang', 'fr')")
        d.get(bench.url + "/index.html")
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#station-list .station"))
        html_lang = d.execute_script("return document.documentElement.lang")
        check(html_lang == "fr", "the bench switches to French", html_lang)
        shot(d, "11-bench-fr")
        errors = console_errors(d)
        check(not errors, "no console errors", errors[:3])

        # A technician's calibration page.
        d.delete_all_cookies()
        webbench.log_in(d, bench, "tom")
        check(wait(d, lambda d: "login" not in d.current_url) is not None and "password" not in d.current_url,
              "a technician logs in (the password never in a URL)",
              " ".join(e.text for e in d.find_elements(By.ID, "login-error")) + " " + d.current_url)
        d.get(bench.url + "/calibration.html")
        procs = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "details.proc[data-procedure]"), 10)
        check(bool(procs), "a technician opens calibration and sees its procedures",
              d.find_element(By.TAG_NAME, "body").text[:200])
        due = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#cal-due tbody tr, #cal-due tr td"), 10)
        check(bool(due), "the calibration page lists what is due")
        d.execute_script("window.scrollTo(0, 0)")
        shot(d, "12-calibration")
    finally:
        d.quit()


def fill_new_job(d, serial, type_, metal, gems, services):
    from selenium.webdriver.support.ui import Select
    # The catalogue's names arrive with the page's first call.
    wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#type option")) > 1 and
         d.find_elements(By.CSS_SELECTOR, "#services input[type=checkbox]"), 10)
    d.find_element(By.ID, "serial").send_keys(serial)
    Select(d.find_element(By.ID, "type")).select_by_value(type_)
    Select(d.find_element(By.ID, "metal")).select_by_value(metal)
    for i, (species, treatment, count) in enumerate(gems):
        rows = d.find_elements(By.CSS_SELECTOR, ".gem-row")
        if len(rows) <= i:
            d.find_element(By.ID, "add-gem").click()
            rows = d.find_elements(By.CSS_SELECTOR, ".gem-row")
        row = rows[i]
        row.find_element(By.CSS_SELECTOR, ".species").send_keys(species)
        Select(row.find_element(By.CSS_SELECTOR, ".treatment")).select_by_value(treatment)
        cnt = row.find_element(By.CSS_SELECTOR, ".count")
        cnt.clear()
        cnt.send_keys(str(count))
    for s in services:
        box = d.find_element(By.ID, "svc-" + s)
        if not box.is_selected():
            d.execute_script("arguments[0].click()", box)
        sizes = d.find_elements(By.ID, "svc-%s-sizes" % s)
        if sizes and not sizes[0].get_attribute("value"):
            sizes[0].send_keys("1")


def designer_text(d, text):
    from selenium.webdriver.support.ui import Select
    area = d.find_elements(By.ID, "area")
    if area:
        Select(area[0]).select_by_value("ring")
    d.find_element(By.ID, "text").send_keys(text)


def engraving_job_to_done(d, bench):
    """New job with an engraving, started, each step confirmed or run."""
    d.get(bench.url + "/job-new.html")
    wait(d, lambda d: d.find_elements(By.ID, "serial"))
    today = time.strftime("%Y-%m-%d")
    fill_new_job(d, "WG-2611", "ring", "white_gold", [("diamond", "none", 3)], ["engraving"])
    d.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
                     "arguments[0].dispatchEvent(new Event('change', {bubbles: true}))",
                     d.find_element(By.ID, "purchase-date"), today)
    cert = d.find_element(By.ID, "certificate")
    if not cert.is_selected():
        d.execute_script("arguments[0].click()", cert)
    from selenium.webdriver.support.ui import Select
    d.execute_script("arguments[0].click()", d.find_element(By.ID, "engr-text-mode"))
    Select(d.find_element(By.ID, "engr-area")).select_by_value("rect")
    for field, value in (("engr-width", "12"), ("engr-height", "3")):
        e = d.find_element(By.ID, field)
        e.clear()
        e.send_keys(value)
    d.find_element(By.ID, "engr-text").send_keys("Ana")
    plan = wait(d, lambda d: "engrav" in d.find_element(By.ID, "plan").text.lower() and
                d.find_element(By.ID, "create-job").is_enabled(), 15)
    check(plan is not None, "an engraving job is planned", d.find_element(By.ID, "plan").text[:200])
    d.find_element(By.ID, "create-job").click()
    ok = wait(d, lambda d: re.search(r"job\.html\?job=(\d+)", d.current_url), 15)
    if not check(ok is not None, "creating the job opens its page", d.current_url):
        return None
    job = int(ok.group(1))
    shot(d, "06-job-created")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = json.loads(bench.ctl("--json", "job", "show", str(job)) or "{}")
        state = r.get("state")
        if state in ("done", "failed", "aborted"):
            break
        d.get(bench.url + "/job.html?job=%d" % job)
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#steps li.step[data-seq]"), 5)
        if state == "planned":
            click(d, "[data-action=start]")
        else:
            running = [s for s in r.get("steps", []) if s["state"] in ("running", "queued", "pending")]
            step = running[0] if running else None
            if step and step["kind"] == "manual" and step["state"] == "running":
                note = d.find_elements(By.ID, "note-%d" % step["seq"])
                if note:
                    note[0].send_keys("checked at the bench")
                click(d, "[data-action=done]")
            elif step and step["state"] == "queued":
                d.get(bench.url + "/index.html")
                wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#station-list .station"))
                btn = wait(d, lambda d: [b for b in d.find_elements(
                    By.CSS_SELECTOR, "#station-list .station [data-action=run]") if b.is_enabled() and
                    b.is_displayed() and b.find_element(By.XPATH, "./ancestor::*[@data-station]")
                    .get_attribute("data-station").startswith(step.get("station") or "")], 5)
                if btn:
                    btn[0].click()
                    time.sleep(0.5)
        time.sleep(0.3)
    r = json.loads(bench.ctl("--json", "job", "show", str(job)) or "{}")
    check(r.get("state") == "done", "the engraving job reaches done from the browser",
          "%s: %s" % (r.get("state"), [(s["name"], s["state"], s.get("reason")) for s in r.get("steps", [])]))
    burns = [l for l in bench.actuators().splitlines() if "laser" in l and ("M3" in l or "M4" in l or "on" in l)]
    check(bool(burns), "the simulated laser burned (actuators.log)")
    return job


def click(d, selector):
    els = [e for e in d.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed() and e.is_enabled()]
    if els:
        els[0].click()
        return True
    return False


def main():
    bench = webbench.Bench().start()
    try:
        server_checks(bench)
        browser_checks(bench)
    except Exception as e:  # a crash is a failure, with its reason
        import traceback
        traceback.print_exc()
        check(False, "the browser test ran to its end", repr(e))
        for name in ("web", "atelierd"):
            print("--- %s.log\n%s" % (name, bench.log(name)[-3000:]))
    finally:
        bench.stop()
    print("screenshots in %s" % shots)
    return cases.summary()


if __name__ == "__main__":
    sys.exit(main())
