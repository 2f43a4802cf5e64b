#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then builds and runs a C
# consumer once through find_package(galaxyml) and once through pkg-config.
set -euo pipefail
build="$1"; src="$2"; work="$3"; cmake="$4"
rm -rf "$work"; mkdir -p "$work"
prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix" --component Unspecified > "$work/install.log"
test -f "$prefix/include/galaxyml/galaxyml.h"
"$cmake" -S "$src/project" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log"
"$cmake" --build "$work/cmake-build" > "$work/build.log"
"$work/cmake-build/consumer"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c99 -Wall -Werror "$src/project/main.c" $(pkg-config --cflags --libs galaxyml) -o "$work/pc-consumer"
"$work/pc-consumer"
# The README's C example must keep compiling against the installed tree.
sed -n '/^```c$/,/^```$/p' "$src/../../README.md" | sed '1d;$d' > "$work/readme_example.c"
test -s "$work/readme_example.c"
cc -std=c99 -Wall -Werror "$work/readme_example.c" $(pkg-config --cflags --libs galaxyml) -o "$work/readme-example"
echo "README example compiles"
# The Fortran modules, where the build made them: find_package with the
# Fortran component, and pkg-config's galaxyml-fortran.
if [ -f "$prefix/lib/pkgconfig/galaxyml-fortran.pc" ]; then
  "$cmake" -S "$src/project_fortran" -B "$work/fortran-build" -DCMAKE_PREFIX_PATH="$prefix" \
    > "$work/fortran-configure.log"
  "$cmake" --build "$work/fortran-build" > "$work/fortran-build.log"
  "$work/fortran-build/consumer"
  gfortran "$src/project_fortran/main.f90" $(pkg-config --cflags --libs galaxyml-fortran) \
    -o "$work/pc-fortran-consumer"
  "$work/pc-fortran-consumer"
fi
