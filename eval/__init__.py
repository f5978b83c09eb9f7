"""Evaluation: gold sets, metrics, the eval runner and report, and benchmarks (eval/bench/)."""
