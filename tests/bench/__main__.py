"""Command line: `python -m tests.bench {api_open,asof,bulletin,catchup,cluster,commands,http,lag,memory,
queries,seal,standard}
[--tickets N]`.

`--tickets N` sizes every benchmark by tickets: `catchup` writes 5 × N events (about 0.85 N
tickets; the default 40,000 gives 200,000 events), `lag` takes N tickets through six commands
each at 200 commands/s, `cluster` writes the same history into SQLite and PostgreSQL (see each
module's docstring).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

# name -> default number of tickets
BENCHES = {"catchup": 40_000, "standard": 1000, "commands": 20_000, "lag": 700, "memory": 100_000,
           "queries": 100_000, "http": 100_000, "api_open": 0, "bulletin": 100_000,
           "seal": 200_000, "asof": 100_000, "cluster": 20_000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("name", choices=sorted(BENCHES))
    parser.add_argument("--tickets", type=int, default=None,
                        help=f"how many tickets (default: {BENCHES})")
    args = parser.parse_args(argv)
    tickets = args.tickets if args.tickets is not None else BENCHES[args.name]
    if tickets < 0 or (tickets == 0 and BENCHES[args.name] != 0):
        parser.error("--tickets must be at least 1")
    module = importlib.import_module(f"tests.bench.{args.name}")
    result = module.run(tickets)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
