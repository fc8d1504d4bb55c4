"""souk.postgres: the names and URLs of a home's databases."""

from pathlib import Path

import pytest

from souk.home import Home
from souk.postgres import PostgresError, database_names, default_prefix, redact, service_url
from souk.topology import parse_topology

pytestmark = pytest.mark.unit


def test_the_password_is_left_out_of_what_souk_prints() -> None:
    assert redact("postgresql://souk:secret@db:5432/postgres") == \
        "postgresql://souk:***@db:5432/postgres"
    assert redact("postgresql://postgres@127.0.0.1/postgres") == \
        "postgresql://postgres@127.0.0.1/postgres"
    assert service_url("postgresql://u@h:1/postgres?sslmode=require", "souk_x_orders") == \
        "postgresql://u@h:1/souk_x_orders?sslmode=require"


def test_the_default_prefix_is_stable_for_a_home_and_differs_between_homes() -> None:
    one, other = Home(Path("/srv/a")), Home(Path("/srv/b"))

    assert default_prefix(one) == default_prefix(Home(Path("/srv/a")))
    assert default_prefix(one) != default_prefix(other)


def test_no_server_no_databases_and_a_name_too_long_for_postgresql_is_refused() -> None:
    home = Home(Path("/srv/a"))
    assert database_names(parse_topology("[services.orders]\ndatabase = true\n"), home) == {}
    long_name = "s" + "x" * 30
    text = (f'[platform]\npostgres = "postgresql://h/postgres"\npostgres_prefix = "{"p" * 40}"\n'
            f"[services.{long_name}]\ndatabase = true\n")

    with pytest.raises(PostgresError, match="at most 63 characters"):
        database_names(parse_topology(text), home)
