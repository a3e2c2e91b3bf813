#!/usr/bin/env python3
"""Take the README's dashboard screenshots (light and dark) with headless Chromium.

Starts `conduit` (a debug build: run `cargo build` first) on a scratch SQLite database,
seeds the demo content plus a few dozen accounts, articles and comments spread over the last
30 days, signs in as an admin through chromedriver (WebDriver over plain HTTP) and saves
docs/dashboard-light.png and docs/dashboard-dark.png (`prefers-color-scheme: dark` emulated
through the DevTools protocol, so the dark shot shows the stylesheet's own dark theme).
`--forced-dark` takes the dark shot with Chromium's forced dark mode instead (its automatic
darkening), for a checkout whose stylesheet has no dark theme. Needs chromium, chromedriver
and sqlite3.

    python3 docs/dashboard-screenshots.py [--forced-dark]
"""
import base64, json, os, random, shutil, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug", "conduit")
PASSWORD = "dashboard-shots-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, token=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(req, timeout=30) as res:
        text = res.read().decode()
        return json.loads(text) if text else None


def wait_for(url, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.3)
    sys.exit(f"{url} did not answer")


def main():
    random.seed(21)
    work = tempfile.mkdtemp(prefix="dash-shots-")
    db = os.path.join(work, "conduit.db")
    port = free_port()
    env = dict(os.environ, ROCKET_DATABASES=f'{{main={{url="sqlite://{db}"}}}}', ROCKET_PORT=str(port),
               CONDUIT_REGISTER_PER_HOUR="0", ROCKET_PROFILE="debug", CONDUIT_LOG_FILTER="warn")
    subprocess.run([BIN, "seed", "--demo"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    subprocess.run([BIN, "create-admin", "--username", "admin", "--email", "admin@example.com"],
                   env=env, check=True, cwd=ROOT, input=PASSWORD.encode(), stdout=subprocess.DEVNULL)
    server = subprocess.Popen([BIN, "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/")
        tags = ["rust", "databases", "accessibility", "web", "testing", "ops", "design", "security",
                "performance", "sql", "career", "tooling"]
        tokens = []
        for i in range(30):
            user = call("POST", base + "/api/users", {"user": {"username": f"reader{i:02}", "email": f"reader{i:02}@example.com", "password": PASSWORD}})
            tokens.append(user["user"]["token"])
        slugs = []
        for i in range(70):
            chosen = random.sample(tags[: random.choice([4, 8, 12])], random.randint(1, 3))
            art = call("POST", base + "/api/articles", {"article": {"title": f"Notes, part {i}", "description": "Demo", "body": "Demo text.", "tagList": chosen}}, random.choice(tokens))
            slugs.append(art["article"]["slug"])
        for i in range(160):
            call("POST", base + f"/api/articles/{random.choice(slugs)}/comments", {"comment": {"body": f"Comment {i}"}}, random.choice(tokens))
        # Spread the rows over the last 30 UTC days, more of them lately.
        spread = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || CAST(abs(random()) % 30 * (abs(random()) % 100) / 100 AS TEXT) || ' days', '-' || (abs(random()) % 600) || ' minutes')"
        sql = "".join(f"UPDATE {t} SET created_at = {spread} WHERE username <> 'admin';" if t == "users" else f"UPDATE {t} SET created_at = {spread};" for t in ["users", "articles", "comments", "tags"])
        subprocess.run(["sqlite3", db, sql], check=True)

        cd_port = free_port()
        chromedriver = subprocess.Popen(["chromedriver", f"--port={cd_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        driver = chromedriver
        wd = f"http://127.0.0.1:{cd_port}"
        wait_for(wd + "/status")
        for scheme in ["light", "dark"]:
            args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,1160"]
            if scheme == "dark" and "--forced-dark" in sys.argv:
                args.append("--enable-features=WebContentsForceDark")
            caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"args": args}}}}
            session = call("POST", wd + "/session", caps)["value"]["sessionId"]
            s = f"{wd}/session/{session}"

            def find(css):
                value = call("POST", s + "/element", {"using": "css selector", "value": css})["value"]
                if "element-6066-11e4-a52e-4f735466cecf" not in value:
                    sys.exit(f"{css}: {value} on {call('GET', s + '/url')['value']}")
                return value["element-6066-11e4-a52e-4f735466cecf"]

            call("POST", s + "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}})
            call("POST", s + "/url", {"url": base + "/login"})
            call("POST", s + f"/element/{find('input[name=email]')}/value", {"text": "admin@example.com"})
            call("POST", s + f"/element/{find('input[name=password]')}/value", {"text": PASSWORD})
            call("POST", s + f"/element/{find('form button[type=submit]')}/click", {})
            time.sleep(1)
            call("POST", s + "/url", {"url": base + "/admin?days=30"})
            time.sleep(0.5)
            png = base64.b64decode(call("GET", s + "/screenshot")["value"])
            out = os.path.join(ROOT, "docs", f"dashboard-{scheme}.png")
            with open(out, "wb") as f:
                f.write(png)
            print(out, len(png), "bytes")
            call("DELETE", s)
    finally:
        if driver:
            driver.terminate()
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
