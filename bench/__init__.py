"""Benchmarks and workload traces. `make bench` runs `python -m bench`: every benchmark in
one run, results to `bench/results/latest.json`, and the README's performance table."""
