#!/bin/sh
# check_test_names.sh TE_TESTS: fails when a test case's name holds a ';'.
# ctest takes it as a list separator, so catch_discover_tests makes such a
# case into entries that run no test and still pass.
if "$1" --list-test-names-only | grep -n ';'; then
  echo "test case names above contain ';': ctest would not run them (use ',')" >&2
  exit 1
fi
exit 0
