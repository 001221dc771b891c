"""A self-hosted stand-in for Akismet: the same HTTP protocol, answered by this project's model."""

# The most server processes `serve --processes` starts: the CLI, `python -m moderation.service` and the
# supervisor check this one number (here, so that the CLI need not import the supervisor to read it).
MAX_PROCESSES = 64
