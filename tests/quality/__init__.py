"""The answer's checks: form, language, grounding, numbers, the reader's questions."""
