"""Server time and weight of the front end's pages at light load, against a baseline measured in
the same run.

Starts the whole platform (the repository's souk.toml, a free gateway port, a temporary home),
signs in the demo customer and the demo admin through the sign-in form, and finds the pages to
measure by following the links of the front page, a product page and the console (same-site
GETs only; sign-out is a form and is never followed), plus the pages only a form leads to
(search, checkout, sign-in, sign-up, the configuration). For each page: `--requests` sequential GETs
(one client, light load) straight to the web instance (its server time, plus a loopback round
trip) and through the gateway (what a browser sees), p50 and p99; and its weight: the HTML plus
every stylesheet, script and image it references, as first transferred. The baseline is the
web instance's `GET /health/ready` timed the same way (the chassis's floor for one request), so
the ratio says how many bare requests one page costs.

    .venv/bin/python bench/web_pages.py [--requests 200] [--max-pages 16]

Targets of issue 12: server time p50 <= 20 ms per page, <= 150 KB per page.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).parent))
from _load import ROOT, free_port, souk_down, souk_up, url_of

SERVER_P50_MS = 20.0
MAX_PAGE_BYTES = 150 * 1024


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        elif tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.assets.append(str(a["href"]))
        elif tag in ("script", "img") and a.get("src"):
            self.assets.append(str(a["src"]))


def parse(html: str) -> _Links:
    found = _Links()
    found.feed(html)
    return found


def sign_in(gateway: str, email: str, password: str) -> requests.Session:
    s = requests.Session()
    form = s.get(f"{gateway}/signin", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None, "no sign-in form"
    r = s.post(f"{gateway}/signin", data={"csrf": csrf[1], "email": email, "password": password,
                                          "next": "/"}, allow_redirects=False, timeout=10)
    assert r.status_code == 303, f"sign-in failed: {r.status_code}"
    return s


def discover(s: requests.Session, gateway: str, starts: list[str], limit: int) -> list[str]:
    """Same-site page paths linked from ``starts`` (and one product page's links)."""
    seen: list[str] = []
    for start in starts:
        r = s.get(gateway + start, timeout=10)
        if r.status_code != 200:
            continue
        if start not in seen:
            seen.append(start)
        for href in parse(r.text).links:
            url = urlsplit(urljoin(gateway + start, href))
            if url.netloc != urlsplit(gateway).netloc or url.path.startswith(("/static", "/art")):
                continue
            path = url.path + (f"?{url.query}" if url.query else "")
            family = re.sub(r"/[^/]*\d[^/]*$", "/{id}", url.path)  # one page per kind of page
            if all(re.sub(r"/[^/]*\d[^/]*$", "/{id}", urlsplit(p).path) != family for p in seen):
                seen.append(path)
            if len(seen) >= limit:
                return seen
    return seen


def timed(s: requests.Session, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = s.get(url, timeout=10, allow_redirects=False)
        out.append((time.perf_counter() - start) * 1000)
        r.close()
    return out


def weight(s: requests.Session, gateway: str, path: str) -> int:
    r = s.get(gateway + path, timeout=10)
    total = len(r.content)
    for asset in set(parse(r.text).assets):
        total += len(s.get(urljoin(gateway + path, asset), timeout=10).content)
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--max-pages", type=int, default=16)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="souk-bench-web-"))
    port = free_port()
    text = (ROOT / "souk.toml").read_text().replace("gateway_port = 8080", f"gateway_port = {port}")
    status = souk_up(home, text)
    try:
        gateway = f"http://127.0.0.1:{port}"
        web = url_of(status, "web")
        users = json.loads((home / "secrets" / "demo-users.json").read_text())
        customer = sign_in(gateway, users["customer"]["email"], users["customer"]["password"])
        admin = sign_in(gateway, users["admin"]["email"], users["admin"]["password"])
        shop_pages = discover(customer, gateway, ["/", "/cart", "/orders", "/mailbox"],
                              args.max_pages)
        products = [p for p in shop_pages if p.startswith("/products/")]
        if products:
            shop_pages += [p for p in discover(customer, gateway, [products[0]], 4)
                           if p not in shop_pages]
        # pages only a form leads to
        shop_pages += [p for p in ("/search?q=tea", "/checkout", "/signin", "/signup")
                       if p not in shop_pages]
        console_pages = discover(admin, gateway, ["/console"], args.max_pages // 2)
        console_pages += [p for p in ("/console/config",) if p not in console_pages]
        plan = [(customer, p) for p in shop_pages] + [(admin, p) for p in console_pages
                                                       if p not in shop_pages]

        base = requests.Session()
        timed(base, f"{web}/health/ready", 20)
        baseline = statistics.median(timed(base, f"{web}/health/ready", args.requests))
        print(f"baseline GET /health/ready on the web instance: p50 {baseline:.2f} ms\n")
        print(f"{'page':42} {'status':>6} {'server p50':>10} {'p99':>7} {'x base':>7} "
              f"{'edge p50':>9} {'KB':>6}")
        worst_p50, worst_kb, failed = 0.0, 0.0, []
        for s, path in plan:
            # straight to the instance, with the session's cookie (the web service trusts it
            # as it would through the edge)
            direct = requests.Session()
            direct.cookies.update(s.cookies)
            first = direct.get(web + path, timeout=10, allow_redirects=False)
            timed(direct, web + path, 10)
            server = timed(direct, web + path, args.requests)
            edge = timed(s, gateway + path, max(20, args.requests // 4))
            kb = weight(s, gateway, path) / 1024
            p50 = statistics.median(server)
            worst_p50, worst_kb = max(worst_p50, p50), max(worst_kb, kb)
            if first.status_code != 200:
                failed.append(f"{path}: {first.status_code}")
            print(f"{path[:42]:42} {first.status_code:>6} {p50:>8.2f}ms {pct(server, 0.99):>5.1f}ms "
                  f"{p50 / baseline:>7.1f} {statistics.median(edge):>7.2f}ms {kb:>6.1f}")
        print(f"\nslowest page p50 {worst_p50:.2f} ms (target <= {SERVER_P50_MS:g}); heaviest "
              f"{worst_kb:.1f} KB (target <= {MAX_PAGE_BYTES // 1024}); pages {len(plan)}")
        if failed:
            print("pages that did not answer 200: " + ", ".join(failed))
    finally:
        souk_down(home)


if __name__ == "__main__":
    main()
