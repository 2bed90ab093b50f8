-- The recommend stage: one row per role and run (as_of, window), holding the role's
-- entry of recommendation.json, so the report and later runs can query it. No parameters.
CREATE TABLE IF NOT EXISTS recommendations (
    principal_arn    VARCHAR NOT NULL,
    as_of            DATE NOT NULL,
    window_days      INTEGER NOT NULL,
    verdict          VARCHAR NOT NULL,   -- trim | remove_or_review | keep | skipped
    actions_before   INTEGER,            -- catalog actions the identity policies allow today
    actions_after    INTEGER,            -- actions the recommendation keeps
    resources_scoped INTEGER,            -- kept actions whose resources became narrower
    entry            JSON,               -- the role's entry of recommendation.json
    generated_at     TIMESTAMP
);
