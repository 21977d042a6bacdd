"""Schedules: decorators, cron, timings on APScheduler, the orchestrator and registry."""
