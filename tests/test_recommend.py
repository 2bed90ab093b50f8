"""Unit tests of the recommender's parts: generalisation and intersection, quotas,
diffs, exceptions and grace, bad input, shared policies, and the CLI's refusals."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from recommender.errors import ConfigError, InvariantError
from recommender.recommend.diff import role_diff
from recommender.recommend.exceptions import ExceptionRule, RecommendConfig, load_config
from recommender.recommend.explain import code
from recommender.recommend.invariants import enforce
from recommender.recommend.minimize import Expander, compress_actions, minimize_role, trim_shared
from recommender.recommend.model import (
    ActionInfo,
    ActionStatus,
    Catalog,
    Observation,
    Policy,
    RoleInput,
)
from recommender.recommend.quotas import MANAGED_POLICY_LIMIT, policy_size, split_statements
from recommender.recommend.resources import (
    GeneralizeConfig,
    drop_redundant,
    generalise,
    pattern_within,
    scope_to_original,
)

AS_OF = date(2026, 10, 30)
ACCT = "111122223333"
CAT = Catalog(
    [
        ActionInfo("s3:GetObject", ("object",)),
        ActionInfo("s3:GetObjectAcl", ("object",)),
        ActionInfo("s3:PutObject", ("object",)),
        ActionInfo("s3:DeleteObject", ("object",)),
        ActionInfo("s3:ListBucket", ("bucket",)),
        ActionInfo("s3:ListAllMyBuckets", ()),
        ActionInfo("s3:GetBucketPolicy", ("bucket",)),
        ActionInfo("sqs:ReceiveMessage", ("queue",)),
        ActionInfo("sqs:DeleteMessage", ("queue",)),
        ActionInfo("iam:PassRole", ("role",)),
    ]
)


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def role(policies, observations=(), statuses=None, created=date(2025, 1, 1), name="agent-a"):
    statuses = dict(statuses or {})
    for o in observations:
        statuses.setdefault(
            o.action.lower(), ActionStatus(o.action, "used", o.calls, last_seen=AS_OF)
        )
    return RoleInput(
        f"arn:aws:iam::{ACCT}:role/{name}",
        name,
        ACCT,
        tuple(policies),
        statuses,
        tuple(observations),
        created,
    )


def inline(d, name="p"):
    return Policy(f"inline:{name}", "inline", name, None, d)


def objects(prefix, n):
    return [
        Observation("s3:GetObject", f"arn:aws:s3:::{prefix}{i}.csv", 1, AS_OF) for i in range(n)
    ]


# ---- resources ----------------------------------------------------------------------


def test_generalise_folds_many_objects_under_one_prefix_only():
    cfg = GeneralizeConfig(min_siblings=3)
    arns = [f"arn:aws:s3:::b/builds/{i:03d}/app.zip" for i in range(5)] + ["arn:aws:s3:::b/one/x"]
    assert generalise(arns, cfg) == ["arn:aws:s3:::b/builds/*", "arn:aws:s3:::b/one/x"]
    assert generalise(arns[:2], cfg) == sorted(arns[:2])  # two siblings: below the threshold
    tables = [f"arn:aws:dynamodb:us-east-1:{ACCT}:table/T{i}" for i in range(5)]
    assert generalise(tables, cfg) == tables  # never table/*: the type, not a resource


def test_scoped_pattern_never_leaves_the_original_pattern():
    cfg = GeneralizeConfig(min_siblings=3)
    arns = [f"arn:aws:s3:::b/data/{i}.csv" for i in range(4)]
    assert scope_to_original(arns, "arn:aws:s3:::b/*", cfg) == ["arn:aws:s3:::b/data/*"]
    # b/data/* is not inside b/data/*.csv: the narrower original pattern wins
    assert scope_to_original(arns, "arn:aws:s3:::b/data/*.csv", cfg) == [
        "arn:aws:s3:::b/data/*.csv"
    ]
    # ... and with an original that neither contains nor is inside it: the ARNs themselves
    assert scope_to_original(arns, "arn:aws:s3:::b/data/?.csv", cfg) == [
        "arn:aws:s3:::b/data/?.csv"
    ]
    assert scope_to_original(arns[:2], "arn:aws:s3:::b/d*", cfg) == arns[:2]
    # too many entries: keep the original rather than a 1,000-line policy
    many = [f"arn:aws:s3:::b/{i}/x/{j}" for i in range(30) for j in range(2)]
    assert scope_to_original(
        many, "arn:aws:s3:::b/*", GeneralizeConfig(min_siblings=3, max_resources=10)
    ) == ["arn:aws:s3:::b/*"]


def test_pattern_within_and_redundancy():
    assert pattern_within("arn:aws:s3:::b/x/*", "arn:aws:s3:::b/*")
    assert not pattern_within("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*")
    assert not pattern_within("arn:aws:s3:::b?/*", "arn:aws:s3:::b/*")
    assert pattern_within("arn:aws:s3:::b/x?", "arn:aws:s3:::b/x*")
    assert drop_redundant(["arn:aws:s3:::b/x/1", "arn:aws:s3:::b/x/*", "arn:aws:s3:::c"]) == [
        "arn:aws:s3:::b/x/*",
        "arn:aws:s3:::c",
    ]


# ---- the minimizer ------------------------------------------------------------------


def test_only_used_actions_stay_scoped_with_conditions_carried_over():
    cond = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    p = inline(
        doc(
            {
                "Sid": "Data",
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": cond,
            },
            {
                "Sid": "Queue",
                "Effect": "Allow",
                "Action": ["sqs:*"],
                "Resource": f"arn:aws:sqs:us-east-1:{ACCT}:jobs",
            },
        )
    )
    obs = objects("b/in/", 4) + [
        Observation("sqs:ReceiveMessage", f"arn:aws:sqs:us-east-1:{ACCT}:jobs", 9, AS_OF)
    ]
    r = minimize_role(role([p], obs), CAT, RecommendConfig(), AS_OF, 90)
    assert r.verdict == "trim" and [k.action for k in r.kept] == [
        "s3:GetObject",
        "sqs:ReceiveMessage",
    ]
    trimmed = r.policies[0].recommended_document["Statement"]
    assert trimmed[0] == {
        "Sid": "Data",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/in/*",
        "Condition": cond,
    }
    assert trimmed[1]["Action"] == ["sqs:ReceiveMessage"] and trimmed[1]["Sid"] == "Queue"
    consolidated = r.consolidated[0]["document"]["Statement"]
    assert [s["Sid"] for s in consolidated] == ["S3Allow1", "SqsAllow1"]
    assert consolidated[0]["Condition"] == cond
    removed = {x.action for x in r.removed}
    assert {"s3:DeleteObject", "sqs:DeleteMessage"} <= removed
    enforce([r], Expander(CAT))


def test_action_without_resource_types_keeps_star_and_unknown_resource_keeps_original():
    p = inline(
        doc(
            {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:ListBucket"], "Resource": "*"}
        )
    )
    obs = [
        Observation("s3:ListAllMyBuckets", None, 3, AS_OF),
        Observation("s3:ListBucket", None, 2, AS_OF),
    ]
    r = minimize_role(role([p], obs), CAT, RecommendConfig(), AS_OF, 90)
    assert {k.action: k.resources for k in r.kept} == {
        "s3:ListAllMyBuckets": ["*"],
        "s3:ListBucket": ["*"],
    }
    assert r.resources_scoped == 0


def test_patterns_on_unobserved_buckets_are_kept_as_written_beside_the_used_ones():
    """The analysis lists a grant's patterns on buckets with no data event logged
    (``unobserved_resources``): they are kept exactly, the used bucket is scoped, and a
    bucket whose data events are logged loses what was never called."""
    results = "arn:aws:s3:::athena-results/reporting/*"
    p = inline(
        doc(
            {
                "Sid": "Curated",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::curated/*",
            },
            {
                "Sid": "Results",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": ["arn:aws:s3:::athena-results", results],
            },
        )
    )
    obs = objects("curated/in/", 4)
    statuses = {
        "s3:getobject": ActionStatus(
            "s3:GetObject", "used", 4, last_seen=AS_OF, unobserved_resources=(results,)
        ),
        "s3:putobject": ActionStatus(
            "s3:PutObject", "unobservable", why="...", unobserved_resources=(results,)
        ),
    }
    r = minimize_role(role([p], obs, statuses), CAT, RecommendConfig(), AS_OF, 90)
    kept = {k.action: k for k in r.kept}
    assert kept["s3:GetObject"].resources == [results, "arn:aws:s3:::curated/in/*"]
    assert kept["s3:PutObject"].resources == [results]  # not curated/*: never called there
    assert kept["s3:PutObject"].kind == "unobservable"
    for k in kept.values():
        assert (
            "kept: unobservable — no S3 data events are logged for bucket athena-results"
            in k.reasons
        )
    trimmed = r.policies[0].recommended_document["Statement"]
    assert trimmed[0] == {
        "Sid": "Curated",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": "arn:aws:s3:::curated/in/*",
    }
    assert trimmed[1]["Resource"] == [results] and trimmed[1]["Action"] == [
        "s3:GetObject",
        "s3:PutObject",
    ]
    enforce([r], Expander(CAT))
    # keep_unobservable = false: the unobserved patterns go too
    r = minimize_role(
        role([p], obs, statuses), CAT, RecommendConfig(keep_unobservable=False), AS_OF, 90
    )
    assert {k.action: k.resources for k in r.kept} == {
        "s3:GetObject": ["arn:aws:s3:::curated/in/*"]
    }


def test_no_activity_is_remove_or_review_not_an_empty_policy():
    p = inline(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    r = minimize_role(role([p]), CAT, RecommendConfig(), AS_OF, 90)
    assert r.verdict == "remove_or_review"
    assert "No successful call in the 90 days" in r.message and "remove the role" in r.message
    assert r.policies[0].change == "removed"


def test_skipped_role_says_why_and_changes_nothing():
    p = inline(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    base = role([p], objects("b/", 1))
    r = minimize_role(
        RoleInput(**{**base.__dict__, "skip_reason": "IAM load error: bad policy"}),
        CAT,
        RecommendConfig(),
        AS_OF,
        90,
    )
    assert r.verdict == "skipped" and "IAM load error" in r.message
    assert [c.change for c in r.policies] == ["unchanged"]


def test_exceptions_are_kept_and_labelled_expired_ones_flagged_not_honoured():
    p = inline(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}))
    live = ExceptionRule(
        "agent-*",
        "s3:Delete*",
        "quarterly cleanup",
        "data-team",
        date(2026, 12, 31),
        "r.toml exceptions[0]",
    )
    dead = ExceptionRule(
        "agent-*", "s3:PutObject", "old import", "ops", date(2026, 1, 1), "r.toml exceptions[1]"
    )
    r = minimize_role(
        role([p], objects("b/", 1)), CAT, RecommendConfig(exceptions=(live, dead)), AS_OF, 90
    )
    kept = {k.action: k for k in r.kept}
    assert kept["s3:DeleteObject"].kind == "exception"
    assert (
        "quarterly cleanup" in kept["s3:DeleteObject"].reasons[0]
        and "data-team" in kept["s3:DeleteObject"].reasons[0]
    )
    assert kept["s3:DeleteObject"].resources == ["arn:aws:s3:::b/*"]  # kept as granted
    assert "s3:PutObject" not in kept and r.expired_exceptions == [dead]


def test_grace_keeps_young_roles_and_recently_changed_policies():
    p = inline(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    young = minimize_role(
        role([p], created=AS_OF - timedelta(days=3)), CAT, RecommendConfig(grace_days=14), AS_OF, 90
    )
    assert young.verdict == "keep" and all(k.kind == "grace" for k in young.kept)
    assert "created 2026-10-27" in young.kept[0].reasons[0]
    fresh = Policy(
        "arn:new",
        "customer_managed",
        "new",
        "arn:new",
        doc({"Effect": "Allow", "Action": "sqs:DeleteMessage", "Resource": "*"}),
        updated=AS_OF - timedelta(days=2),
    )
    r = minimize_role(
        role([p, fresh], objects("b/", 1)), CAT, RecommendConfig(grace_days=14), AS_OF, 90
    )
    kept = {k.action: k for k in r.kept}
    assert (
        kept["sqs:DeleteMessage"].kind == "grace"
        and "policy new changed" in kept["sqs:DeleteMessage"].reasons[0]
    )
    assert "s3:PutObject" not in kept


def test_aws_managed_is_detached_and_shared_policy_trimmed_to_the_union():
    managed = Policy(
        "arn:aws:iam::aws:policy/S3Full",
        "aws_managed",
        "S3Full",
        "arn:aws:iam::aws:policy/S3Full",
        doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    )
    r = minimize_role(role([managed], objects("b/x/", 3)), CAT, RecommendConfig(), AS_OF, 90)
    assert r.policies[0].change == "detach" and r.policies[0].recommended_document is None
    assert r.new_policies[0]["replaces"] == ["arn:aws:iam::aws:policy/S3Full"]
    assert r.new_policies[0]["document"]["Statement"][0]["Resource"] == ["arn:aws:s3:::b/x/*"]

    arns = (f"arn:aws:iam::{ACCT}:role/agent-a", f"arn:aws:iam::{ACCT}:role/agent-b")
    shared = Policy(
        "arn:shared",
        "customer_managed",
        "shared",
        "arn:shared",
        doc(
            {
                "Sid": "Rw",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::b/*",
            }
        ),
        attached_to=arns,
    )
    a = minimize_role(
        role([shared], objects("b/a/", 1), name="agent-a"), CAT, RecommendConfig(), AS_OF, 90
    )
    b = minimize_role(
        role(
            [shared],
            [Observation("s3:PutObject", "arn:aws:s3:::b/out/1", 1, AS_OF)],
            name="agent-b",
        ),
        CAT,
        RecommendConfig(),
        AS_OF,
        90,
    )
    assert a.policies[0].change == "detach" and b.policies[0].change == "detach"
    union = trim_shared(shared, [a, b], CAT)
    assert union["Statement"][0]["Sid"] == "Rw"
    assert union["Statement"][0]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert union["Statement"][0]["Resource"] == ["arn:aws:s3:::b/a/0.csv", "arn:aws:s3:::b/out/1"]


def test_deny_statements_survive_trimming():
    p = inline(
        doc(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {
                "Sid": "NoSecrets",
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::b/secret/*",
            },
        )
    )
    r = minimize_role(role([p], objects("b/", 3)), CAT, RecommendConfig(), AS_OF, 90)
    sids = [s.get("Sid") for s in r.policies[0].recommended_document["Statement"]]
    assert "NoSecrets" in sids
    assert any(s["Effect"] == "Deny" for s in r.consolidated[0]["document"]["Statement"])


def test_wildcards_only_when_they_expand_to_exactly_the_kept_set():
    # s3:Get* would also grant s3:GetBucketPolicy: only GetObject* is exact
    assert compress_actions(["s3:GetObject", "s3:GetObjectAcl"], CAT) == ["s3:GetObject*"]
    assert compress_actions(["s3:GetObject", "s3:GetObjectAcl", "s3:GetBucketPolicy"], CAT) == [
        "s3:Get*"
    ]
    assert compress_actions(["s3:GetObject"], CAT) == ["s3:GetObject"]
    assert compress_actions(["sqs:ReceiveMessage", "sqs:DeleteMessage"], CAT) == ["sqs:*"]


def test_invariant_check_refuses_a_broadened_recommendation():
    p = inline(doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}))
    r = minimize_role(role([p], objects("b/", 1)), CAT, RecommendConfig(), AS_OF, 90)
    enforce([r], Expander(CAT))
    r.consolidated[0]["document"]["Statement"][0]["Resource"] = ["*"]
    with pytest.raises(InvariantError) as e:
        enforce([r], Expander(CAT))
    assert e.value.exit_code == 4
    assert (
        "agent-a" in str(e.value)
        and "invariant 2" in str(e.value)
        and "s3:getobject" in str(e.value)
    )
    r2 = minimize_role(role([p], objects("b/", 1)), CAT, RecommendConfig(), AS_OF, 90)
    r2.policies[0].recommended_document["Statement"][0]["Resource"] = "arn:aws:s3:::c/*"
    with pytest.raises(InvariantError, match=r"invariant 1 .*s3:GetObject on arn:aws:s3:::b/0.csv"):
        enforce([r2], Expander(CAT))


# ---- quotas -------------------------------------------------------------------------


def test_split_statements_fits_each_policy_in_the_quota_and_loses_nothing():
    statements = [
        {
            "Sid": f"S3Allow{i}",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::bucket-{i}/prefix-{j}/object" for j in range(40)],
        }
        for i in range(6)
    ]
    parts = split_statements(statements, "big")
    assert len(parts) > 1 and [p["name"] for p in parts] == [
        f"big-{i}" for i in range(1, len(parts) + 1)
    ]
    assert all(policy_size(p["document"]) <= MANAGED_POLICY_LIMIT for p in parts)
    before = {(s["Sid"], r) for s in statements for r in s["Resource"]}
    after = {
        (s["Sid"][: len("S3Allow0")], r)
        for p in parts
        for s in p["document"]["Statement"]
        for r in s["Resource"]
    }
    assert before == after
    one = [
        {
            "Sid": "Huge",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::b/{i:05d}-{'x' * 60}" for i in range(200)],
        }
    ]
    split = split_statements(one, "huge")
    assert all(policy_size(p["document"]) <= MANAGED_POLICY_LIMIT for p in split)
    assert sum(len(s["Resource"]) for p in split for s in p["document"]["Statement"]) == 200


def test_policy_size_ignores_whitespace():
    d = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert policy_size(d) == len(json.dumps(d, separators=(",", ":")))


# ---- diff and explanation -----------------------------------------------------------


def test_diff_shows_only_meaning_not_formatting():
    current = {
        "Statement": {
            "Resource": "*",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
        },
        "Version": "2012-10-17",
    }
    same = doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["*"]})
    entry = {
        "name": "r",
        "policies": [
            {
                "name": "p",
                "kind": "inline",
                "arn": None,
                "policy_key": "inline:p",
                "current_document": current,
                "recommended_document": same,
            }
        ],
    }
    assert role_diff(entry) == ""
    entry["policies"][0]["recommended_document"] = doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    )
    text = role_diff(entry)
    changed = [
        line
        for line in text.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        '-        "s3:GetObject",',
        '-        "s3:PutObject"',
        '+        "s3:GetObject"',
    ]


def test_markdown_code_spans_keep_attacker_text_inert():
    assert code("a|b") == "`a\\|b`"
    assert code("x`y") == "``x`y``"
    assert "<script>" in code("<script>")  # inside a code span Markdown shows it as text


# ---- config -------------------------------------------------------------------------


def test_config_file_is_validated_with_file_and_key_in_errors(tmp_path: Path):
    good = tmp_path / "recommender.toml"
    good.write_text(
        "[grace]\ndays = 7\n[generalize]\nmin_siblings = 5\n[other_stage]\nanything = 1\n"
        '[[exceptions]]\nrole = "agent-*"\naction = "s3:Delete*"\nreason = "cleanup"\nowner = "me"\nexpires = 2026-12-31\n'
    )
    cfg = load_config(good)
    assert cfg.grace_days == 7 and cfg.generalize.min_siblings == 5
    assert (
        cfg.exceptions[0].expires == date(2026, 12, 31)
        and cfg.exceptions[0].where == "recommender.toml exceptions[0]"
    )
    cases = {
        "[grace]\ndayz = 3\n": "grace.dayz",
        '[[exceptions]]\nrole = "a"\naction = "s3:X"\nreason = "r"\n': "missing key 'owner'",
        '[[exceptions]]\nrole = "a"\naction = "s3:X"\nreason = "r"\nowner = "o"\nexpires = "2026-01-01"\n': "exceptions[0].expires",
        '[generalize]\nmin_siblings = "3"\n': "generalize.min_siblings",
        "not toml [": "not valid TOML",
    }
    for text, needle in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError) as e:
            load_config(bad)
        assert "bad.toml" in str(e.value) and needle in str(e.value)


def test_no_cyclic_gc_pauses_the_collector_and_restores_its_state() -> None:
    import gc

    from recommender.gcpause import no_cyclic_gc

    assert gc.isenabled()
    with no_cyclic_gc():
        assert not gc.isenabled()
        with no_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves the outer pause alone
    assert gc.isenabled()
    gc.disable()
    try:
        with no_cyclic_gc():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()
    try:
        with no_cyclic_gc():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
