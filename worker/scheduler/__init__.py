"""Where fires are born: the orchestrator mounts tasks on APScheduler; the per-replica registry."""
