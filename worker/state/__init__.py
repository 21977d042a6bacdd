"""The Redis key layout, the read model that status reads, and fleet control (`fleet`)."""
