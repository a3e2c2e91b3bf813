#!/usr/bin/env python3
"""Seed a fixed benchmark data set through the public RealWorld API.

50 users, 1,000 articles with 3 tags each, 5,000 comments, follows and favorites. Writes the
tokens and slugs the benchmark needs as JSON to the path given as the second argument.
"""
import http.client
import json
import random
import sys

USERS, ARTICLES, COMMENTS, FOLLOWS_EACH, FAVORITES = 50, 1000, 5000, 10, 2000
TAGS = ["rust", "web", "databases", "performance", "design", "testing", "ops", "security",
        "frontend", "backend", "career", "teaching", "tools", "cloud", "mobile", "data"]


def main():
    host, port = sys.argv[1].split(":")
    out = sys.argv[2]
    rng = random.Random(42)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(method, path, body=None, token=None, expect=(200, 201)):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Token " + token
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        res = conn.getresponse()
        data = res.read()
        if res.status not in expect:
            raise SystemExit(f"{method} {path} -> {res.status}: {data[:200]!r}")
        return json.loads(data) if data else None

    tokens, names = [], []
    for i in range(USERS):
        name = f"bench_user_{i:02d}"
        user = call("POST", "/api/users", {"user": {"username": name, "email": f"{name}@bench.test",
                                                     "password": f"password-{name}"}})
        tokens.append(user["user"]["token"])
        names.append(name)
    slugs = []
    for i in range(ARTICLES):
        author = i % USERS
        tags = rng.sample(TAGS, 3)
        body = {"article": {"title": f"Benchmark article {i}", "description": f"Article {i} of the bench set",
                            "body": "# Heading\n\n" + ("Some *markdown* text with `code`. " * 20), "tagList": tags}}
        slugs.append(call("POST", "/api/articles", body, tokens[author])["article"]["slug"])
    for i in range(COMMENTS):
        slug = slugs[rng.randrange(len(slugs))]
        call("POST", f"/api/articles/{slug}/comments", {"comment": {"body": f"Comment {i}: thanks for writing this."}},
             tokens[rng.randrange(USERS)])
    for i in range(USERS):
        for j in rng.sample([k for k in range(USERS) if k != i], FOLLOWS_EACH):
            call("POST", f"/api/profiles/{names[j]}/follow", None, tokens[i])
    for _ in range(FAVORITES):
        call("POST", f"/api/articles/{slugs[rng.randrange(len(slugs))]}/favorite", None, tokens[rng.randrange(USERS)])
    with open(out, "w") as f:
        json.dump({"token": tokens[0], "slug": slugs[len(slugs) // 2], "tag": TAGS[0],
                   "login": {"email": f"{names[0]}@bench.test", "password": f"password-{names[0]}"}}, f)


if __name__ == "__main__":
    main()
