"""``python -m controlpanel.demo_storage --port 8002``: the demo's object storage.

`make run` starts this beside the sandbox cluster: an S3 API server (moto, from the dev
extra) on the loopback, with the bucket the demo's sandbox cluster backs up to. Like the
sandbox it keeps everything in memory: what it holds goes when `make run` stops.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

DEMO_BUCKET = "hangar-demo"
# moto accepts any keys; these only have to match the sandbox cluster's settings.
DEMO_KEYS = {"aws_access_key_id": "hangar-demo", "aws_secret_access_key": "hangar-demo-secret"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m controlpanel.demo_storage")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args(argv)
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # the dev extra is missing: the demo goes without backups
        print(f"demo storage: not started, {exc}", flush=True)
        return
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    url = f"http://{args.host}:{args.port}"
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **DEMO_KEYS)
    s3.create_bucket(Bucket=DEMO_BUCKET)
    # moto answers a multipart upload to an unversioned bucket with the version id "null",
    # then refuses rclone's HEAD of it; real S3, Spaces and MinIO do not. Versioning avoids it.
    s3.put_bucket_versioning(Bucket=DEMO_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    print(f"demo storage (S3 API) listening on {url}, bucket {DEMO_BUCKET}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
