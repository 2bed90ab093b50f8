"""Recommend: from what each role did, the smallest policies that still allow it.

``minimize.py`` is the pure core (no database), ``resources.py`` scopes and
generalises resources, ``invariants.py`` proves each recommendation never breaks
an observed call and never broadens a grant, ``quotas.py`` keeps it inside IAM's
size limits, ``exceptions.py`` reads exceptions and grace from the config file,
``build.py`` reads the tables and assembles the ``recommendation.json`` document,
``diff.py``/``explain.py``/``write.py`` render the files a reviewer reads.
"""
