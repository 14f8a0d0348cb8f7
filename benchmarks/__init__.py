"""Side-by-side benchmarks of insforge-tools and the InsForge MCP server.

Run them with ``python -m benchmarks.run`` from the repository root.
"""
