# Locates the real third-party libraries galaxyml builds on. Everything here
# is installed by scripts/bootstrap.sh on Debian 12.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CFITSIO REQUIRED IMPORTED_TARGET cfitsio)
pkg_check_modules(WCSLIB REQUIRED IMPORTED_TARGET wcslib)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(nlohmann_json 3.9 REQUIRED)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
if(GML_BUILD_EXAMPLES)
  find_package(Boost 1.71 REQUIRED COMPONENTS program_options)
endif()
if(GML_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# LibTorch. Any LibTorch >= 2.4 given through Torch_DIR or CMAKE_PREFIX_PATH
# wins; otherwise the torch wheel in the project's venv (.deps/venv).
set(GML_PYTHON "${PROJECT_SOURCE_DIR}/.deps/venv/bin/python" CACHE FILEPATH
    "Python whose torch package provides LibTorch when Torch_DIR is not set")
find_package(Torch 2.4 QUIET CONFIG)
if(NOT Torch_FOUND AND EXISTS "${GML_PYTHON}")
  execute_process(
    COMMAND "${GML_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _gml_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _gml_torch_rc)
  if(_gml_torch_rc EQUAL 0)
    list(APPEND CMAKE_PREFIX_PATH "${_gml_torch_prefix}")
  endif()
endif()
if(NOT Torch_FOUND)
  find_package(Torch 2.4 REQUIRED CONFIG)
endif()
get_filename_component(GML_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
message(STATUS "galaxyml: LibTorch ${Torch_VERSION} from ${GML_TORCH_LIBDIR}")
