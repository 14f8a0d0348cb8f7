"""Operation modules; importing this package registers every operation."""

from insforge_tools.operations import agent_auth, project  # noqa: F401
