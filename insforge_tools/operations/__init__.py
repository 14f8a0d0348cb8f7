"""Operation modules; importing this package registers every operation."""

from insforge_tools.operations import (  # noqa: F401
    account,
    agent_auth,
    database,
    deployments,
    functions,
    logs,
    project,
    secrets,
    storage,
)
