# te_embed_lua(<target> <symbol-prefix> FILES a.lua b.lua ...)
# Generates a .cpp holding each file as a byte array plus a lookup table, so the
# trusted Lua code ships inside the binary (tarantool's lua_source()).
function(te_embed_lua target)
  cmake_parse_arguments(ARG "" "" "FILES" ${ARGN})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}_embedded.cpp")
  set(abs_files "")
  foreach(f IN LISTS ARG_FILES)
    list(APPEND abs_files "${CMAKE_SOURCE_DIR}/${f}")
  endforeach()
  string(REPLACE ";" "|" files_arg "${ARG_FILES}")  # a list would split the command line
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DROOT=${CMAKE_SOURCE_DIR} "-DFILES=${files_arg}"
            -P "${CMAKE_SOURCE_DIR}/cmake/embed_lua_run.cmake"
    DEPENDS ${abs_files} "${CMAKE_SOURCE_DIR}/cmake/embed_lua_run.cmake"
    COMMENT "Embedding Lua sources into ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()
