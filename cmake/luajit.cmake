# LuaJIT 2.1 built by scripts/setup.sh from Debian's luajit2 source package with
# LUAJIT_ENABLE_CHECKHOOK (see the comment there). Exposed as te::luajit; only
# engine/script may link it (third-party headers stay in their module).
set(TE_LUAJIT_PREFIX "${TE_DEPS_DIR}/luajit")
if(NOT EXISTS "${TE_LUAJIT_PREFIX}/lib/libluajit-5.1.a")
  message(FATAL_ERROR "LuaJIT not found in ${TE_LUAJIT_PREFIX}; run scripts/setup.sh (make does this)")
endif()
add_library(te_luajit STATIC IMPORTED GLOBAL)
set_target_properties(te_luajit PROPERTIES
  IMPORTED_LOCATION "${TE_LUAJIT_PREFIX}/lib/libluajit-5.1.a"
  INTERFACE_INCLUDE_DIRECTORIES "${TE_LUAJIT_PREFIX}/include"
  INTERFACE_LINK_LIBRARIES "dl;m")
add_library(te::luajit ALIAS te_luajit)
set(TE_LUAJIT_BIN "${TE_LUAJIT_PREFIX}/bin/luajit")
# The same build's interpreter compiles the trusted Lua to bytecode (cmake/embed_lua.cmake).
if(NOT EXISTS "${TE_LUAJIT_BIN}")
  message(FATAL_ERROR "${TE_LUAJIT_BIN} not found; run scripts/setup.sh (make does this)")
endif()
