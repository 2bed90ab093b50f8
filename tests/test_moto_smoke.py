import boto3


def test_moto_server_answers_over_http(aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="trail")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["trail"]
