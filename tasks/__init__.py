"""The shipped task services: crypto trigger, health check, history cleanup."""
