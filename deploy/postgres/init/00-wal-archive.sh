#!/bin/sh
# Runs once, when the data volume is initialised: the folder archive_command copies WAL into
# (on the same volume as the data, so `erp basebackup` / `erp restore --to-time` can read it).
set -eu
mkdir -p /var/lib/postgresql/wal-archive
