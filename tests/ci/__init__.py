"""The nightly workflow, its security, and the package as CI installs it."""
