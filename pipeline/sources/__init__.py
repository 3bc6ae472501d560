"""Where papers come from: arXiv metadata and searches, PDF downloads, the retry policy."""
