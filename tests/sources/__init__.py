"""arXiv: the fake's search answers, and arXiv unreachable."""
