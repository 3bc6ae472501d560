"""The watches: [[watch]] queries that propose or add papers, their state, candidates.md, and
the list's curation (add, reject, the config.toml edits they make)."""
