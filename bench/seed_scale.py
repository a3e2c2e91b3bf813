#!/usr/bin/env python3
"""Seed the scale data set of issue 22 through the public RealWorld API, concurrently.

1,000 users, 50,000 articles (3 tags each, from the same 16 as bench/seed.py), 50 follows per
user, 20,000 favorites. The sizes are scaled by BENCH_SCALE (default 1.0; e.g. 0.02 while
developing). Requests run on BENCH_SEED_THREADS threads (default 16), one keep-alive connection
each; the server must run with the sign-up throttle off (bench/scale does that).

    bench/seed_scale.py HOST:PORT OUT.json

Writes the tokens, names and tag the measurements need to OUT.json.
"""
import http.client
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
THREADS = int(os.environ.get("BENCH_SEED_THREADS", "16"))
USERS = max(2, int(1000 * SCALE))
ARTICLES = max(USERS, int(50000 * SCALE))
FOLLOWS_EACH = min(USERS - 1, 50)
FAVORITES = int(20000 * SCALE)
TAGS = ["rust", "web", "databases", "performance", "design", "testing", "ops", "security",
        "frontend", "backend", "career", "teaching", "tools", "cloud", "mobile", "data"]

local = threading.local()


def call(host, port, method, path, body=None, token=None, expect=(200, 201)):
    """One request on this thread's connection (reopened after an error)."""
    for attempt in range(5):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(host, port, timeout=120)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Token " + token
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            res = conn.getresponse()
            data = res.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            local.conn = None
            time.sleep(0.2 * (attempt + 1))
            continue
        if res.status == 503:  # a busy database or a full password queue: try again
            time.sleep(0.2 * (attempt + 1))
            continue
        if res.status not in expect:
            raise SystemExit(f"{method} {path} -> {res.status}: {data[:200]!r}")
        return json.loads(data) if data else None
    raise SystemExit(f"{method} {path}: no answer after 5 attempts")


def run_all(label, jobs):
    """Run `jobs` (callables) on the pool, printing progress; returns their results in order."""
    start, done = time.time(), 0
    results = []
    with ThreadPoolExecutor(THREADS) as pool:
        for result in pool.map(lambda job: job(), jobs):
            results.append(result)
            done += 1
            if done % 5000 == 0:
                print(f"   {label}: {done}/{len(jobs)} ({done / (time.time() - start):.0f}/s)", flush=True)
    print(f"   {label}: {len(jobs)} in {time.time() - start:.0f} s", flush=True)
    return results


def main():
    host, port = sys.argv[1].split(":")
    port = int(port)
    out = sys.argv[2]
    rng = random.Random(22)
    names = [f"scale_user_{i:04d}" for i in range(USERS)]

    def register(name):
        body = {"user": {"username": name, "email": f"{name}@scale.test", "password": f"password-{name}"}}
        return call(host, port, "POST", "/api/users", body)["user"]["token"]

    tokens = run_all("users", [lambda n=n: register(n) for n in names])
    # Follows before articles: each new article then writes its followers' feed entries.
    follows = [(i, j) for i in range(USERS) for j in rng.sample([k for k in range(USERS) if k != i], FOLLOWS_EACH)]
    run_all("follows", [lambda i=i, j=j: call(host, port, "POST", f"/api/profiles/{names[j]}/follow", None, tokens[i])
                        for i, j in follows])

    def article(i):
        body = {"article": {"title": f"Scale article {i}", "description": f"Article {i} of the scale set",
                            "body": "# Heading\n\n" + ("Some *markdown* text with `code`. " * 20),
                            "tagList": random.Random(i).sample(TAGS, 3)}}
        return call(host, port, "POST", "/api/articles", body, tokens[i % USERS])["article"]["slug"]

    slugs = run_all("articles", [lambda i=i: article(i) for i in range(ARTICLES)])
    picks = set()
    while len(picks) < FAVORITES:
        picks.add((rng.randrange(USERS), rng.randrange(ARTICLES)))
    run_all("favorites", [lambda u=u, a=a: call(host, port, "POST", f"/api/articles/{slugs[a]}/favorite", None, tokens[u])
                          for u, a in sorted(picks)])
    # The user who favorited the most, for the favorites list at depth.
    fans = {}
    for u, _ in picks:
        fans[u] = fans.get(u, 0) + 1
    fan = max(fans, key=fans.get) if fans else 0
    with open(out, "w") as f:
        json.dump({"token": tokens[0], "user": names[0], "author": names[1], "fan": names[fan],
                   "tag": TAGS[0], "slug": slugs[len(slugs) // 2],
                   "sizes": {"users": USERS, "articles": ARTICLES, "follows_each": FOLLOWS_EACH,
                             "favorites": FAVORITES}}, f)


if __name__ == "__main__":
    main()
