"""Partners (later issues)."""
