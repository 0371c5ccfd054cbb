# Compiler flags shared by every Strongroom target. Third-party headers are included as
# SYSTEM so their warnings do not drown ours.

# ccache: cache lives under the user's home (ccache's default), so later builds on the same
# machine reuse it. The sloppiness settings are what ccache needs to cache precompiled headers.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${CCACHE_PROGRAM})
endif()

add_library(strongroom_warnings INTERFACE)
target_compile_options(strongroom_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2)

if(STRONGROOM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

if(STRONGROOM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "STRONGROOM_FUZZ needs clang (libFuzzer): configure with CXX=clang++-14")
  endif()
  # -fno-sanitize=function: clang-14 cannot compile coroutines with it (LLVM issues 49689,
  # 54153: "Cannot represent a difference across sections").
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Hardening for every build type.
add_compile_options(-fstack-protector-strong -D_GLIBCXX_ASSERTIONS)
if(NOT STRONGROOM_SANITIZE AND NOT STRONGROOM_FUZZ AND CMAKE_BUILD_TYPE MATCHES "Rel")
  add_compile_definitions(_FORTIFY_SOURCE=2)
endif()
