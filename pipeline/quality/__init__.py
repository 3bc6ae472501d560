"""Checks on a summary: form, language, copied text and grounding in the paper."""
