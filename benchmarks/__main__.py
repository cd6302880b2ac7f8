"""``python -m benchmarks``: every group, interleaved in one process, one table.

``python -m benchmarks`` is the full run (about two minutes), ``--quick`` a smoke run
with tiny counts (figures meaningless), ``--profile`` also profiles the lean and audited paths.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import _features as F
from benchmarks import (
    alternatives,
    curves,
    downstream,
    hotpath,
    mcp_load,
    overhead,
    redaction,
    targets,
)
from benchmarks._context import Env
from benchmarks._harness import Harness
from benchmarks._report import render
from benchmarks._services import RedisServer


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    parser.add_argument("--rounds", type=int, help="rounds per case (default 21, quick 3)")
    parser.add_argument("--batch-ms", type=float, help="time per case per round (default 20)")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the lean and audited paths"
    )
    parser.add_argument("--no-processes", action="store_true", help="skip the process curve")
    parser.add_argument(
        "--only", default="", help="comma-separated case key prefixes, e.g. lean,denied,policy."
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    quick = options.quick
    rounds = options.rounds or (3 if quick else 21)
    batch_ms = options.batch_ms or (1.0 if quick else 20.0)
    began = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {text}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="guardrail-bench-") as tmp:
        workdir = Path(tmp)
        redis = RedisServer(workdir)
        if not redis.start():
            say(f"redis: {redis.error}")
        harness = Harness(rounds=rounds, batch_ms=batch_ms)
        only = tuple(p for p in options.only.split(",") if p)
        env = Env(quick=quick, workdir=workdir, harness=harness, redis=redis, only=only)
        try:
            say("setting up group 1 (overhead)")
            overhead.add(env)
            say("setting up group 2 (alternatives)")
            alternatives.add(env)
            say("setting up group 3 (curves)")
            curves.add(env)
            downstream.add(env)
            say(f"timing {len(harness.cases)} cases x {rounds} rounds, interleaved")
            harness.run(progress=say if not quick else None)
            if not options.no_processes and not only:
                say("process curve on one Redis")
                curves.processes(env)
            if not only:
                say("group 6: import time, group commit, event-loop stalls")
                targets.add(env)
                redaction.add(env)
                say("group 7: an MCP server under load, plain vs protected")
                mcp_load.add(env)
            profile = ""
            if options.profile:
                say("profiling the lean path")
                calls = 2_000 if quick else 100_000
                audited = hotpath.profile(calls // 5, "audited", env.workdir)
                profile = "\n\n".join([hotpath.stages(calls // 2), hotpath.profile(calls), audited])
        finally:
            for cleanup in reversed(env.cleanups):
                try:
                    cleanup()
                except Exception as exc:  # keep cleaning up
                    say(f"cleanup: {exc}")
            harness.close()
            redis.stop()
    print(header(argv, rounds, batch_ms, time.perf_counter() - began))
    print(render(env))
    if profile:
        print()
        print(profile)
    return 0


def header(argv: list[str] | None, rounds: int, batch_ms: float, seconds: float) -> str:
    args = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    landed = ", ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in F.landed().items())
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"guardrail benchmarks  `python -m benchmarks {args}`".rstrip(),
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores, load {load}; {rounds} rounds x ~{batch_ms:g} ms per case, "
            f"all cases shuffled within each round; took {seconds:.0f}s",
            f"landed: {landed}",
            "figures in us: median, min, max of wall-clock time over rounds, and the median CPU "
            "time of this process (all threads; excludes waiting on sockets); 'over raw' "
            "subtracts the raw call timed in the same round",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
