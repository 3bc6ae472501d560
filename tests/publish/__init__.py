"""The outputs: markdown escaping, the site and feed, golden files, committed output."""
