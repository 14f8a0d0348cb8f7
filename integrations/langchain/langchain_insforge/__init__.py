"""LangChain tools for InsForge: a toolkit of one tool per insforge-tools operation."""

from langchain_insforge.approvals import HumanInTheLoopApprover, LangGraphApprover
from langchain_insforge.testing import ScriptedChatModel, ScriptExhaustedError
from langchain_insforge.toolkits import InsForgeToolkit, interrupt_on
from langchain_insforge.tools import InsForgeTool, InsForgeToolError

__all__ = [
    "HumanInTheLoopApprover",
    "InsForgeTool",
    "InsForgeToolError",
    "InsForgeToolkit",
    "LangGraphApprover",
    "ScriptExhaustedError",
    "ScriptedChatModel",
    "interrupt_on",
]
