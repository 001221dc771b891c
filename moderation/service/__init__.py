"""A self-hosted stand-in for Akismet: the same HTTP protocol, answered by this project's model."""
