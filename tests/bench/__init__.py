"""Benchmarks, run as `python -m tests.bench NAME [--tickets N]` from the repository root.

Each benchmark prints one JSON line last on stdout:
{"bench": NAME, "ratio": R, "target": T, "pass": true|false, ...figures}
and exits 0 whether or not it passes (non-zero only on a crash). See docs/BENCHMARKS.md in the
shared docs for why every figure is compared with a baseline measured in the same run.
"""
