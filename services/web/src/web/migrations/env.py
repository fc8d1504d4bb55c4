from chassis.db.alembic_env import run

run()
