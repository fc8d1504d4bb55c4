"""Souk's call graph, read from the source: who calls whom over HTTP, who uses the broker and a
database, which contracts each service speaks. The Kubernetes NetworkPolicies (deploy/generate.py)
and the per-service test selection (``make test SERVICE=...``) are built from it.

Where the edges come from:

* a service's own calls: every ``<...client...>.get/post/put/patch/delete(UPSTREAM, ...)`` or
  ``.request(METHOD, UPSTREAM, ...)`` in ``services/<name>/src`` (the chassis's ServiceClient),
  and any call passing an HTTP method literal then a service's name (a helper wrapping the
  client, ``call(client, "GET", "catalog", ...)``),
  with UPSTREAM a string literal or a module-level string constant (``CATALOG = "catalog"``), and
  every ``discovery.pick("<service>")`` (the gateway finds identity that way); a function of the
  service's that passes a parameter on as UPSTREAM wraps the client, and its calls count the same
  way (``self._listing("payments", "/v1/admin/payments", ...)``); an UPSTREAM that is none of
  these, nor a wrapper's parameter, is known only when the code runs: whatever instance the
  registry lists (the console reads every instance's ``/metrics``), an edge to every service;
* the gateway's route table (``services/gateway/src/gateway/routes.toml``): gateway -> each
  routed service;
* what the chassis does for every service (:data:`PLATFORM`): register and discover through the
  registry, fetch signing keys and service tokens from identity, export spans to telemetry, and
  the registry's active health checks of every instance;
* souk.toml: which services own a database (PostgreSQL in a cluster).

    python deploy/callgraph.py graph          # the whole graph as JSON
    python deploy/callgraph.py tests orders   # the test paths `make test SERVICE=orders` runs
"""

from __future__ import annotations

import ast
import json
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / "services"
ROUTES = SERVICES_DIR / "gateway" / "src" / "gateway" / "routes.toml"
TOPOLOGY = ROOT / "souk.toml"
CONTRACT_TESTS = ROOT / "libs" / "contracts" / "tests"

GATEWAY, REGISTRY, IDENTITY, TELEMETRY = "gateway", "registry", "identity", "telemetry"
_CALLS = frozenset({"get", "post", "put", "patch", "delete"})

# what the chassis does in every service, so no service's own source shows it (chassis.app,
# chassis.discovery, chassis.auth, chassis.trace_export): (caller, callee, why); "*" is every service
PLATFORM: tuple[tuple[str, str, str], ...] = (
    ("*", REGISTRY, "registration, heartbeats and discovery (chassis.discovery)"),
    ("*", IDENTITY, "signing keys (JWKS) and service tokens (chassis.auth)"),
    ("*", TELEMETRY, "spans over OTLP/HTTP (chassis.trace_export)"),
    (REGISTRY, "*", "active health checks of every instance's /health/ready"),
)


@dataclass(frozen=True)
class Service:
    name: str
    calls: frozenset[str]           # HTTP upstreams, from the code and the platform
    database: bool                  # owns a database (souk.toml)
    contracts: frozenset[str]       # contracts.<module> it imports
    reasons: dict[str, str] = field(default_factory=dict, compare=False)


def service_names() -> list[str]:
    """Every service folder with a package of the same name (services/<name>/src/<name>)."""
    return sorted(p.name for p in SERVICES_DIR.iterdir() if (p / "src" / p.name).is_dir())


def _sources(service: str) -> list[Path]:
    return sorted((SERVICES_DIR / service / "src").rglob("*.py"))


def _constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _value(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _receiver(node: ast.expr) -> str:
    """The last name of a call's receiver: ``self._client`` -> ``_client``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _functions(tree: ast.Module) -> list[tuple[str, list[str], list[ast.Call]]]:
    """Every function of a module: its name, its positional parameters (``self`` left out) and
    the calls in its body; the module's own statements as a function named ""."""
    found: list[tuple[str, list[str], list[ast.Call]]] = []

    def visit(node: ast.AST, calls: list[ast.Call]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [p.arg for p in [*node.args.posonlyargs, *node.args.args]]
            own: list[ast.Call] = []
            found.append((node.name, params[1:] if params[:1] in (["self"], ["cls"]) else params,
                          own))
            calls = own
        elif isinstance(node, ast.Call):
            calls.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child, calls)

    top: list[ast.Call] = []
    found.append(("", [], top))
    visit(tree, top)
    return found


def _callee(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else \
        node.func.id if isinstance(node.func, ast.Name) else ""


def _upstream(node: ast.Call, wrappers: dict[str, int]) -> ast.expr | None:
    """The argument of a call that names the service called, if it is a call of the client
    (``client.get(UPSTREAM, ...)``, ``client.request(METHOD, UPSTREAM, ...)``), of discovery
    (``discovery.pick(UPSTREAM)``) or of a function of the service's that wraps one of them."""
    args, name = node.args, _callee(node)
    receiver = _receiver(node.func.value).lower() if isinstance(node.func, ast.Attribute) else ""
    if "client" in receiver and name in _CALLS and args:
        return args[0]
    if "client" in receiver and name == "request" and len(args) >= 2:
        return args[1]
    if "discovery" in receiver and name == "pick" and args:
        return args[0]
    position = wrappers.get(name)
    return args[position] if position is not None and len(args) > position else None


def code_calls(service: str) -> dict[str, str]:
    """The upstreams a service's own code names: {upstream: "file:line"}."""
    return _code_calls(service)[0]


def any_instance_call(service: str) -> str:
    """Where the service's code calls whatever instance the registry lists ("file:line"), or "".
    Such a call is pinned to an instance the registry listed, so it goes through discovery even
    where fixed URLs name the service (see ``generate.fixed_upstreams``)."""
    return _code_calls(service)[1]


def _code_calls(service: str) -> tuple[dict[str, str], str]:
    names = set(service_names())
    trees = [(path, ast.parse(path.read_text(), str(path))) for path in _sources(service)]
    # module constants of the whole service: one module may import another's CATALOG
    constants = {k: v for _, tree in trees for k, v in _constants(tree).items()}
    functions = [(path, *f) for path, tree in trees for f in _functions(tree)]
    # the service's functions that pass a parameter on as the service called (a wrapper, whose
    # callers name the service), to a fixed point: one wrapper may call another; not the names
    # of the client's own methods (``get`` would make every dict.get a call)
    wrappers: dict[str, int] = {}
    grew = True
    while grew:
        grew = False
        for _, name, params, calls in functions:
            if name in wrappers or name in _CALLS or name in ("", "request", "pick"):
                continue
            for node in calls:
                upstream = _upstream(node, wrappers)
                if isinstance(upstream, ast.Name) and upstream.id in params:
                    wrappers[name] = params.index(upstream.id)
                    grew = True
                    break
    found: dict[str, str] = {}
    anywhere = ""
    for path, _, params, calls in functions:
        for node in calls:
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            # a helper that wraps the client, not defined here: call(client, "GET", "catalog",
            # ...) — an HTTP method literal followed by a service's name, in any call
            for first, second in zip(node.args, node.args[1:], strict=False):
                if (_value(first, constants) or "").upper() in _HTTP_METHODS:
                    wrapped = _value(second, constants)
                    if wrapped in names and wrapped != service:
                        found.setdefault(wrapped, where)
            upstream = _upstream(node, wrappers)
            if upstream is None or (isinstance(upstream, ast.Name) and upstream.id in params):
                continue  # not a call to a service, or a wrapper passing its parameter on
            target = _value(upstream, constants)
            if target is None:  # a service known only when it runs: whatever the registry lists
                anywhere = anywhere or where
            elif target in names and target != service:
                found.setdefault(target, where)
    return found, anywhere


def routed_services() -> list[str]:
    """The services the gateway's route table sends requests to."""
    table = tomllib.loads(ROUTES.read_text())
    return sorted({route["service"] for route in table["routes"]})


def _databases() -> dict[str, bool]:
    services = tomllib.loads(TOPOLOGY.read_text())["services"]
    return {name: bool(config.get("database")) for name, config in services.items()}


def contracts_used(service: str) -> frozenset[str]:
    modules = set()
    for path in _sources(service):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "contracts":
                parts = node.module.split(".")
                if len(parts) > 1:
                    modules.add(parts[1])
                else:  # from contracts import Message: the package's shared types
                    modules.add("base")
            elif isinstance(node, ast.Import):
                modules.update(a.name.split(".")[1] for a in node.names
                               if a.name.startswith("contracts."))
    return frozenset(modules)


@cache
def graph() -> dict[str, Service]:
    """Every service with its HTTP upstreams, database and contracts."""
    names = service_names()
    databases = _databases()
    built = {}
    for name in names:
        calls, anywhere = _code_calls(name)  # the service's sources read once
        reasons = {upstream: f"calls it ({where})" for upstream, where in calls.items()}
        if anywhere:
            for other in names:
                if other != name:
                    reasons.setdefault(other, f"calls any instance the registry lists ({anywhere})")
        if name == GATEWAY:
            for routed in routed_services():
                reasons.setdefault(routed, "routes.toml sends requests to it")
        for caller, callee, why in PLATFORM:
            if caller in ("*", name):
                for target in (names if callee == "*" else [callee]):
                    # the registry registers with itself, identity signs its own tokens with its
                    # keys, telemetry exports its own spans: through their own Service, whose
                    # hairpin some network plugins check against the policies as any other call
                    if target in names and (target != name or callee == target):
                        reasons.setdefault(target, why)
        built[name] = Service(name, frozenset(reasons), databases.get(name, False),
                              contracts_used(name), reasons)
    return built


def callers(service: str) -> list[str]:
    return sorted(name for name, s in graph().items() if service in s.calls)


def test_paths(service: str) -> list[str]:
    """What ``make test SERVICE=<service>`` runs: the service's own tests (unit and integration)
    and the contract tests of every contract module it speaks (the pinned wire format always)."""
    if service not in service_names():
        raise SystemExit(f"no service {service!r}; one of: {', '.join(service_names())}")
    paths = [f"services/{service}/tests"]
    used = contracts_used(service)
    if used:
        paths.append("libs/contracts/tests/test_wire_format.py")
        paths += [f"libs/contracts/tests/test_{module}.py" for module in sorted(used)
                  if (CONTRACT_TESTS / f"test_{module}.py").is_file()]
    return paths


def main(argv: list[str]) -> int:
    if argv[:1] == ["graph"]:
        print(json.dumps({name: {"calls": sorted(s.calls), "database": s.database,
                                 "contracts": sorted(s.contracts), "why": s.reasons}
                          for name, s in graph().items()}, indent=2, sort_keys=True))
        return 0
    if len(argv) == 2 and argv[0] == "tests":
        print(" ".join(test_paths(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
