#!/bin/sh
# check_test_names.sh TE_TESTS: fails when a test case's name holds a ';' or
# starts with '-'. ctest takes a ';' as a list separator, so catch_discover_tests
# makes such a case into entries that run no test and still pass; a name
# starting with '-' reaches te_tests as an option it does not know.
if "$1" --list-test-names-only | grep -n ';'; then
  echo "test case names above contain ';': ctest would not run them (use ',')" >&2
  exit 1
fi
if "$1" --list-test-names-only | grep -n '^-'; then
  echo "test case names above start with '-': te_tests would read them as an option" >&2
  exit 1
fi
exit 0
