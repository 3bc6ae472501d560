"""The prompt templates (jinja2): installed as the package data `pipeline.prompts`."""
