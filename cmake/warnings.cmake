# Warnings for our own targets only (never third-party code): link te_warnings PRIVATE.
add_library(te_warnings INTERFACE)
target_compile_options(te_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough
  -Wold-style-cast -Wcast-align -Wnull-dereference -Wdouble-promotion -Wformat=2)
if(TE_WERROR)
  target_compile_options(te_warnings INTERFACE -Werror)
endif()
