"""PDF text: extraction, clean-up, sections and the token budget, the token estimate."""
