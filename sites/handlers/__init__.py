"""Operation kinds of the sites app, registered with the engine when the app loads."""

from sites.handlers import environment, jobs

__all__ = ["environment", "jobs"]
