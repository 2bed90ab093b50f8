"""Render stage: turn recommendations into things people review.

Reports (HTML, JSON, Markdown) and IaC pull requests live in separate modules
of this package; they only read the recommendation document
(``recommendation.json``, see docs/architecture.md) and write files.
"""
