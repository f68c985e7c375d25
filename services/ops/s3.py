"""Optional copy of backup folders to an S3-compatible bucket (AWS S3, MinIO, Ceph, ...).

Configured by ERP_BACKUP_S3_URL=s3://bucket/prefix, ERP_BACKUP_S3_ENDPOINT (for non-AWS servers)
and the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION (or
ERP_BACKUP_S3_ACCESS_KEY / ERP_BACKUP_S3_SECRET_KEY). Needs boto3: `pip install '.[s3]'`.
Not exercised by the test suite (no S3 server on the test machines).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.ops.pgtools import is_stamp


@dataclass(frozen=True)
class S3Target:
    bucket: str
    prefix: str
    endpoint: str | None
    access_key: str | None
    secret_key: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3Target | None:
        url = env.get("ERP_BACKUP_S3_URL")
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError("ERP_BACKUP_S3_URL must look like s3://bucket/prefix")
        return cls(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint=env.get("ERP_BACKUP_S3_ENDPOINT") or None,
            access_key=env.get("ERP_BACKUP_S3_ACCESS_KEY") or None,
            secret_key=env.get("ERP_BACKUP_S3_SECRET_KEY") or None,
        )

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def client(self) -> Any:
        try:
            boto3 = importlib.import_module("boto3")
        except ModuleNotFoundError:
            raise RuntimeError("S3 upload needs boto3: pip install '.[s3]'") from None
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )


def upload(target: S3Target, folder: Path) -> list[str]:
    """Copy a backup folder's files to `<prefix>/<folder name>/`; returns the object keys."""
    client = target.client()
    keys = []
    for file in sorted(folder.iterdir()):
        if file.is_file():
            key = target.key(folder.name, file.name)
            client.upload_file(str(file), target.bucket, key)
            keys.append(key)
    return keys


def prune(target: S3Target, keep: int) -> list[str]:
    """Delete all but the newest `keep` backup folders under the prefix; returns the deleted folders."""
    client = target.client()
    base = target.key() + "/" if target.prefix else ""
    folders: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=base, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            name = common["Prefix"][len(base) :].rstrip("/")
            if is_stamp(name):
                folders.add(name)
    doomed = sorted(folders)[:-keep] if keep > 0 else sorted(folders)
    for name in doomed:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=f"{base}{name}/")
        for page in pages:
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                client.delete_objects(Bucket=target.bucket, Delete={"Objects": objects})
    return doomed
