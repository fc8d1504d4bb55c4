"""A stand-in service for the supervisor tests: stdlib only, so it starts in well under 0.1 s.

It follows the process contract: the service name comes from ``SOUK_DUMMY_SERVICE`` (the test
topology sets it), then ``<SERVICE>_HOST``, ``_PORT`` and ``_INSTANCE_ID``; it serves
``/health/live`` and ``/health/ready`` and logs JSON lines (one at start, then a tick). Its
service secret is logged only as a SHA-256, like identity would store it.

As ``identity`` it also plays identity's part of the CLI contract, in memory: the bootstrap
admin from ``IDENTITY_BOOTSTRAP_ADMIN_*``, ``POST /v1/signup``, ``/v1/login`` and
``/v1/keys/rotate`` (admin only).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main() -> None:
    service = os.environ["SOUK_DUMMY_SERVICE"]
    prefix = service.upper() + "_"
    host, port = os.environ[prefix + "HOST"], int(os.environ[prefix + "PORT"])
    instance = os.environ[prefix + "INSTANCE_ID"]
    ready_after = float(os.environ.get("SOUK_DUMMY_READY_AFTER", "0.2"))
    started = time.monotonic()
    users: dict[str, str] = {}
    if admin := os.environ.get(prefix + "BOOTSTRAP_ADMIN_EMAIL"):
        users[admin] = os.environ[prefix + "BOOTSTRAP_ADMIN_PASSWORD"]
    rotations = [0]

    def log(level: str, event: str, **fields: Any) -> None:
        print(json.dumps({"ts": datetime.now(UTC).isoformat(), "level": level, "event": event,
                          "service": service, "instance": instance, **fields}), flush=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health/live":
                code = 200
            elif self.path == "/health/ready":
                code = 200 if time.monotonic() - started >= ready_after else 503
            else:
                code = 404
            body = json.dumps({"status": code}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            code, answer = identity_answer(self.path, body, self.headers.get("Authorization", ""))
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    def identity_answer(path: str, body: dict[str, Any], authorization: str) -> tuple[int, Any]:
        if service != "identity":
            return 404, {"detail": "not identity"}
        if path == "/v1/signup":
            if body["email"] in users:
                return 409, {"detail": "email taken"}
            users[body["email"]] = body["password"]
            log("info", "signed up", email=body["email"])
            return 201, {"email": body["email"], "roles": ["customer"]}
        if path == "/v1/login":
            if users.get(body["email"]) != body["password"]:
                return 401, {"detail": "email or password is incorrect"}
            return 200, {"access_token": f"token-for-{body['email']}"}
        if path == "/v1/keys/rotate":
            if authorization != f"Bearer token-for-{admin}":
                return 403, {"detail": "admins only"}
            rotations[0] += 1
            return 200, {"kid": f"kid-{rotations[0]}"}
        return 404, {"detail": "no such path"}

    server = ThreadingHTTPServer((host, port), Handler)

    def stop(signum: int, frame: object) -> None:
        log("info", "stopping", signal=signum)
        # shutdown() waits for serve_forever, which runs in this very thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    def tick() -> None:
        while True:
            time.sleep(0.5)
            log("debug", "tick")

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=tick, daemon=True).start()
    log("info", "service started", port=port,
        nats_url=os.environ.get(prefix + "NATS_URL"),
        registry_url=os.environ.get(prefix + "REGISTRY_URL"),
        database_url=os.environ.get(prefix + "DATABASE_URL"),
        log_format=os.environ.get(prefix + "LOG_FORMAT"),
        service_secret_sha256=hashlib.sha256(
            os.environ.get(prefix + "SERVICE_SECRET", "").encode()).hexdigest(),
        credentials_file=os.environ.get(prefix + "SERVICE_CREDENTIALS_FILE"),
        bootstrap_admin=os.environ.get(prefix + "BOOTSTRAP_ADMIN_EMAIL"))
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
