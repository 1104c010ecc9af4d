"""mirror: a Git repository of JSON files kept in step with a Contentful space."""

__version__ = "0.1.0"
