"""Checks: validation findings and cross-source reconciliation (pure functions over arrays)."""
