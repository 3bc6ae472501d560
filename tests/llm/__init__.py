"""The model: providers, concurrency, the token budget and prices."""
