"""Property tests: the recommendation invariants hold over random policies and calls.

The checks here re-derive "allowed" with their own small evaluator (fnmatch over
a finite universe of ARNs) rather than trusting ``invariants.py``, and also assert
that ``invariants.py`` itself finds nothing, so a bug in either shows up.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from fnmatch import fnmatchcase

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.recommend.exceptions import ExceptionRule, RecommendConfig
from recommender.recommend.invariants import role_problems
from recommender.recommend.minimize import Expander, minimize_role
from recommender.recommend.model import (
    ActionInfo,
    ActionStatus,
    Catalog,
    Observation,
    Policy,
    RoleInput,
)
from recommender.recommend.resources import GeneralizeConfig

AS_OF = date(2026, 10, 30)
ACCT = "111122223333"

CATALOG = Catalog(
    [
        ActionInfo("s3:GetObject", ("object",)),
        ActionInfo("s3:GetObjectTagging", ("object",)),
        ActionInfo("s3:PutObject", ("object",)),
        ActionInfo("s3:DeleteObject", ("object",)),
        ActionInfo("s3:ListBucket", ("bucket",)),
        ActionInfo("s3:GetBucketPolicy", ("bucket",)),
        ActionInfo("s3:ListAllMyBuckets", ()),
        ActionInfo("dynamodb:GetItem", ("table",)),
        ActionInfo("dynamodb:PutItem", ("table",)),
        ActionInfo("dynamodb:Query", ("table", "index")),
        ActionInfo("dynamodb:ListTables", ()),
        ActionInfo("iam:PassRole", ("role",)),
        ActionInfo("sts:GetCallerIdentity", ()),
    ]
)
ACTIONS = [a.action for a in CATALOG.by_lc.values()]

T = f"arn:aws:dynamodb:us-east-1:{ACCT}:table"
UNIVERSE = [
    "arn:aws:s3:::b1",
    "arn:aws:s3:::b2",
    *(f"arn:aws:s3:::b1/a/{i}.csv" for i in range(5)),
    "arn:aws:s3:::b1/a/x/y.json",
    "arn:aws:s3:::b1/c/1.txt",
    "arn:aws:s3:::b2/k",
    "arn:aws:s3:::b3/a/1.csv",
    f"{T}/T1",
    f"{T}/T2",
    f"{T}/T1/index/I",
    f"arn:aws:iam::{ACCT}:role/R1",
    f"arn:aws:iam::{ACCT}:role/R2",
]
# Extra ARNs nobody observes, so "broader" shows even where no call went.
UNSEEN = [
    "arn:aws:s3:::b1/a/zz.csv",
    "arn:aws:s3:::b1/other",
    "arn:aws:s3:::b9/a/1.csv",
    f"{T}/T9",
    f"arn:aws:iam::{ACCT}:role/Admin",
    "arn:aws:s3:::b1/a/",
]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::b1",
    "arn:aws:s3:::b1/*",
    "arn:aws:s3:::b1/a/*",
    "arn:aws:s3:::b1/a/*.csv",
    "arn:aws:s3:::*",
    "arn:aws:s3:::b?/*",
    "arn:aws:s3:::b1/a/1.csv",
    f"{T}/T1",
    f"{T}/*",
    f"{T}/T1*",
    f"arn:aws:iam::{ACCT}:role/R*",
    f"arn:aws:iam::{ACCT}:role/R1",
]
ACTION_PATTERNS = [
    "*",
    "s3:*",
    "s3:Get*",
    "s3:*Object",
    "s3:ListBucket",
    "S3:getobject",
    "s3:GetObject?agging",
    "dynamodb:*",
    "dynamodb:Get*",
    "dynamodb:Query",
    "iam:PassRole",
    "sts:GetCallerIdentity",
    "s3:NoSuchAction",
]
CONDITIONS = [
    {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
    {"Bool": {"aws:SecureTransport": "true"}},
]


@st.composite
def statements(draw):
    stmt: dict = {"Effect": draw(st.sampled_from(["Allow"] * 6 + ["Deny"]))}
    if draw(st.integers(0, 9)) == 0:
        stmt["NotAction"] = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2))
    else:
        acts = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3))
        stmt["Action"] = acts[0] if len(acts) == 1 and draw(st.booleans()) else acts
    if draw(st.integers(0, 9)) == 0:
        stmt["NotResource"] = draw(
            st.lists(st.sampled_from(RESOURCE_PATTERNS[1:]), min_size=1, max_size=2)
        )
    else:
        stmt["Resource"] = draw(
            st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3)
        )
    if draw(st.integers(0, 3)) == 0:
        stmt["Condition"] = draw(st.sampled_from(CONDITIONS))
    if draw(st.booleans()):
        stmt["Sid"] = f"Orig{draw(st.integers(0, 99))}"
    return stmt


@st.composite
def roles(draw):
    n = draw(st.integers(1, 3))
    policies = []
    for i in range(n):
        kind = draw(st.sampled_from(["inline", "customer_managed", "aws_managed"]))
        doc = {
            "Version": "2012-10-17",
            "Statement": draw(st.lists(statements(), min_size=1, max_size=3)),
        }
        updated = AS_OF - timedelta(days=draw(st.sampled_from([3, 400])))
        arn = (
            None
            if kind == "inline"
            else f"arn:aws:iam::{ACCT if kind != 'aws_managed' else 'aws'}:policy/P{i}"
        )
        policies.append(Policy(f"{kind}:P{i}", kind, f"P{i}", arn, doc, updated=updated))
    obs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ACTIONS),
                st.one_of(st.none(), st.sampled_from(UNIVERSE)),
                st.integers(1, 9),
            ),
            max_size=10,
        )
    )
    observations = tuple(Observation(a, r, c, AS_OF - timedelta(days=c)) for a, r, c in obs)
    statuses = {}
    for a in draw(st.lists(st.sampled_from(ACTIONS), max_size=3)):
        statuses[a.lower()] = ActionStatus(a, "unobservable", why="not logged")
    for a, r, c in obs:
        statuses[a.lower()] = ActionStatus(a, "used", c, last_seen=AS_OF)
    created = AS_OF - timedelta(days=draw(st.sampled_from([5, 900])))
    role = RoleInput(
        f"arn:aws:iam::{ACCT}:role/agent-x",
        "agent-x",
        ACCT,
        tuple(policies),
        statuses,
        observations,
        created,
    )
    config = RecommendConfig(
        grace_days=draw(st.sampled_from([0, 14])),
        generalize=GeneralizeConfig(
            min_siblings=draw(st.sampled_from([2, 3])), max_resources=draw(st.sampled_from([2, 25]))
        ),
        allow_wildcards=draw(st.booleans()),
        exceptions=tuple(
            ExceptionRule("agent-*", pat, "on purpose", "team", exp, "test exceptions[0]")
            for pat, exp in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(["s3:Delete*", "dynamodb:PutItem"]),
                        st.sampled_from([None, date(2026, 1, 1)]),
                    ),
                    max_size=1,
                )
            )
        ),
    )
    return role, config


# ---- an independent evaluator -------------------------------------------------------


def _list(v):
    return [v] if isinstance(v, str) else list(v or [])


def _cond(stmt):
    items = set()
    for op, block in (stmt.get("Condition") or {}).items():
        for k, v in block.items():
            items.add((op, k.lower(), json.dumps(sorted(_list(v)))))
    return frozenset(items)


def _act(pattern, action):
    return fnmatchcase(action.lower(), pattern.lower())


def _allowed(docs, action, arn):
    """Condition sets under which (action, arn) is allowed; [] when not allowed."""
    conds = []
    for doc in docs:
        for s in (
            _list(doc["Statement"]) if isinstance(doc["Statement"], list) else [doc["Statement"]]
        ):
            if "NotAction" in s:
                hit = not any(_act(p, action) for p in _list(s["NotAction"]))
            else:
                hit = any(_act(p, action) for p in _list(s["Action"]))
            if "NotResource" in s:
                rhit = not any(fnmatchcase(arn, p) for p in _list(s["NotResource"]))
            else:
                rhit = any(fnmatchcase(arn, p) for p in _list(s["Resource"]))
            if not (hit and rhit):
                continue
            if s["Effect"] == "Deny":
                if not s.get("Condition"):
                    return []
                continue
            conds.append(_cond(s))
    return conds


def _assert_view(role, docs, view):
    current = [p.document for p in role.policies]
    for a in ACTIONS:
        for arn in UNIVERSE + UNSEEN:
            cur = _allowed(current, a, arn)
            for rc in _allowed(docs, a, arn):
                assert any(cc <= rc for cc in cur), (
                    f"{view}: broader: {a} on {arn} under {sorted(rc)}"
                )
    for o in role.observations:
        if o.resource is None:
            continue
        for cc in _allowed(current, o.action, o.resource):
            rec = _allowed(docs, o.action, o.resource)
            assert any(rc <= cc for rc in rec), (
                f"{view}: breaks observed {o.action} on {o.resource}"
            )


# Modest counts keep the suite fast; CI can raise them with a hypothesis profile.
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(roles())
def test_recommendation_never_breaks_a_call_and_never_broadens(case):
    role, config = case
    result = minimize_role(role, CATALOG, config, AS_OF, 90)
    assert role_problems(result, Expander(CATALOG)) == []
    _assert_view(role, result.inplace_documents(), "per-policy view")
    _assert_view(role, result.consolidated_documents(), "consolidated view")


@SETTINGS
@given(roles(), st.randoms(use_true_random=False))
def test_same_inputs_in_any_order_give_identical_output(case, rnd: random.Random):
    from recommender.recommend.build import role_entry

    role, config = case
    shuffled_obs = list(role.observations)
    rnd.shuffle(shuffled_obs)
    shuffled_status = dict(sorted(role.statuses.items(), key=lambda kv: rnd.random()))
    other = RoleInput(
        role.principal_arn,
        role.name,
        role.account_id,
        tuple(reversed(role.policies)),
        shuffled_status,
        tuple(shuffled_obs),
        role.created,
    )
    a = json.dumps(role_entry(minimize_role(role, CATALOG, config, AS_OF, 90)), sort_keys=True)
    b = json.dumps(role_entry(minimize_role(other, CATALOG, config, AS_OF, 90)), sort_keys=True)
    assert a == b


@SETTINGS
@given(roles())
def test_wildcards_expand_to_exactly_the_kept_actions(case):
    role, config = case
    from dataclasses import replace

    plain = minimize_role(role, CATALOG, replace(config, allow_wildcards=False), AS_OF, 90)
    wild = minimize_role(role, CATALOG, replace(config, allow_wildcards=True), AS_OF, 90)

    def expanded(result):
        out = set()
        for doc in result.consolidated_documents():
            for s in doc["Statement"]:
                if s["Effect"] == "Allow":
                    res = tuple(s.get("Resource", s.get("NotResource")))
                    for p in s["Action"]:
                        for a in CATALOG.expand(p) or [p.lower()]:
                            out.add((a, res, json.dumps(s.get("Condition"), sort_keys=True)))
        return out

    assert expanded(plain) == expanded(wild)
