"""The build's report: the console lines and the CI job summary."""
