"""A stand-in for the InsForge OSS project backend 2.3.1 on a real PostgreSQL server.

It answers the routes an agent uses (health, metadata, raw SQL, tables,
records, storage, functions, secrets, logs, docs, MCP usage, site
deployments) with the recorded status codes, body shapes and error bodies of
the real server.
"""

from insforge_tools.sandbox.backend.app import create_backend_app

__all__ = ["create_backend_app"]
