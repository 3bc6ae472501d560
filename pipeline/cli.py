"""Command line: parse flags, load the config, run a command, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import Config, api_key, load_config, parse_id
from pipeline.console import ClipFormatter
from pipeline.errors import ConfigError, LockError, PipelineError
from pipeline.redact import RedactFilter

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, `kill`): the build stops as on Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


TOOL = """Keep a Chinese reading list of arXiv papers up to date.

List papers in config.toml; `build` fetches each paper's metadata and PDF from arXiv, asks an
LLM on an OpenAI-compatible endpoint for a Chinese summary of the paper's own text, and writes
output/README.md (a table and three bullets per paper) plus one detail file per paper.
Run again, it redoes only what changed."""
EXAMPLES = """examples:
  DEEPSEEK_API_KEY=sk-... python -m pipeline build      # the nightly refresh
  python -m pipeline build --only 2405.04434 --force   # regenerate one paper
  python -m pipeline status                            # what is done, what would be redone

exit codes: 0 all done; 1 some papers failed (the rest are written); 2 bad usage, config or
environment; 3 another build holds the lock."""
COMMANDS = {
    "build": (
        "Fetch, summarise and render the list: only the papers whose inputs changed.",
        "example: python -m pipeline build --only 2401.02954 --force",
    ),
    "status": (
        "One line per paper: ID, version, summarised or not, and why it would be redone.",
        "example: python -m pipeline status --config config.toml",
    ),
    "check": (
        "Check the stored summaries: form, language, copied text, grounding in the paper.",
        "example: python -m pipeline check",
    ),
    "import": (
        "Adopt an existing list in the reference README format: writes a new config.toml and "
        "stores its summaries as written by a person (no network, no tokens).",
        "example: python -m pipeline import README.md --config new/config.toml",
    ),
    "watch": (
        "Run the [[watch]] queries of the config on arXiv (one request per watch a day): propose "
        "new papers in output/candidates.md, or list them in the config when a watch says "
        "add = true. `build` runs them first.",
        "example: python -m pipeline watch   # with [[watch]] query = 'au:\"DeepSeek-AI\"'",
    ),
    "add": (
        "List papers in config.toml: one [[papers]] table each, with its project (from the arXiv "
        "title, or --project) and slug; comments and layout are kept.",
        'example: python -m pipeline add 2501.12948 --project "DeepSeek R1"',
    ),
    "reject": (
        "Never propose or add these papers again: adds them to `rejected` in config.toml and "
        "drops them from output/candidates.md.",
        "example: python -m pipeline reject 2502.00001",
    ),
    "doctor": (
        "Can this config work? Checks arXiv, the key, the model, JSON mode, reasoning and the "
        "context with a few small requests (no PDF), then prints what the next build would "
        "do and cost. Exit 0 when it can work, 2 when not.",
        "example: DEEPSEEK_API_KEY=sk-... python -m pipeline doctor --config config.toml",
    ),
}


def _command(
    sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """A subcommand with its description and example."""
    description, epilog = COMMANDS[name]
    return sub.add_parser(
        name,
        parents=[common],
        help=description.split(":")[0].rstrip("."),
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


logger = logging.getLogger("pipeline")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("config.toml"), help="config file")
    verbosity = common.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors and the summary")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug logs, tracebacks")

    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description=TOOL,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = _command(sub, "build", common)
    build.add_argument("--only", nargs="+", metavar="ID", default=[], help="only these papers")
    build.add_argument("--force", action="store_true", help="redo summaries even if unchanged")
    build.add_argument("--offline", action="store_true", help="no network: re-render stored state")
    build.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    build.add_argument("--jobs", type=int, metavar="N", help="model requests at once")
    build.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="write a markdown job summary (done, failed, flagged, candidates, tokens) to FILE; "
        "with $GITHUB_STEP_SUMMARY set (GitHub Actions) it is appended there too",
    )
    build.add_argument(
        "--take-back",
        action="store_true",
        help="with --only: overwrite those papers' hand-edited detail files",
    )
    build.add_argument("--no-watch", action="store_true", help="do not run the [[watch]] queries")
    _command(sub, "status", common)
    _command(sub, "check", common)
    _command(sub, "doctor", common)
    imp = _command(sub, "import", common)
    imp.add_argument("readme", type=Path, help="README.md in the reference format")
    _command(sub, "watch", common)
    add = _command(sub, "add", common)
    add.add_argument("ids", nargs="+", metavar="ID", help="arXiv IDs (2501.12948 or 2501.12948v2)")
    add.add_argument("--project", metavar="NAME", help="project name (default: from the title)")
    reject = _command(sub, "reject", common)
    reject.add_argument("ids", nargs="+", metavar="ID", help="arXiv IDs")
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ClipFormatter(verbose=args.verbose))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("arxiv", "httpx", "httpx2", "openai", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    # the openai client's own retries ("Retrying request in ... seconds"): every sleep is logged
    logging.getLogger("openai._base_client").setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code (0 done, 1 a paper failed, 2 usage, 3 locked)."""
    args = _parser().parse_args(argv)
    _setup_logging(args)
    try:
        return _dispatch(args)
    except LockError as exc:
        _error(args, exc)
        _stopped(args, EXIT_LOCKED, exc)
        return EXIT_LOCKED
    except ConfigError as exc:
        _error(args, exc)
        _stopped(args, EXIT_USAGE, exc)
        return EXIT_USAGE
    except PipelineError as exc:
        _error(args, exc)
        return EXIT_FAILED
    except Terminated:
        print("error: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `status | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: one line (traceback with -v), through the redacting log
        hint = "" if args.verbose else " (run with -v for the traceback)"
        _error(args, exc, f"unexpected {type(exc).__name__}: {exc}{hint}")
        return EXIT_FAILED


def _error(args: argparse.Namespace, exc: Exception, message: str | None = None) -> None:
    """One line on stderr; logged, so the RedactFilter keeps the API key out of it."""
    if args.verbose:
        logger.exception("error: %s", message or exc)
    else:
        logger.error("error: %s", message or exc)


def _stopped(args: argparse.Namespace, code: int, exc: Exception) -> None:
    """A build that stopped before any paper's work still leaves its job summary."""
    if args.command == "build" and not args.dry_run:
        from pipeline.report.job_summary import failure_summary, write_summary

        write_summary(failure_summary(code, str(exc)), args.summary)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "import":
        from pipeline.commands.import_list import adopt

        return adopt(args.readme, args.config)
    config = load_config(args.config)
    if args.command == "status":
        from pipeline.commands.status import print_status

        return print_status(config, verbose=args.verbose)
    if args.command == "doctor":
        from pipeline.commands.doctor import run_doctor

        return run_doctor(config)
    if args.command == "check":
        from pipeline.commands.check import print_check

        return print_check(config)
    if args.command in ("watch", "add", "reject"):
        return _watch_commands(args, config)
    return _build(args, config)


def _watch_commands(args: argparse.Namespace, config: Config) -> int:
    if args.command == "watch":
        from pipeline.commands.watch import print_watch

        return print_watch(config, quiet=args.quiet)
    from pipeline.commands.add_reject import add_papers, reject_papers

    if args.command == "add":
        return add_papers(config, args.ids, args.project, None)
    return reject_papers(config, args.ids, None)


def _build(args: argparse.Namespace, config: Config) -> int:
    from pipeline.build import Build, BuildOptions
    from pipeline.progress import Progress
    from pipeline.report.console import print_report

    only = _only_ids(args.only, config)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    if args.summary is not None and not args.summary.parent.is_dir():
        raise ConfigError(f"--summary {args.summary}: no folder {args.summary.parent}")
    if args.take_back and not only:
        raise ConfigError("--take-back needs --only ID: name the papers whose files to take back")
    key = None if (args.offline or args.dry_run) else api_key(config)
    if key:
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactFilter(key))
    options = BuildOptions(
        only=only,
        force=args.force,
        offline=args.offline,
        dry_run=args.dry_run,
        jobs=args.jobs,
        take_back=args.take_back,
        watch=not (args.offline or args.dry_run or only or args.no_watch),
    )
    progress = Progress(quiet=args.quiet)
    on_main = threading.current_thread() is threading.main_thread()  # where signals land
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main else None
    try:
        report = Build(config, options, key, progress).run()
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)
        progress.close()
    code = print_report(report, options, config)
    if not options.dry_run:
        from pipeline.report.job_summary import publish_summary

        publish_summary(report, config, args.summary)
    return code


def _only_ids(raw: list[str], config: Config) -> tuple[str, ...]:
    ids = []
    for item in raw:
        parsed = parse_id(item)
        if parsed is None:
            raise ConfigError(f"--only {item!r} is not an arXiv ID (expected like 2405.04434)")
        if config.paper(parsed[0]) is None:
            raise ConfigError(f"--only {parsed[0]}: not listed in {config.path.name}")
        ids.append(parsed[0])
    return tuple(ids)
