"""The one compiled part, declared here because pyproject.toml has no stable table for extensions.

``moderation/model/_ngramcount.c`` is optional: where no C compiler is found the build goes on without
it and ``moderation.model.ngrams`` counts with numpy, to the same bit (tests/test_ngrams.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "moderation.model._ngramcount",
            sources=["moderation/model/_ngramcount.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
