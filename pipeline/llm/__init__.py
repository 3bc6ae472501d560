"""The model stage: prompts, provider profiles, the OpenAI-client call, the answer."""
