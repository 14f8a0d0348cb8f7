"""Shared state of one backend app and the database objects it needs.

The backend keeps its own records (buckets, objects, functions, secrets) in
PostgreSQL schemas that mirror the real server's (``storage``, ``functions``,
``system``). Request logs, MCP usage records, site deployments and build logs
live in memory.
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

__all__ = ["PROTECTED_SCHEMAS", "BackendState", "bootstrap_database"]

PROTECTED_SCHEMAS = (
    "auth",
    "compute",
    "cron",
    "deployments",
    "email",
    "functions",
    "memory",
    "payments",
    "realtime",
    "schedules",
    "storage",
    "system",
)

# Reserved secrets in the order the real server creates them (the list shows the newest first).
RESERVED_SECRET_KEYS = (
    "API_KEY",
    "INSFORGE_INTERNAL_URL",
    "ANON_KEY",
    "INSFORGE_BASE_URL",
    "JWT_SECRET",
    "JWT_PRIVATE_KEY",
    "JWT_KEY_ID",
    "JWT_PUBLIC_KEY",
)

MAX_LOG_ENTRIES = 2000


@dataclass
class BackendState:
    """Everything the route handlers share: the pool, the keys and the in-memory records."""

    api_key: str
    anon_key: str
    storage_dir: Path
    pool: asyncpg.Pool | None = None
    runtime_port: int = 0
    logs: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=MAX_LOG_ENTRIES)
    )
    mcp_usage: list[dict[str, Any]] = field(default_factory=list)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    current_deployment_id: str | None = None
    # Build logs of site and function deployments by deployment id, least recently updated first.
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)
    storage_config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self.storage_config = {
            "id": str(uuid.uuid4()),
            "maxFileSizeMb": 50,
            "createdAt": now,
            "updatedAt": now,
        }
        self.runtime_port = _closed_loopback_port()

    @property
    def db(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("The backend database pool is not open; the app lifespan has not started.")
        return self.pool


def _closed_loopback_port() -> int:
    """Pick a loopback port nothing listens on, for the function runtime the sandbox does not run."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_BOOTSTRAP_SQL = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'project_admin') THEN
    CREATE ROLE project_admin NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN;
  END IF;
END
$$;

GRANT USAGE, CREATE ON SCHEMA public TO project_admin;
GRANT USAGE ON SCHEMA public TO anon, authenticated;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO project_admin', current_database()); END $$;

ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  GRANT ALL ON TABLES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  GRANT ALL ON SEQUENCES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT ALL ON TABLES TO project_admin, anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT ALL ON SEQUENCES TO project_admin, anon, authenticated;

{schemas}

GRANT USAGE ON SCHEMA system TO project_admin;

CREATE TABLE IF NOT EXISTS system.secrets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key text NOT NULL UNIQUE,
  value text NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  is_reserved boolean NOT NULL DEFAULT false,
  last_used_at timestamptz,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- project_admin may read key names but never values.
GRANT SELECT (id, key, is_active, is_reserved, last_used_at, expires_at, created_at, updated_at)
  ON system.secrets TO project_admin;

CREATE OR REPLACE FUNCTION system.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END
$$;

CREATE TABLE IF NOT EXISTS storage.buckets (
  name text PRIMARY KEY,
  public boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS storage.objects (
  bucket text NOT NULL REFERENCES storage.buckets (name) ON DELETE CASCADE,
  key text NOT NULL,
  size bigint NOT NULL,
  mime_type text,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  uploaded_by uuid,
  uploaded_via text NOT NULL DEFAULT 'rest',
  s3_access_key_id text,
  etag text,
  PRIMARY KEY (bucket, key)
);

CREATE TABLE IF NOT EXISTS functions.definitions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE,
  name text NOT NULL,
  description text,
  code text NOT NULL,
  status text NOT NULL DEFAULT 'active',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deployed_at timestamptz
);
"""


async def bootstrap_database(pool: asyncpg.Pool, state: BackendState) -> None:
    """Create the roles, schemas and tables the backend uses; safe to run again on the same database."""
    schemas = "\n".join(f"CREATE SCHEMA IF NOT EXISTS {name};" for name in PROTECTED_SCHEMAS)
    async with pool.acquire() as conn, conn.transaction():
        # Roles are cluster-wide, so concurrent apps on one server must not race here.
        await conn.execute("SELECT pg_advisory_xact_lock(7130)")
        await conn.execute(_BOOTSTRAP_SQL.replace("{schemas}", schemas))

        values = {
            "API_KEY": state.api_key,
            "ANON_KEY": state.anon_key,
            "INSFORGE_BASE_URL": "http://127.0.0.1",
            "INSFORGE_INTERNAL_URL": "http://127.0.0.1",
        }
        start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        for index, key in enumerate(RESERVED_SECRET_KEYS):
            value = values.get(key) or secrets.token_hex(32)
            created = start + dt.timedelta(milliseconds=index)
            await conn.execute(
                """
                INSERT INTO system.secrets (key, value, is_reserved, created_at, updated_at, last_used_at)
                VALUES ($1, $2, true, $3, $3, $3)
                ON CONFLICT (key) DO UPDATE
                  SET value = CASE WHEN $1 IN ('API_KEY', 'ANON_KEY') THEN EXCLUDED.value
                                   ELSE system.secrets.value END
                """,
                key,
                value,
                created,
            )
