// SPDX-License-Identifier: BSD-3-Clause
// main.cpp - doctest's runner for the unit tests (no root, no kernel devices needed). The
// implementation switch, DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN, is set for this file by CMake:
// printers.hpp is force-included (and includes doctest) before this file's first line.
#include <doctest/doctest.h>
