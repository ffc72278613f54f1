"""What the benches share: their own PostgreSQL database, made when missing and never one whose
name lacks "bench" (a bench empties its tables)."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def bench_database_ensure(database_url: str, *, bench: str, migrate: bool = True, env: dict | None = None) -> str:
    """Create the bench's database when missing (and migrate it); exit when it is not PostgreSQL
    or its name does not say "bench". Returns the database's name."""
    url = urlsplit(database_url)
    name = url.path.lstrip("/")
    if not url.scheme.startswith("postgres"):
        sys.exit(f"{bench} needs PostgreSQL: give it a postgres:// database URL")
    if "bench" not in name:
        sys.exit(f"refusing to empty the tables of {name!r}: use a database whose name contains 'bench'")
    import psycopg

    admin_url = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    if migrate:
        command = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
    return name
