"""Benchmarks: commands that measure speed and accuracy on real data and print JSON."""
