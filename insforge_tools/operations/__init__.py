"""Operation modules; importing this package registers every operation."""

from insforge_tools.operations import account, agent_auth, database, project  # noqa: F401
