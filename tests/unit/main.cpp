// main.cpp - doctest's runner for the unit tests (no root, no kernel devices needed).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
