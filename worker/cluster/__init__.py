"""The fleet: per-fire claims and leases, recovery of dead claimers, pause state, control."""
