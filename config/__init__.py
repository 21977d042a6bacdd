"""Typed settings of the application."""

from config.settings import Settings

__all__ = ["Settings"]
