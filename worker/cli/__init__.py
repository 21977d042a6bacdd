"""The command line: `worker COMMAND` (see `worker --help`)."""
