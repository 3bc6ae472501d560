"""The other commands: --help, doctor, import."""
