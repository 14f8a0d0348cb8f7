"""Project operations: link, current, metadata, SQL."""
