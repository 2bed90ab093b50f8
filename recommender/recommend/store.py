"""The ``recommendations`` table: each run's role entries, queryable after the files."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from recommender import db
from recommender.errors import RecommenderError
from recommender.recommend.build import Recommendation


def save(con: duckdb.DuckDBPyConnection, rec: Recommendation) -> None:
    """Replace the stored recommendations for the same roles, day and window."""
    gen = rec.document["generated_from"]
    params = {"as_of": gen["as_of"], "window_days": gen["window_days"]}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN")
    try:
        db.run(
            con,
            "recommend/delete_recommendations",
            {**params, "principal_arns": [r["principal_arn"] for r in rec.document["roles"]]},
        )
        for r in rec.document["roles"]:
            db.run(
                con,
                "recommend/insert_recommendation",
                {
                    **params,
                    "principal_arn": r["principal_arn"],
                    "verdict": r["verdict"],
                    "actions_before": r["counts"]["actions_before"],
                    "actions_after": r["counts"]["actions_after"],
                    "resources_scoped": r["counts"]["resources_scoped"],
                    "entry": json.dumps(r, sort_keys=True),
                    "generated_at": now,
                },
            )
        con.execute("COMMIT")
    except RecommenderError:
        con.execute("ROLLBACK")
        raise
