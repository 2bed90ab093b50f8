"""The stages wired together: the sample end to end, and facts that need several stages."""

from __future__ import annotations

import duckdb


def test_passrole_through_an_instance_profile_is_scoped_to_the_role(sample_db):
    """RunInstances names an instance profile; IAM checks PassRole against its role."""
    con = duckdb.connect(str(sample_db), read_only=True)
    resources = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT resource_arn FROM observed_actions "
            "WHERE action = 'iam:PassRole' AND principal_arn LIKE '%:role/ci-deploy'"
        ).fetchall()
    }
    assert "arn:aws:iam::111122223333:role/ec2-build-runner" in resources
    assert not any(":instance-profile/" in (r or "") for r in resources)
    profiles = con.execute("SELECT profile_arn, role_arn FROM instance_profiles").fetchall()
    assert (
        "arn:aws:iam::111122223333:instance-profile/ec2-build-runner",
        "arn:aws:iam::111122223333:role/ec2-build-runner",
    ) in profiles
