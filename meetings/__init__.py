"""Meetings (later issues)."""
