"""When: decorators, cron and interval schedules, timings (DST), next fires."""
