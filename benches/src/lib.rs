//! Shared inputs for the edgerank benchmarks.
