"""paper-reading pipeline: keeps a Chinese reading list of arXiv papers up to date."""

__version__ = "0.1.0"
