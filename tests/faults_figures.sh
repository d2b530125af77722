#!/bin/sh
# faults_figures.sh BUILD_DIR - run the fault and load tests of a normal
# build and print only the lines RELIABILITY.md takes its figures from.
# RINGPROF_LOAD_SECONDS / RINGPROF_LOAD_CLIENTS shorten the load run.
set -eu
build=${1:?usage: faults_figures.sh BUILD_DIR}
cd "$build"
export RINGPROF_BUILD_DIR="$PWD"
status=0
tests/test_faults --jobs 1 2>&1 | grep -E '^faults: |Synthesis' || status=1
tests/test_faults_load --jobs 1 2>&1 | grep -E '^load: |Synthesis' || status=1
exit $status
