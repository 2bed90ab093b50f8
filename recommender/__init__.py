"""recommender: right-size AWS IAM roles from what CloudTrail shows they did.

The package reads like the pipeline: ``sources`` and ``ingest`` turn CloudTrail
files into DuckDB tables, ``catalog`` and ``grants`` model what each role may do,
``mapping`` and ``analysis`` join the two, ``recommend`` minimises, ``render``
writes reports and IaC changes. ``cli`` is a thin click layer over all of it.
"""

__version__ = "0.1.0"
