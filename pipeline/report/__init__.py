"""What a build did: the report's model (options, outcomes, totals), the closing summary on the
console (counts, cost), and the CI job summary in markdown."""
