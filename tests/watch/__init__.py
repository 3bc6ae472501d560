"""The watches: [[watch]] config, candidates, add and reject."""
