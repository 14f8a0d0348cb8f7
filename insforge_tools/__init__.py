"""insforge-tools: framework-neutral async tools that let AI agents drive InsForge."""

from insforge_tools.approvals import (
    ApprovalDecision,
    ApprovalRequest,
    Approver,
    AutoApprover,
    CallbackApprover,
    DenyingApprover,
)
from insforge_tools.context import AssertionProvider, Context
from insforge_tools.credentials import CredentialRecord, CredentialStore
from insforge_tools.errors import InsForgeError
from insforge_tools.registry import Operation, get_operation, get_operations, invoke
from insforge_tools.secrets import Secret, redact
from insforge_tools.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "ApprovalDecision",
    "ApprovalRequest",
    "Approver",
    "AssertionProvider",
    "AutoApprover",
    "CallbackApprover",
    "Context",
    "CredentialRecord",
    "CredentialStore",
    "DenyingApprover",
    "InsForgeError",
    "Operation",
    "Secret",
    "Settings",
    "__version__",
    "get_operation",
    "get_operations",
    "invoke",
    "redact",
]
