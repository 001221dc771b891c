"""The compiled parts, declared here because pyproject.toml has no stable table for extensions.

All are optional: where no C compiler is found the build goes on without them, and
``moderation.model.ngrams``, ``explain``, ``signals`` and ``text`` do the same work in numpy or Python, to the
same bit (tests/test_ngrams.py, test_reasons_batch.py, test_signals.py and test_text_prechecks.py run
both forms).
"""

from setuptools import Extension, setup


def _optional(name: str, **options) -> Extension:
    return Extension(f"moderation.model.{name}", sources=[f"moderation/model/{name}.c"], optional=True, **options)


setup(
    ext_modules=[
        # No fused multiply-add (a CFLAGS of -march=native would allow one): the TF-IDF weights round as
        # numpy's separate multiplies and adds do, to the bit.
        _optional("_ngramcount", extra_compile_args=["-ffp-contract=off"]),
        _optional("_ranking"),
        _optional("_signals"),
        _optional("_text"),
    ]
)
