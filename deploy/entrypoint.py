"""Process 1 of a Souk image (deploy/Dockerfile): ``python -m $SOUK_SERVICE``.

A service tells the registry the URL others reach it at (``<SERVICE>_ADVERTISE_URL``). Kubernetes
sets it from the pod's IP (the downward API); anywhere else, such as ``docker compose up --scale``
where each replica is a container of its own, it is taken from the container's own address here.
"""

from __future__ import annotations

import os
import runpy
import socket


def advertise_default(service: str, environ: dict[str, str] | os._Environ[str]) -> None:
    prefix = service.upper() + "_"
    if environ.get(prefix + "ADVERTISE_URL"):
        return
    port = environ.get(prefix + "PORT", "8000")
    address = socket.gethostbyname(socket.gethostname())
    environ[prefix + "ADVERTISE_URL"] = f"http://{address}:{port}"


if __name__ == "__main__":
    service = os.environ["SOUK_SERVICE"]
    advertise_default(service, os.environ)
    runpy.run_module(service, run_name="__main__", alter_sys=True)
