"""Outputs for people and machines: summary JSON, the HTML report, the static publication."""
