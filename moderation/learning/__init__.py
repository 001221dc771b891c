"""Learning from labeled comments: reading them (labeled.py, dataset.py, sources.py), training with
grouped cross-validation (training.py), measuring a model (evaluation.py, report.py) and retraining on
a site's corrections (retraining.py: the candidate and its judgement; the service's registry decides which
corrections and which model, moderation/service/registry.py). Scoring never imports this package, and
this package never imports the service."""
