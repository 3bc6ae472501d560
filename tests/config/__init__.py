"""config.toml: what a bad config, usage or environment gets (exit 2, one line)."""
