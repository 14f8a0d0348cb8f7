"""LlamaIndex tools for InsForge: a tool spec with one tool per insforge-tools operation."""

from llama_index.tools.insforge.approvals import WorkflowApprover
from llama_index.tools.insforge.base import InsForgeFunctionTool, InsForgeToolSpec
from llama_index.tools.insforge.testing import (
    ScriptedFunctionCallingLLM,
    ScriptExhaustedError,
    tool_call_message,
)

__all__ = [
    "InsForgeFunctionTool",
    "InsForgeToolSpec",
    "ScriptExhaustedError",
    "ScriptedFunctionCallingLLM",
    "WorkflowApprover",
    "tool_call_message",
]
