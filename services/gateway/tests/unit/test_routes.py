"""Route table: validation and longest-prefix matching on segment boundaries."""

from __future__ import annotations

import pytest

from gateway.routes import (
    BadPath,
    Route,
    Router,
    RouteTable,
    RouteTableError,
    canonical_path,
    load_routes,
    parse_routes,
    upstream_target,
)
from gateway.settings import packaged_routes_file

pytestmark = pytest.mark.unit

TABLE = """
[[routes]]
prefix = "/api/v1/catalog"
service = "catalog"
upstream_prefix = "/v1"
public = true

[[routes]]
prefix = "/api/v1/cart"
service = "cart"
upstream_prefix = "/v1"
timeout = 2.5

[[routes]]
prefix = "/api/v1/catalog/admin"
service = "catalog-admin"
upstream_prefix = "/admin"
"""


@pytest.fixture
def router() -> Router:
    return Router(parse_routes(TABLE))


def test_maps_the_rest_of_the_path_under_the_upstream_prefix(router: Router) -> None:
    match = router.match("/api/v1/catalog/products/42")
    assert match is not None
    assert match.route.service == "catalog"
    assert match.rest == "/products/42"
    assert match.upstream_path == "/v1/products/42"


def test_longest_prefix_wins(router: Router) -> None:
    match = router.match("/api/v1/catalog/admin/prices")
    assert match is not None
    assert match.route.service == "catalog-admin"
    assert match.upstream_path == "/admin/prices"


def test_matches_only_on_a_segment_boundary(router: Router) -> None:
    assert router.match("/api/v1/carts/1") is None
    assert router.match("/api/v1/catalogue") is None
    match = router.match("/api/v1/catalog/administrators")
    assert match is not None
    assert match.route.service == "catalog"


def test_the_prefix_itself_matches(router: Router) -> None:
    exact = router.match("/api/v1/cart")
    slash = router.match("/api/v1/cart/")
    assert exact is not None and exact.upstream_path == "/v1"
    assert slash is not None and slash.upstream_path == "/v1/"


def test_unknown_paths_do_not_match(router: Router) -> None:
    assert router.match("/api/v1/unknown/x") is None
    assert router.match("/") is None
    assert router.match("/api/v1") is None


def test_query_string_passes_through_untouched(router: Router) -> None:
    match = router.match("/api/v1/catalog/products")
    assert match is not None
    assert upstream_target(match, b"q=red%20shoes&page=2") == "/v1/products?q=red%20shoes&page=2"
    assert upstream_target(match, b"") == "/v1/products"


def test_escapes_of_reserved_characters_are_forwarded_encoded(router: Router) -> None:
    match = router.match(canonical_path("/api/v1/catalog/products/a%3ab%20c"))
    assert match is not None
    assert match.upstream_path == "/v1/products/a%3Ab%20c"


@pytest.mark.parametrize(("raw", "canonical"), [
    ("/api/v1/identity/%73ervice-tokens", "/api/v1/identity/service-tokens"),
    ("/api/v1/inventory/%61dmin/stock", "/api/v1/inventory/admin/stock"),
    ("/api/v1/%41%7a%30-%2E_%7E", "/api/v1/Az0-._~"),
    ("/api/v1/x/%25%3f%23%20", "/api/v1/x/%25%3F%23%20"),  # decoded once, by the service
    ("/api/v1/x/%2573", "/api/v1/x/%2573"),  # a double escape stays one escape
    ("/api/v1/x/.hidden/a..b/", "/api/v1/x/.hidden/a..b/"),
    ("/api/v1/x/", "/api/v1/x/"),
])
def test_canonical_path_decodes_only_unreserved_escapes(raw: str, canonical: str) -> None:
    assert canonical_path(raw) == canonical


@pytest.mark.parametrize("raw", [
    "/api/v1/x/a%2Fb", "/api/v1/x/a%2fb", "/api/v1/x%5cy", "/api/v1/x%00", "/api/v1/x/%2e%2e/y",
    "/api/v1/x/%2E", "/api/v1/x/../y", "/api/v1/x/./y", "/api/v1/x/..", "/api/v1//x",
    "/api/v1/x/%zz", "/api/v1/x/%4", "/api/v1/x/%",
])
def test_canonical_path_refuses_what_would_change_the_path_once_decoded(raw: str) -> None:
    with pytest.raises(BadPath):
        canonical_path(raw)


def test_a_location_goes_out_as_the_public_path_that_leads_there(router: Router) -> None:
    catalog = router.table.routes[0]
    assert catalog.prefix == "/api/v1/catalog"
    internal = b"http://127.0.0.1:8123/v1/products/42?x=1"
    assert router.public_location(catalog, internal) == b"/api/v1/catalog/products/42?x=1"
    assert router.public_location(catalog, b"/v1/products") == b"/api/v1/catalog/products"
    assert router.public_location(catalog, b"42/reviews") == b"42/reviews"  # relative: as is
    assert router.public_location(catalog, b"http://10.0.0.9/elsewhere") is None


def test_empty_upstream_prefix_forwards_the_rest_as_is() -> None:
    router = Router(parse_routes('[[routes]]\nprefix = "/api/v1/x"\nservice = "x"\n'))
    match = router.match("/api/v1/x/a/b")
    assert match is not None and match.upstream_path == "/a/b"
    bare = router.match("/api/v1/x")
    assert bare is not None and bare.upstream_path == "/"


def test_route_defaults() -> None:
    route = parse_routes('[[routes]]\nprefix = "/api/v1/x"\nservice = "x"\n').routes[0]
    assert route.public is False
    assert route.timeout is None
    assert route.upstream_prefix == ""


@pytest.mark.parametrize(("entry", "complaint"), [
    ('prefix = "api/v1/x"\nservice = "x"', "must start with '/'"),
    ('prefix = "/api/v1/x/"\nservice = "x"', "must not end with '/'"),
    ('prefix = "/api//x"\nservice = "x"', "segments"),
    ('prefix = "/api/../x"\nservice = "x"', "segments"),
    ('prefix = "/api/v1/x?y"\nservice = "x"', "unreserved"),
    ('prefix = "/api/v1/x:y"\nservice = "x"', "unreserved"),
    ('prefix = "/api/v1/x"\nservice = "Not A Name"', "service"),
    ('prefix = "/api/v1/x"\nservice = "x"\nupstream_prefix = "v1"', "upstream_prefix"),
    ('prefix = "/api/v1/x"\nservice = "x"\ntimeout = 0', "timeout"),
    ('prefix = "/api/v1/x"\nservice = "x"\ntimout = 3', "timout"),
    ('service = "x"', "prefix"),
])
def test_rejects_an_invalid_entry(entry: str, complaint: str) -> None:
    with pytest.raises(RouteTableError, match="invalid route table") as caught:
        parse_routes(f"[[routes]]\n{entry}\n")
    assert complaint in str(caught.value)


def test_rejects_duplicate_prefixes() -> None:
    entry = '[[routes]]\nprefix = "/api/v1/x"\nservice = "x"\n'
    with pytest.raises(RouteTableError, match="duplicate prefix"):
        parse_routes(entry * 2)


def test_rejects_an_empty_table() -> None:
    with pytest.raises(RouteTableError, match="routes"):
        parse_routes("")


def test_rejects_malformed_toml() -> None:
    with pytest.raises(RouteTableError, match="not valid TOML"):
        parse_routes("[[routes]\nprefix=")


def test_reports_an_unreadable_file(tmp_path) -> None:
    with pytest.raises(RouteTableError, match="cannot read"):
        load_routes(tmp_path / "missing.toml")


def test_packaged_table_routes_every_bounded_context() -> None:
    table: RouteTable = load_routes(packaged_routes_file())
    router = Router(table)
    # catalog, identity and inventory serve /v1/...; the checkout contexts /v1/<context>/...
    upstream = {"catalog": "/v1/x", "identity": "/v1/x", "inventory": "/v1/x",
                "cart": "/v1/cart/x", "orders": "/v1/orders/x", "payments": "/v1/payments/x",
                "notifications": "/v1/notifications/x", "analytics": "/v1/analytics/x"}
    for context, path in upstream.items():
        match = router.match(f"/api/v1/{context}/x")
        assert match is not None
        assert match.route.service == context
        assert match.upstream_path == path
        assert not match.route.public
    for context, path in (("orders", "/v1/admin/orders"), ("payments", "/v1/admin/payments"),
                          ("notifications", "/v1/admin/notifications"),
                          ("inventory", "/v1/admin/stock")):
        match = router.match(f"/api/v1/{context}/admin/{path.rsplit('/', 1)[1]}"
                             if context != "inventory" else "/api/v1/inventory/admin/stock")
        assert match is not None and match.route.admin, context
        assert match.upstream_path.startswith("/v1/admin/"), match.upstream_path


def test_packaged_table_declares_who_may_call_what() -> None:
    router = Router(load_routes(packaged_routes_file()))

    def route(path: str) -> Route:
        match = router.match(path)
        assert match is not None, path
        return match.route

    catalog = route("/api/v1/catalog/products")
    assert catalog.is_public("GET") and catalog.is_public("HEAD")
    assert not catalog.is_public("POST") and not catalog.is_public("DELETE")
    for path in ("signup", "login", "refresh", "logout", "jwks"):
        assert route(f"/api/v1/identity/{path}").public, path
    assert route("/api/v1/identity/login").rate_limit == "login"
    assert route("/api/v1/identity/signup").rate_limit == "login"
    me = route("/api/v1/identity/me")
    assert not me.is_public("GET") and not me.roles and not me.admin
    for path in ("keys/rotate", "audit"):
        admin = route(f"/api/v1/identity/{path}")
        assert admin.admin and admin.roles == ("admin",)
    assert router.match("/api/v1/identity/service-tokens") is None
    assert route("/api/v1/orders/mine").rate_limit == "default"
    for page in ("/signin", "/signup"):  # the shop's forms post passwords too
        assert route(page).service == "web" and route(page).public
        assert route(page).limit_class("POST") == "login", page
        assert route(page).limit_class("GET") == "default", page
    assert route("/").limit_class("POST") == "default"


def test_access_fields_default_to_a_token_and_the_default_limit() -> None:
    route = parse_routes('[[routes]]\nprefix = "/api/v1/x"\nservice = "x"\n').routes[0]
    assert (route.public, route.public_methods, route.roles, route.admin, route.exposed,
            route.rate_limit) == (False, frozenset(), (), False, True, "default")
    assert not route.is_public("GET")


def test_public_methods_are_normalised_to_upper_case() -> None:
    route = parse_routes('[[routes]]\nprefix = "/a"\nservice = "x"\n'
                         'public_methods = ["get", "HEAD"]\n').routes[0]
    assert route.public_methods == frozenset({"GET", "HEAD"})
    assert route.is_public("GET") and not route.is_public("POST")


def test_an_admin_route_needs_the_admin_role() -> None:
    route = parse_routes('[[routes]]\nprefix = "/a"\nservice = "x"\nadmin = true\n'
                         'roles = ["auditor"]\n').routes[0]
    assert route.roles == ("auditor", "admin")


@pytest.mark.parametrize(("entry", "complaint"), [
    ('public = true\nroles = ["admin"]', "public route"),
    ('public = true\nadmin = true', "public route"),
    ('public = true\npublic_methods = ["GET"]', "public route"),
    ('admin = true\npublic_methods = ["GET"]', "admin route"),
    ('public_methods = ["FETCH"]', "unknown HTTP methods"),
    ('roles = [""]', "roles"),
    ('rate_limit = "burst"', "rate_limit"),
    ('rate_limit_methods = ["POST"]', "rate_limit other than default"),
    ('rate_limit = "login"\nrate_limit_methods = ["SEND"]', "unknown HTTP methods"),
    ('exposed = "no"', "exposed"),
])
def test_rejects_incoherent_access_rules(entry: str, complaint: str) -> None:
    with pytest.raises(RouteTableError, match="invalid route table") as caught:
        parse_routes(f'[[routes]]\nprefix = "/a"\nservice = "x"\n{entry}\n')
    assert complaint in str(caught.value)


def test_an_unexposed_route_hides_its_prefix_only() -> None:
    router = Router(parse_routes(
        '[[routes]]\nprefix = "/api/v1/x"\nservice = "x"\n'
        '[[routes]]\nprefix = "/api/v1/x/internal"\nservice = "x"\nexposed = false\n'))
    assert router.match("/api/v1/x/internal/thing") is None
    assert router.match("/api/v1/x/internals") is not None


def test_a_root_route_serves_every_path_outside_the_other_routes_namespaces() -> None:
    table = parse_routes('[[routes]]\nprefix = "/"\nservice = "web"\npublic = true\n'
                         '[[routes]]\nprefix = "/api/v1/cart"\nservice = "cart"\n')
    router = Router(table)
    for path in ("/", "/products/x", "/console", "/apiary"):
        match = router.match(path)
        assert match is not None and match.route.service == "web"
        assert match.upstream_path == path
    api = router.match("/api/v1/cart/items")
    assert api is not None and api.route.service == "cart"
    # an unknown API path stays the edge's 404 rather than a page of the front end
    assert router.match("/api/v1/unknown") is None
    assert router.match("/api") is None


def test_a_root_route_relocates_its_upstream_location_to_the_same_path() -> None:
    table = parse_routes('[[routes]]\nprefix = "/"\nservice = "web"\npublic = true\n'
                         '[[routes]]\nprefix = "/api/v1/cart"\nservice = "cart"\n')
    router = Router(table)
    root = router.match("/signin")
    assert root is not None
    assert router.public_location(root.route, b"/orders/o-1?x=1") == b"/orders/o-1?x=1"
    assert router.public_location(root.route, b"http://127.0.0.1:9/cart") == b"/cart"
