"""What users read: README, detail files, site, feed, markdown escaping, templates."""
