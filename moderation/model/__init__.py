"""What a comment is and how it is decided: the data model (thread.py), text analysis (text.py), the
feature blocks (features.py, ngrams.py), the fitted pipeline and its saved form (pipeline.py), the
verdict (decisions.py) and its reasons (explain.py). Nothing here trains, reads a labeled corpus or
serves HTTP; moderation/learning/ and moderation/service/ build on it."""
