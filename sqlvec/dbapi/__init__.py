"""dbapi."""
