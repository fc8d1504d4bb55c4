import pytest

from chassis.db.postgres import asyncpg_dsn, to_positional
from chassis.db.sqlite import sqlite_path

pytestmark = pytest.mark.unit


def test_named_parameters_become_positional_in_order_of_first_use() -> None:
    sql, names = to_positional("SELECT * FROM t WHERE a = :a AND b = :b OR a = :a")
    assert sql == "SELECT * FROM t WHERE a = $1 AND b = $2 OR a = $1"
    assert names == ("a", "b")


def test_postgres_casts_are_not_parameters() -> None:
    sql, names = to_positional("SELECT :x::text, now()::date")
    assert sql == "SELECT $1::text, now()::date"
    assert names == ("x",)


@pytest.mark.parametrize(("url", "dsn"), [
    ("postgresql+asyncpg://u@h/db", "postgresql://u@h/db"),
    ("postgres://u@h/db", "postgresql://u@h/db"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
])
def test_asyncpg_dsn_strips_driver_names(url: str, dsn: str) -> None:
    assert asyncpg_dsn(url) == dsn


@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:////abs/x.db", "/abs/x.db"),
    ("sqlite:///rel/x.db", "rel/x.db"),
    ("sqlite:///:memory:", ":memory:"),
])
def test_sqlite_urls_map_to_paths(url: str, path: str) -> None:
    assert sqlite_path(url) == path
