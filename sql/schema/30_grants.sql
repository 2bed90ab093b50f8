-- The grants stage: who is granted what (principals, policies, statements), the
-- statements expanded against the IAM catalog, and the effective access after
-- Deny / permissions boundary / SCP evaluation. Plus the IAM pattern macros the
-- later stages reuse. Run on connect (see db.ensure_schema); idempotent; no parameters.
-- Instance profiles and the role each one holds: iam:PassRole for RunInstances is
-- checked against the role, but CloudTrail names only the profile.
CREATE TABLE IF NOT EXISTS instance_profiles (
    account_id   VARCHAR,
    profile_arn  VARCHAR,
    profile_name VARCHAR,
    role_arn     VARCHAR
);
CREATE TABLE IF NOT EXISTS principals (
    principal_arn    VARCHAR PRIMARY KEY,
    principal_type   VARCHAR,        -- role | user
    account_id       VARCHAR,
    name             VARCHAR,
    path             VARCHAR,
    principal_id     VARCHAR,
    created          TIMESTAMP,
    trust_policy     JSON,           -- roles: the AssumeRolePolicyDocument, decoded
    tags             JSON,           -- {"key": "value", ...}
    boundary_arn     VARCHAR,
    last_used_at     TIMESTAMP,
    last_used_region VARCHAR,
    is_agent         BOOLEAN,
    agent_reason     VARCHAR,
    source_uri       VARCHAR
);
CREATE OR REPLACE VIEW roles AS SELECT * FROM principals WHERE principal_type = 'role';
CREATE TABLE IF NOT EXISTS policies (
    policy_key  VARCHAR PRIMARY KEY, -- managed: the ARN; inline: inline:<owner arn>:<name>; boundary:<arn>; scp:<id>
    policy_arn  VARCHAR,
    name        VARCHAR,
    kind        VARCHAR,             -- inline | aws_managed | customer_managed | boundary | scp
    account_id  VARCHAR,             -- 'aws' for AWS managed policies
    version_id  VARCHAR,             -- the default version of a managed policy
    document    JSON,
    created     TIMESTAMP,           -- managed: policy CreateDate
    updated     TIMESTAMP,           -- managed: CreateDate of the default version (when this document took effect)
    source_uri  VARCHAR
);
CREATE TABLE IF NOT EXISTS principal_policies (
    principal_arn VARCHAR,
    policy_key    VARCHAR,
    via           VARCHAR,           -- inline | managed | group:<name> | boundary | scp
    scp_level     VARCHAR            -- scp only: the target it is attached to (root, OU, account id or 'file'); every level must allow
);
CREATE TABLE IF NOT EXISTS statements (
    policy_key    VARCHAR,
    stmt_idx      INTEGER,           -- 0-based position in the document's Statement list
    sid           VARCHAR,
    effect        VARCHAR,           -- Allow | Deny
    actions       VARCHAR[],
    not_actions   VARCHAR[],
    resources     VARCHAR[],
    not_resources VARCHAR[],
    conditions    JSON               -- NULL when the statement has no Condition
);
-- Every action pattern of every statement, matched once against the catalog.
CREATE TABLE IF NOT EXISTS action_pattern_matches (
    pattern VARCHAR,
    action  VARCHAR
);
-- Statements expanded to catalog actions (NotAction already inverted); one row per
-- policy statement, shared by every principal the policy is attached to.
CREATE TABLE IF NOT EXISTS statement_actions (
    policy_key VARCHAR,
    stmt_idx   INTEGER,
    action     VARCHAR
);
-- Identity-policy statements (inline, managed, group) expanded per principal. One row per
-- resource pattern; for a NotResource statement one row per excluded pattern with
-- not_resource = true (the statement applies to a resource matching none of them).
-- Boundary and SCP statements are not repeated per principal: they live in
-- statement_actions and are joined through principal_policies.
CREATE TABLE IF NOT EXISTS grants (
    principal_arn    VARCHAR,
    action           VARCHAR,
    resource_pattern VARCHAR,
    not_resource     BOOLEAN,
    effect           VARCHAR,
    conditional      BOOLEAN,
    policy_key       VARCHAR,
    stmt_idx         INTEGER,
    via              VARCHAR
);
-- One row per identity Allow statement x catalog action x resource pattern, after
-- explicit Deny, boundary and SCP. except_resources: patterns carved out of
-- resource_pattern (an unconditional Deny on a narrower pattern, or the Allow's own
-- NotResource, in which case resource_pattern is '*').
CREATE TABLE IF NOT EXISTS effective_grants (
    principal_arn    VARCHAR,
    action           VARCHAR,
    resource_pattern VARCHAR,
    conditional      BOOLEAN,
    status           VARCHAR,        -- allowed | blocked
    reason           VARCHAR,
    policy_key       VARCHAR,
    stmt_idx         INTEGER,
    except_resources VARCHAR[]
);
CREATE TABLE IF NOT EXISTS iam_findings (
    principal_arn VARCHAR,
    policy_key    VARCHAR,
    stmt_idx      INTEGER,
    kind          VARCHAR,
    severity      VARCHAR,           -- high | medium | low | info
    detail        VARCHAR
);
CREATE TABLE IF NOT EXISTS iam_load_errors (
    file      VARCHAR,
    principal VARCHAR,
    policy    VARCHAR,
    stmt_idx  INTEGER,
    message   VARCHAR,
    loaded_at TIMESTAMP
);

-- ---- IAM pattern macros (Python twins in recommender/grants/patterns.py) ----
-- Policy variables (${aws:username}) stand for any text here: treated as '*'.
CREATE OR REPLACE MACRO iam_strip_variables(pattern) AS
    regexp_replace(pattern, '\$\{[^}]*\}', '*', 'g');
-- An IAM resource/ARN glob ('*' any run, '?' one character) as an RE2 regex.
CREATE OR REPLACE MACRO iam_glob_regex(pattern) AS
    replace(replace(
        regexp_replace(iam_strip_variables(pattern), '([.^$+()\[\]{}|\\])', '\\\1', 'g'),
        '*', '.*'), '?', '.');
-- Does an IAM resource pattern match a concrete ARN? Case-sensitive, like IAM.
CREATE OR REPLACE MACRO iam_resource_match(pattern, arn) AS
    pattern = '*' OR pattern = arn OR regexp_full_match(arn, iam_glob_regex(pattern));
-- An action pattern as a LIKE pattern over lower-case actions (escape '\').
CREATE OR REPLACE MACRO iam_action_like(pattern) AS
    replace(replace(replace(replace(replace(lower(pattern), '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_');
-- Does an IAM action pattern match an action? Case-insensitive '*' and '?'.
CREATE OR REPLACE MACRO iam_action_match(pattern, action) AS
    lower(action) LIKE iam_action_like(pattern) ESCAPE '\';
-- Does pattern d match every string pattern a matches? Sound, not complete: false when
-- unsure. d's '?' may not stand for a's '*'. A d with a policy variable never covers
-- (its value is unknown) unless it is '*'.
CREATE OR REPLACE MACRO iam_pattern_covers(d, a) AS
    d = '*' OR d = a OR (
        NOT contains(d, '${')
        AND regexp_full_match(
            iam_strip_variables(a),
            replace(replace(regexp_replace(d, '([.^$+()\[\]{}|\\])', '\\\1', 'g'), '*', '.*'), '?', '[^*]')
        )
    );
-- Can two IAM patterns match a common string? Conservative: true when unsure.
-- Exact when one side has no wildcard or no '*'; with '*' on both sides, compares the
-- literal text before the first and after the last '*'.
CREATE OR REPLACE MACRO iam_patterns_overlap(p, q) AS
    CASE
        WHEN p = '*' OR q = '*' OR p = q THEN true
        WHEN NOT contains(iam_strip_variables(p), '*') AND NOT contains(iam_strip_variables(p), '?')
            THEN regexp_full_match(p, iam_glob_regex(q))
        WHEN NOT contains(iam_strip_variables(q), '*') AND NOT contains(iam_strip_variables(q), '?')
            THEN regexp_full_match(q, iam_glob_regex(p))
        WHEN contains(iam_strip_variables(p), '?') OR contains(iam_strip_variables(q), '?') THEN true
        WHEN NOT contains(iam_strip_variables(p), '*') OR NOT contains(iam_strip_variables(q), '*') THEN true
        ELSE (
            starts_with(split_part(iam_strip_variables(p), '*', 1), split_part(iam_strip_variables(q), '*', 1))
            OR starts_with(split_part(iam_strip_variables(q), '*', 1), split_part(iam_strip_variables(p), '*', 1))
        ) AND (
            ends_with(regexp_extract(iam_strip_variables(p), '[^*]*$'), regexp_extract(iam_strip_variables(q), '[^*]*$'))
            OR ends_with(regexp_extract(iam_strip_variables(q), '[^*]*$'), regexp_extract(iam_strip_variables(p), '[^*]*$'))
        )
    END;
