"""Whole builds through the CLI: refresh, curation, faults, kills, throughput, hostile input."""
