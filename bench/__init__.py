"""Hangar's benchmarks (`make bench`); see docs/performance.md."""
