"""Ways to reach InsForge: the CLI and direct HTTP."""
