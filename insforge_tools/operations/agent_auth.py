"""Discovery, registration and CLI-account operations."""
