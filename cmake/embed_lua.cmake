# te_embed_lua(<target> FILES a.lua b.lua ... [BYTECODE a.lua ...])
# Generates a .cpp holding each file as a byte array plus a lookup table, so the
# trusted Lua code ships inside the binary (tarantool's lua_source()). Files also
# named under BYTECODE are compiled at build time by the LuaJIT the engine links
# (cmake/lua_bytecode.lua) and ship as bytecode too: a VM loads them without
# parsing ~90 KB of Lua (about 1.5 ms per VM, once per runner and per command).
function(te_embed_lua target)
  cmake_parse_arguments(ARG "" "" "FILES;BYTECODE" ${ARGN})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}_embedded.cpp")
  set(abs_files "")
  foreach(f IN LISTS ARG_FILES)
    list(APPEND abs_files "${CMAKE_SOURCE_DIR}/${f}")
  endforeach()
  set(bc_dir "${CMAKE_CURRENT_BINARY_DIR}/bytecode")
  set(bc_files "")
  foreach(f IN LISTS ARG_BYTECODE)
    if(NOT f IN_LIST ARG_FILES)
      message(FATAL_ERROR "te_embed_lua: ${f} is under BYTECODE but not under FILES")
    endif()
    set(bc "${bc_dir}/${f}.bc")
    get_filename_component(bc_subdir "${bc}" DIRECTORY)
    add_custom_command(
      OUTPUT "${bc}"
      COMMAND ${CMAKE_COMMAND} -E make_directory "${bc_subdir}"
      COMMAND "${TE_LUAJIT_BIN}" "${CMAKE_SOURCE_DIR}/cmake/lua_bytecode.lua" "${CMAKE_SOURCE_DIR}/${f}" "@${f}" "${bc}"
      DEPENDS "${CMAKE_SOURCE_DIR}/${f}" "${CMAKE_SOURCE_DIR}/cmake/lua_bytecode.lua" "${TE_LUAJIT_BIN}"
      COMMENT "Compiling ${f} to LuaJIT bytecode"
      VERBATIM)
    list(APPEND bc_files "${bc}")
  endforeach()
  string(REPLACE ";" "|" files_arg "${ARG_FILES}")  # a list would split the command line
  string(REPLACE ";" "|" bc_arg "${ARG_BYTECODE}")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DROOT=${CMAKE_SOURCE_DIR} "-DFILES=${files_arg}" "-DBYTECODE=${bc_arg}" "-DBYTECODE_DIR=${bc_dir}"
            -P "${CMAKE_SOURCE_DIR}/cmake/embed_lua_run.cmake"
    DEPENDS ${abs_files} ${bc_files} "${CMAKE_SOURCE_DIR}/cmake/embed_lua_run.cmake"
    COMMENT "Embedding Lua sources into ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()
