"""Tandem's benchmarks: `python -m benchmarks.run` measures and writes benchmarks/results/."""
