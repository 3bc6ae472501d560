"""paper-reading pipeline: keeps a Chinese reading list of arXiv papers up to date.

How a build flows (one way, each stage in its own place):

    config.toml --> config.py          load and validate, clear errors (exit 2)
        plan    --> plan.py            which papers are stale, and why
        fetch   --> sources/           arxiv.py (metadata, PDFs), retry.py (the retry policy)
        extract --> text/              extract.py (pypdf, clean-up), pool.py (workers), sections.py
        prompt  --> llm/               summarise.py (prompts/, the OpenAI-client call, the answer),
                                       providers.py, client.py, answer.py, session.py (the
                                       client and preflight), limiter.py (concurrency, retries)
        check   --> quality/           checks.py (form, language, copying), grounding.py
        store   --> state.py           PaperState (typed, schema 2), the only reader/writer of
                                       output/data/{ID}.json; store.py: atomic writes, the lock
        publish --> publish/           render.py (README, detail files), mdsafe.py, templates/;
                                       site.py + feed.py (output/site/, output/feed.xml) from the
                                       same rows the README gets
build.py drives the stages (build_report.py: its options and report; provenance.py: what a
fresh summary records; report.py: the closing summary); commands/ holds
status, check, import, doctor, and the watches: watch.py (the [[watch]] queries, sources/watch.py),
add_reject.py and edit_config.py (tomlkit edits of config.toml); cli.py stays thin.
"""

__version__ = "0.1.0"
