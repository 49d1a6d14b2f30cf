#!/usr/bin/env bash
# Submit a night's analysis to AWS Batch: an array job of SHARDS shards (each container gets
# AWS_BATCH_JOB_ARRAY_INDEX, which `--shard SHARDS` reads), then the join, which starts when
# every child of the array succeeded (a dependency on the array's parent job).
#
#   deploy/aws-batch/submit.sh QUEUE SHARDS /data/manifest.jsonl /data/talktrace-out /data/ctr /data/final
#
# Register the definition once: aws batch register-job-definition --cli-input-json file://deploy/aws-batch/job-definition.json
# The manifest: talktrace manifest /data/recordings --out /data/manifest.jsonl (or from an S3
# listing, see the README). A retried child (retryStrategy) rewrites its shard's files and
# resumes from its cache; `talktrace join` refuses to run on missing or half-written shards.
set -euo pipefail
queue=$1 shards=$2 manifest=$3 out=$4 ctr=$5 final=$6
array=$(aws batch submit-job --job-name talktrace-shards --job-queue "$queue" --job-definition talktrace-shard \
  --array-properties "size=$shards" \
  --parameters "manifest=$manifest,shards=$shards,out=$out" \
  --query jobId --output text)
echo "shards: $array ($shards children)"
join=$(aws batch submit-job --job-name talktrace-join --job-queue "$queue" --job-definition talktrace-shard \
  --depends-on "jobId=$array" \
  --container-overrides "command=[\"join\",\"$out\",\"--ctr\",\"$ctr\",\"--out\",\"$final\"]" \
  --query jobId --output text)
echo "join: $join (after $array)"
