#!/usr/bin/env bash
# npm test: every suite, summed into one "N passed, N failed" line.
exec node test/run-all.mjs "$@"
