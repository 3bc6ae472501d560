"""paper-reading pipeline: keeps a Chinese reading list of arXiv papers up to date.

How a build flows (one way, each stage in its own place):

    config.toml --> config.py          load and validate, clear errors (exit 2); the [[watch]]
                                       tables in watch/config.py (queries: watch/query.py)
        watch   --> watch/             run.py (the queries, new candidates, `add = true`),
                                       search.py (one cached arXiv search a day), state.py,
                                       candidates.py (candidates.md), curate.py (add, reject),
                                       edit_config.py (tomlkit edits of config.toml)
        plan    --> plan.py            which papers are stale, and why
        fetch   --> sources/           arxiv.py (metadata, PDFs), retry.py (the retry policy),
                                       netfail.py (what a network failure is called)
        extract --> text/              extract.py (pypdf, clean-up), pool.py (workers),
                                       sections.py (the token budget), tokens.py (the estimate)
        figures --> figures/           find.py (captions, crop boxes), layout.py (a page's text
                                       lines), ink.py (where a page has ink), crop.py (the
                                       image), cache.py (by PDF hash), jobs.py (what the workers
                                       run), keyfig.py (the key figure: chosen, written)
        prompt  --> llm/               summarise.py (the OpenAI-client call, the answer),
                                       prompts.py (prompts/*.j2, their hash, the paper quoted),
                                       providers.py (what each provider takes), client.py,
                                       answer.py (reading a reply), context.py (the context
                                       window learnt), session.py (the client and preflight),
                                       limiter.py (concurrency, retries), probe.py (`doctor`),
                                       window.py (the context window, the "auto" budget),
                                       prices.py (config or genai-prices, peak hours)
        check   --> quality/           checks.py (form, language, copying), grounding.py,
                                       numbers.py (numbers and their units), answers.py (the
                                       reader's questions: quotes found in the paper)
        store   --> state.py           PaperState (typed, schema 3), the only reader/writer of
                                       output/data/{ID}.json; provenance.py: what a fresh
                                       summary records; store.py: atomic writes, the lock
        publish --> publish/           row.py (Row: one paper as every output sees it),
                                       render.py (README, detail files), mdsafe.py (markdown
                                       escaping), templates/; site.py + feed.py (output/site/,
                                       output/feed.xml) from the same rows the README gets,
                                       mdhtml.py (hand-edited files as safe HTML), figures.py
                                       (the key figure shown, site copies, old images swept),
                                       years.py (a long README split by year)
        report  --> report/            model.py (options, outcomes, totals), console.py (the
                                       closing summary, cost), job_summary.py (CI markdown)

build.py drives the stages (records.py: what happened to each paper, what is stored of it;
progress.py: the progress line; warmer.py: the ❓ indexes built while the model answers;
threads.py: the papers' worker threads, daemons so that Ctrl-C does not wait for them). Shared
below every stage: errors.py (the exception tree), console.py (line width), redact.py (the key
never logged), names.py (file names). commands/ holds one thin module per subcommand (status.py,
check.py, doctor.py, watch.py, add_reject.py, import_list.py with import_parse.py reading the
README and import_config.py writing config.toml), and only cli.py imports it; cli.py stays thin.
Imports only run down these layers (tests/style/test_layers.py): foundation, config and state,
stages, build, commands, cli.
"""

__version__ = "0.1.0"
