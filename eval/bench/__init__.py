"""Benchmarks: `python -m eval.bench [retrieval|llm|ingest]`, each against a baseline
measured in the same run; results in eval/bench/results/latest.json."""
