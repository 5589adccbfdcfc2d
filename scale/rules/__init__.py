"""Pure rules of the benchmark: the page figures, the targets and their verdicts."""
