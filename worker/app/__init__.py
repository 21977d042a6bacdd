"""The application context: discovery, bootstrap order, signals, drain, one deadline."""
