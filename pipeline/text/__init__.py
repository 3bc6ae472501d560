"""PDF to prompt text: pypdf extraction, clean-up, sections, token budget, the worker pool."""
