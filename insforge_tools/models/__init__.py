"""Typed results of the operations, shared by every transport."""
