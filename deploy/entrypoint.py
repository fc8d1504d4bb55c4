"""Process 1 of a Souk image (deploy/Dockerfile): ``python -m $SOUK_SERVICE``.

Before that, the container defaults: listen on every address at port 8000 (the image's health
check and ``EXPOSE``) unless ``<SERVICE>_HOST`` / ``<SERVICE>_PORT`` say otherwise, and advertise
the container's own address to the registry (``<SERVICE>_ADVERTISE_URL``) unless one is given:
Kubernetes gives the pod's IP (the downward API); under ``docker compose up --scale`` each
replica is a container of its own and registers as itself.
"""

from __future__ import annotations

import os
import runpy
import socket
from collections.abc import MutableMapping

PORT = "8000"


def container_defaults(service: str, environ: MutableMapping[str, str]) -> None:
    prefix = service.upper() + "_"
    environ.setdefault(prefix + "HOST", "0.0.0.0")  # a container: every interface is its own
    environ.setdefault(prefix + "PORT", PORT)
    if not environ.get(prefix + "ADVERTISE_URL"):
        address = socket.gethostbyname(socket.gethostname())
        environ[prefix + "ADVERTISE_URL"] = f"http://{address}:{environ[prefix + 'PORT']}"


if __name__ == "__main__":
    service = os.environ["SOUK_SERVICE"]
    container_defaults(service, os.environ)
    runpy.run_module(service, run_name="__main__", alter_sys=True)
