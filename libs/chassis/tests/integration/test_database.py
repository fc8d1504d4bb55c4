"""The unit-of-work API against real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from chassis import ServiceSettings, create_service_app
from chassis.db import Database, UnstorableText, migrate, open_database
from chassis.ids import new_id
from chassis.testing import connected_database, temporary_database
from chassis.testing.asgi import AsgiClient
from chassis.web import Query, Router

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "demo_migrations"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url, MIGRATIONS)
    database = open_database(database_url)
    await database.connect()
    yield database
    await database.close()


async def insert(db: Database, name: str, qty: int) -> str:
    item_id = new_id()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO items (id, name, qty) VALUES (:id, :name, :qty)",
                         {"id": item_id, "name": name, "qty": qty})
    return item_id


async def test_a_committed_unit_of_work_is_visible(db: Database) -> None:
    item_id = await insert(db, "beans", 3)
    async with db.transaction(readonly=True) as tx:
        row = await tx.fetch_one("SELECT id, name, qty FROM items WHERE id = :id", {"id": item_id})
        assert row == {"id": item_id, "name": "beans", "qty": 3}
        assert await tx.fetch_value("SELECT count(*) FROM items") == 1
        assert await tx.fetch_one("SELECT * FROM items WHERE id = :id", {"id": "nope"}) is None


async def test_publishing_on_a_plain_transaction_says_the_service_has_no_messaging(
        db: Database) -> None:
    """A service built without messaging gets plain transactions from runtime.transaction; its
    first publish was an AttributeError naming the driver's class, nothing about why."""
    async with db.transaction() as tx:
        with pytest.raises(AttributeError, match=r"'publish': this is a plain database "
                           r"transaction.*create_service_app\(\.\.\., handlers=\.\.\.\)"):
            tx.publish  # type: ignore[attr-defined]
        with pytest.raises(AttributeError, match="object has no attribute 'nonsense'"):
            tx.nonsense  # type: ignore[attr-defined]
        assert getattr(tx, "publish", None) is None


async def test_an_exception_rolls_back_every_statement(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO items (id, name, qty) VALUES ('1', 'a', 1)")
            await tx.execute("INSERT INTO items (id, name, qty) VALUES ('2', 'b', 2)")
            raise RuntimeError("abort")
    async with db.transaction(readonly=True) as tx:
        assert await tx.fetch_value("SELECT count(*) FROM items") == 0


async def test_a_constraint_violation_rolls_back_and_the_database_stays_usable(db: Database) -> None:
    await insert(db, "beans", 1)
    with pytest.raises(Exception, match=r"(?i)unique"):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO items (id, name, qty) VALUES ('x', 'cups', 1)")
            await tx.execute("INSERT INTO items (id, name, qty) VALUES ('y', 'beans', 1)")
    await insert(db, "filters", 2)
    async with db.transaction(readonly=True) as tx:
        names = [r["name"] for r in await tx.fetch_all("SELECT name FROM items ORDER BY name")]
    assert names == ["beans", "filters"]


async def test_execute_many_rowcounts_and_upserts(db: Database) -> None:
    rows = [{"id": new_id(), "name": f"item-{i}", "qty": i} for i in range(50)]
    async with db.transaction() as tx:
        await tx.execute_many("INSERT INTO items (id, name, qty) VALUES (:id, :name, :qty)", rows)
        changed = await tx.execute("UPDATE items SET qty = qty + 1 WHERE qty >= :min", {"min": 40})
        assert changed == 10
        upsert = ("INSERT INTO items (id, name, qty) VALUES (:id, :name, :qty) "
                  "ON CONFLICT (name) DO NOTHING")
        assert await tx.execute(upsert, {"id": new_id(), "name": "item-1", "qty": 0}) == 0
    async with db.transaction(readonly=True) as tx:
        assert await tx.fetch_value("SELECT sum(qty) FROM items") == sum(range(50)) + 10


async def test_concurrent_units_of_work_do_not_interleave(db: Database) -> None:
    await insert(db, "counter", 0)

    # SQLite serialises units of work on its one connection; PostgreSQL needs the row lock
    lock = " FOR UPDATE" if db.dialect == "postgresql" else ""

    async def bump() -> None:
        async with db.transaction() as tx:
            qty = await tx.fetch_value("SELECT qty FROM items WHERE name = 'counter'" + lock)
            await asyncio.sleep(0)  # a yield inside the unit of work must not let others in
            await tx.execute("UPDATE items SET qty = :q WHERE name = 'counter'", {"q": qty + 1})

    await asyncio.gather(*(bump() for _ in range(50)))
    async with db.transaction(readonly=True) as tx:
        assert await tx.fetch_value("SELECT qty FROM items WHERE name = 'counter'") == 50


async def schema_versions(url: str) -> list[str]:
    """The revisions recorded in ``url``'s ``alembic_version`` (one, at head, when migrated)."""
    async with connected_database(url) as db, db.transaction(readonly=True) as tx:
        return [row["version_num"] for row in
                await tx.fetch_all("SELECT version_num FROM alembic_version")]


async def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    await migrate(database_url, MIGRATIONS)
    await migrate(database_url, MIGRATIONS)
    assert await schema_versions(database_url) == ["0001"]


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    # separate processes, like two instances of a service started by the launcher
    code = ("import asyncio, sys; from chassis.db import migrate; "
            "asyncio.run(migrate(sys.argv[1], sys.argv[2]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, database_url, str(MIGRATIONS)],
                              stderr=subprocess.PIPE) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()[-2000:]
    assert await schema_versions(database_url) == ["0001"]


async def test_several_databases_migrate_in_one_child_and_not_again_at_head(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chassis.db.migrate import migrate_isolated

    children: list[tuple[object, ...]] = []
    spawn = asyncio.create_subprocess_exec

    async def counted(*argv: object, **kwargs: object) -> asyncio.subprocess.Process:
        children.append(argv)
        return await spawn(*argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", counted)
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("one", "two", "three")]
    await migrate_isolated(*((url, MIGRATIONS) for url in urls))
    assert len(children) == 1  # one child for the three
    for url in urls:
        assert await schema_versions(url) == ["0001"]
    await migrate_isolated(*((url, MIGRATIONS) for url in urls))
    assert len(children) == 1  # all at head: no child at all


async def test_a_failed_migration_names_the_databases_it_was_for(tmp_path: Path) -> None:
    from chassis.db.migrate import migrate_isolated

    broken = tmp_path / "migrations"
    (broken / "versions").mkdir(parents=True)
    (broken / "env.py").write_text("raise SystemExit(3)\n")
    with pytest.raises(RuntimeError, match=rf"^migrating {tmp_path.name} failed \(exit"):
        await migrate_isolated((f"sqlite:///{tmp_path / 'x'}.db", broken))


async def test_ping_fails_when_not_connected(database_url: str) -> None:
    db = open_database(database_url)
    with pytest.raises(RuntimeError, match="not connected"):
        await db.ping()


def test_unknown_url_schemes_are_rejected() -> None:
    with pytest.raises(ValueError, match="mysql"):
        open_database("mysql://localhost/x")


@pytest.mark.postgres
async def test_text_postgresql_cannot_store_is_a_400_problem(tmp_path: Path) -> None:
    async with temporary_database("postgres", tmp_path) as url:
        router = Router()

        class Count(msgspec.Struct):
            count: int

        @router.get("/v1/items")
        async def find(name: Annotated[str, Query()], db: Database) -> Count:
            async with db.transaction(readonly=True) as tx:
                count = await tx.fetch_value("SELECT count(*) FROM items WHERE name = :n",
                                             {"n": name})
            return Count(count)

        app = create_service_app(ServiceSettings(service_name="demo", port=1, database_url=url),
                                 title="demo", migrations=MIGRATIONS, use_broker=False,
                                 routers=[router])
        async with AsgiClient(app) as client:
            reply = await client.request("GET", "/v1/items?name=a%00b")
        assert (reply.status, reply.headers["content-type"]) == (400, "application/problem+json")
        assert reply.body["type"].endswith("/invalid-characters")


async def test_a_text_postgresql_cannot_store_is_unstorable_text_in_every_unit_of_work(
        db: Database) -> None:
    """PostgreSQL refuses a NUL in a text, in a read as in a write; SQLite stores it."""
    if db.dialect != "postgresql":
        item_id = await insert(db, "a\x00b", 1)
        async with db.transaction(readonly=True) as tx:
            assert await tx.fetch_value("SELECT name FROM items WHERE id = :id",
                                        {"id": item_id}) == "a\x00b"
        return
    with pytest.raises(UnstorableText) as refused:
        await insert(db, "a\x00b", 1)
    assert type(refused.value.__cause__).__name__ == "CharacterNotInRepertoireError"
    with pytest.raises(UnstorableText):
        async with db.transaction(readonly=True) as tx:
            await tx.fetch_value("SELECT count(*) FROM items WHERE name = :n", {"n": "a\x00b"})
    assert await insert(db, "ab", 1)  # the pool's connection stays usable


def test_the_400_for_unstorable_text_does_not_wait_for_asyncpg_to_be_imported() -> None:
    """A service imports asyncpg only once it connects, after its app is built: the problem map
    must not depend on it (it did, and a NUL reached PostgreSQL as a 500)."""
    script = (
        "import sys\n"
        "from chassis import ServiceSettings, create_service_app\n"
        "from chassis.db import UnstorableText\n"
        "app = create_service_app(ServiceSettings(service_name='demo', port=1, "
        "database_url='postgresql://nobody@127.0.0.1:1/none'), title='demo', use_broker=False)\n"
        "assert 'asyncpg' not in sys.modules, 'asyncpg imported at build time'\n"
        "assert app.problems[UnstorableText] == (400, 'invalid-characters'), app.problems\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_head_revision_is_read_from_the_files() -> None:
    from chassis.db.migrate import head_revision

    assert head_revision(MIGRATIONS) == "0001"


async def test_a_database_behind_head_is_upgraded_even_on_the_fast_path(database_url: str,
                                                                         tmp_path: Path) -> None:
    # a second revision appears (a new release): the start-up check must not skip it
    await migrate(database_url, MIGRATIONS)
    newer = tmp_path / "migrations"
    (newer / "versions").mkdir(parents=True)
    (newer / "env.py").write_text((MIGRATIONS / "env.py").read_text())
    (newer / "versions" / "0001_items.py").write_text(
        (MIGRATIONS / "versions" / "0001_items.py").read_text())
    (newer / "versions" / "0002_notes.py").write_text(
        'revision = "0002"\ndown_revision = "0001"\nbranch_labels = None\ndepends_on = None\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n\n"
        "def upgrade() -> None:\n    op.add_column('items', sa.Column('note', sa.Text))\n\n\n"
        "def downgrade() -> None:\n    op.drop_column('items', 'note')\n")
    await migrate(database_url, newer)
    db = open_database(database_url)
    await db.connect()
    try:
        async with db.transaction() as tx:
            assert await tx.fetch_value("SELECT version_num FROM alembic_version") == "0002"
            await tx.execute("INSERT INTO items (id, name, qty, note) VALUES ('1', 'a', 1, 'n')")
    finally:
        await db.close()


async def test_units_of_work_and_statements_are_counted_and_shown_as_metrics(db: Database) -> None:
    from prometheus_client import CollectorRegistry

    from chassis.metrics import DatabaseMetrics, render

    counts = db.counts  # type: ignore[attr-defined]
    before = (counts.transactions, counts.statements, counts.round_trips)
    await insert(db, "counted", 1)
    async with db.transaction(readonly=True) as tx:
        await tx.fetch_all("SELECT name FROM items")
        await tx.fetch_value("SELECT count(*) FROM items")
    with pytest.raises(ZeroDivisionError):
        async with db.transaction() as tx:
            await tx.execute("UPDATE items SET qty = 2 WHERE name = :n", {"n": "counted"})
            raise ZeroDivisionError  # a rolled-back unit of work counts too

    assert (counts.transactions - before[0], counts.statements - before[1]) == (3, 4)
    # PostgreSQL: a statement each, BEGIN and COMMIT/ROLLBACK of the two units that write
    assert counts.round_trips - before[2] == (8 if db.dialect == "postgresql" else 0)
    registry = CollectorRegistry()
    registry.register(DatabaseMetrics(counts, "demo", db.dialect))
    text = render(registry).decode()
    assert f'souk_db_transactions_total{{dialect="{db.dialect}",service="demo"}} ' \
           f'{float(counts.transactions)}' in text
    assert f'souk_db_statements_total{{dialect="{db.dialect}",service="demo"}} ' \
           f'{float(counts.statements)}' in text
