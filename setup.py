"""The compiled parts, declared here because pyproject.toml has no stable table for extensions.

Both are optional: where no C compiler is found the build goes on without them, and
``moderation.model.ngrams`` and ``moderation.model.explain`` do the same work with numpy, to the same
bit (tests/test_ngrams.py and tests/test_reasons_batch.py run both forms).
"""

from setuptools import Extension, setup


def _optional(name: str) -> Extension:
    return Extension(f"moderation.model.{name}", sources=[f"moderation/model/{name}.c"], optional=True)


setup(ext_modules=[_optional("_ngramcount"), _optional("_ranking")])
