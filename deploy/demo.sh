#!/usr/bin/env bash
# `make demo`: the whole service on this machine in about a minute. Starts the
# local broker and database, migrates, seeds the demo dataset, runs a worker,
# publishes sample kickoffs, shows the jobs and their report files, and stops
# everything it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cli=.venv/bin/report-worker
services="bash deploy/services.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

worker=""
services_started=false
cleanup() {
  if [ -n "$worker" ]; then
    say "Stopping the worker (SIGTERM)"
    kill -TERM "$worker" 2>/dev/null || true
    wait "$worker" || true
  fi
  if $services_started; then
    $services down
  fi
}
trap cleanup EXIT

$services status >/dev/null 2>&1 || services_started=true
say "Starting Kafka and PostgreSQL on 127.0.0.1"
eval "$($services up | grep '^export ')"
export REPORTS_STORAGE_URL="${REPORTS_STORAGE_URL:-file://$PWD/reports}"
export REPORTS_LOG_FORMAT="${REPORTS_LOG_FORMAT:-console}"

say "Migrating the database and loading the demo clinical dataset"
$cli migrate
$cli seed

say "Report templates"
$cli templates

say "Starting a worker (its log goes to .services/demo-worker.log)"
$cli run 2>.services/demo-worker.log &
worker=$!

new_id() { python3 -c 'import uuid; print(uuid.uuid4().hex.upper())'; }
rule_job=$(new_id)
subject_job=$(new_id)
failing_job=$(new_id)
study=CFD8129A430A473C8A02F4BA5DAAD865
user=123E4567E89B12D3A456426614174000

say "Publishing three kickoffs"
$cli kickoff --job-id "$rule_job" --mode test --study-id "$study" \
  --rpt-id AABB1234DD884FA1A9DC1AFDECBA1A35 --format CSV --user-id "$user" \
  --filter ruleState:list:approved --label "Rule state:list:Approved" \
  --comment "the reference page's example"
$cli kickoff --job-id "$subject_job" --mode active --study-id "$study" \
  --rpt-id 5E1F0C6A2B7D4E8F9A0B1C2D3E4F5A6B --format PDF --user-id "$user" \
  --filter enrolledOn:date:2024-01-01,2024-06-30 --filter randomized:boolean:true
$cli kickoff --job-id "$failing_job" --mode active --study-id "$study" \
  --rpt-id 5E1F0C6A2B7D4E8F9A0B1C2D3E4F5A6B --format CSV --user-id "$user" \
  --filter visitDay:date:2024-01-01

say "Waiting for the three jobs to finish"
for job in "$rule_job" "$subject_job" "$failing_job"; do
  for _ in $(seq 1 120); do
    state=$($cli status "$job" --json 2>/dev/null \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["rptStatCd"])' \
      || true)
    case "$state" in SUCCESS|FAILED) break ;; esac
    sleep 0.5
  done
  echo "job $job: ${state:-not found}"
done

say "The reference example's ExecutionLog"
$cli status "$rule_job"
say "Its history"
$cli history "$rule_job"
say "The job with an unknown filter"
$cli status "$failing_job" | grep -E 'rptStatCd|reason'

folder="${REPORTS_STORAGE_URL#file://}"
say "Report files in $folder"
file_of() {
  $cli status "$1" --json | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["fileStorageId"])'
}
csv="$folder/$(file_of "$rule_job").csv"
echo "--- $csv ($(($(wc -l <"$csv") - 1)) rows), first lines:"
head -n 4 "$csv"
pdf="$folder/$(file_of "$subject_job").pdf"
echo "--- $pdf: $(wc -c <"$pdf") bytes; open it with any PDF viewer"
