"""`python -m bench [--smoke] [--fires N] [--idle-seconds S] [--out DIR]`."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench.plot import plot_lags
from bench.procs import BenchError
from bench.report import markdown, write_json
from bench.runner import Options, run, say
from bench.targets import evaluate

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Worker vs a bare asyncio floor vs a plain APScheduler script, side by side.",
    )
    parser.add_argument("--smoke", action="store_true", help="~5 fires, 3 s window (for tests)")
    parser.add_argument("--fires", type=int, help="measured fires per program (default 300)")
    parser.add_argument(
        "--idle-seconds", type=float, help="CPU window in seconds, same run (default 300)"
    )
    parser.add_argument("--out", type=Path, help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="also run the worker of this tree (e.g. a `git worktree` of an older commit)",
    )
    args = parser.parse_args(argv)
    if args.fires is not None and args.fires < 1:
        parser.error("--fires must be >= 1")
    if args.idle_seconds is not None and args.idle_seconds <= 0:
        parser.error("--idle-seconds must be > 0")
    return args


def options_from(args: argparse.Namespace) -> Options:
    smoke: bool = args.smoke
    if args.out is not None:
        out: Path = args.out
    else:  # a smoke run never overwrites the real results
        out = Path(tempfile.mkdtemp(prefix="bench-smoke-")) if smoke else DEFAULT_OUT
    return Options(
        fires=args.fires or (5 if smoke else 300),
        idle_seconds=args.idle_seconds or (3.0 if smoke else 300.0),
        rss_after=2.0 if smoke else 20.0,
        progress_every=1.0 if smoke else 10.0,
        logs=out / "logs",
        warm_up=not smoke,
        extra_cycles=0 if smoke else 4,
        baseline=args.baseline_tree,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the runner, which stops every child it started


def main(argv: list[str] | None = None) -> int:
    options = options_from(parse_args(argv))
    out = options.logs.parent
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run(options)
    except BenchError as exc:
        say(f"failed: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted; every child process was stopped")
        return 130
    targets = evaluate(result.programs)
    lags = {name: program.lags_ms for name, program in result.programs.items()}
    plot = plot_lags(lags, out / "lag.png")
    write_json(result, targets, plot, out / "latest.json")
    table = markdown(result, targets, plot)
    (out / "latest.md").write_text(table)
    print(table)
    say(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
