"""The lint engine, the cluster policy and the built-in rules (one module per category)."""
