"""IaC pull requests: apply a recommendation to Terraform, CloudFormation and policy JSON files.

``create_pull_request`` is the entry point; ``locate`` decides the edits,
``policyedit`` maps recommended statements back onto the written ones, and
``terraform`` / ``cloudformation`` / ``policyjson`` know each syntax.
"""

from recommender.render.iac.pr import PrResult, create_pull_request, validate_recommendation

__all__ = ["PrResult", "create_pull_request", "validate_recommendation"]
