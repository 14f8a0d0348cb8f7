"""The public names other code relies on stay where they are."""

from __future__ import annotations

import insforge_tools
from insforge_tools.registry import get_operations

DESIGN_TOOL_NAMES = {
    "insforge_discover",
    "insforge_register",
    "insforge_login",
    "insforge_link",
    "insforge_current",
    "insforge_metadata",
    "insforge_db_query",
    "insforge_db_tables",
    "insforge_table_schema",
    "insforge_records_list",
    "insforge_records_create",
    "insforge_records_update",
    "insforge_records_delete",
    "insforge_storage_buckets",
    "insforge_storage_create_bucket",
    "insforge_storage_delete_bucket",
    "insforge_storage_upload",
    "insforge_storage_download",
    "insforge_storage_list_objects",
    "insforge_functions_list",
    "insforge_functions_deploy",
    "insforge_functions_invoke",
    "insforge_functions_delete",
    "insforge_deploy",
    "insforge_secrets_list",
    "insforge_secrets_set",
    "insforge_logs",
    "insforge_docs",
}


def test_core_exports() -> None:
    for name in (
        "Context",
        "Settings",
        "CredentialStore",
        "Secret",
        "InsForgeError",
        "DenyingApprover",
        "AutoApprover",
        "CallbackApprover",
        "get_operations",
        "invoke",
        "redact",
    ):
        assert name in insforge_tools.__all__
        assert hasattr(insforge_tools, name)


def test_every_design_tool_is_registered() -> None:
    registered = {op.name for op in get_operations() if not op.name.startswith("insforge_test_")}
    missing = DESIGN_TOOL_NAMES - registered
    assert not missing, f"operations missing from the registry: {sorted(missing)}"


def test_tool_names_are_prefixed_and_valid() -> None:
    for op in get_operations():
        assert op.name.startswith("insforge_")
        assert op.name.isidentifier()
        assert len(op.name) <= 64


def test_every_argument_has_a_description() -> None:
    for op in get_operations():
        for field_name, field in op.args_model.model_fields.items():
            assert field.description, f"{op.name}.{field_name} has no description"


def test_adapter_entry_points() -> None:
    from langchain_insforge import InsForgeToolkit
    from llama_index.tools.insforge import InsForgeToolSpec

    from insforge_tools.sandbox import Sandbox

    assert InsForgeToolkit.__name__ == "InsForgeToolkit"
    assert InsForgeToolSpec.__name__ == "InsForgeToolSpec"
    sandbox = Sandbox()
    try:
        for attribute in ("platform_url", "backend_url", "api_key", "provider", "cli_command"):
            assert hasattr(sandbox, attribute)
    finally:
        sandbox.stop()
