"""The Redis key layout and the read model that status reads."""
