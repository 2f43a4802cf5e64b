# Compiler settings shared by every project target: warnings, sanitizers,
# ccache. Project targets link gml::warnings; third-party headers come in as
# SYSTEM includes so their warnings never fail the build.
find_program(GML_CCACHE ccache)
if(GML_CCACHE)
  # ccache caches translation units that use a precompiled header only with
  # these sloppiness settings and -fpch-preprocess; the base directory makes
  # clones of the repository share one cache.
  set(GML_CCACHE_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=true ${GML_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${GML_CCACHE_LAUNCHER})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${GML_CCACHE_LAUNCHER})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fpch-preprocess>)
  endif()
endif()

add_library(gml_warnings INTERFACE)
add_library(gml::warnings ALIAS gml_warnings)
target_compile_options(gml_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wno-unused-parameter
  $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
  $<$<BOOL:${GML_WERROR}>:-Werror>)

if(GML_SANITIZE)
  set(GML_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
  add_compile_options(${GML_SANITIZER_FLAGS})
  # GCC 12's flow analysis under sanitizer instrumentation reports
  # maybe-uninitialized inside libstdc++ (std::regex, std::function); the
  # normal build keeps the warning as an error.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
  add_link_options(${GML_SANITIZER_FLAGS})
endif()

# Precompiled LibTorch headers: every LibTorch translation unit reuses the
# one PCH built by gml_torch_pch, so the heavy headers are parsed once.
# A PCH is only valid with identical code-generation flags, so executables
# are compiled -fPIC (not -fPIE) like the libraries; PIC objects link into
# PIE executables just the same.
function(gml_use_torch_pch target)
  if(TARGET gml_torch_pch)
    target_precompile_headers(${target} REUSE_FROM gml_torch_pch)
    get_target_property(_type ${target} TYPE)
    if(_type STREQUAL "EXECUTABLE")
      set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
      target_compile_options(${target} PRIVATE -fPIC)
    endif()
  endif()
endfunction()

# Unity (jumbo) builds of the GoogleTest executables under tests/: their
# sources are compiled in batches of GML_UNITY_TESTS_BATCH_SIZE files, so
# the LibTorch PCH, the gtest headers and the inline code both instantiate
# are loaded and compiled once per batch instead of once per file. Only test
# executables use it (never the libraries, never the fuzz targets); each
# test file keeps its own helpers under names no other file of its
# executable uses. -DGML_UNITY_TESTS=OFF compiles every file alone again.
set(GML_UNITY_TESTS_BATCH_SIZE 8 CACHE STRING "Test sources per unity batch")
function(gml_unity_test target)
  if(GML_UNITY_TESTS)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON
                          UNITY_BUILD_BATCH_SIZE ${GML_UNITY_TESTS_BATCH_SIZE})
    # GCC exempts types of the main file's anonymous namespace from this
    # warning; in a batch every test file but the first is an included one.
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
  endif()
endfunction()
