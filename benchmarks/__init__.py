"""The benchmark suite: what the server costs an agent's context window first, then latency and scale.

`python -m benchmarks` runs every benchmark, prints a table per benchmark, writes the figures as JSON and exits
non-zero when a budget is missed; `--quick` runs each once on small data. See `benchmarks.cli`.
"""
