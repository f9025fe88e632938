// SPDX-License-Identifier: BSD-3-Clause
// privileges_test.cpp - the part of --user that can be checked without changing the process:
// reading the capability sets from a /proc/PID/status text.
#include "privileges.hpp"

#include <doctest/doctest.h>

using tunstack::app::parse_capability_sets;

TEST_CASE("privileges: capability sets are read from /proc/PID/status lines") {
  const auto root = parse_capability_sets(
      "Name:\ttunstack\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
      "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n");
  REQUIRE(root.has_value());
  CHECK(root->effective == 0x1ffffffffffULL);
  CHECK(root->permitted == 0x1ffffffffffULL);
  CHECK(root->inheritable == 0);
  CHECK(root->ambient == 0);
  CHECK(root->bounding == 0x1ffffffffffULL);
  CHECK_FALSE(root->empty());

  const auto net_admin = parse_capability_sets("CapInh:\t0000000000000000\nCapPrm:\t0000000000001000\n"
                                               "CapEff:\t0000000000001000\n");  // no CapAmb: Linux < 4.3
  REQUIRE(net_admin.has_value());
  CHECK(net_admin->effective == (1ULL << 12));  // CAP_NET_ADMIN
  CHECK(net_admin->bounding == ~0ULL);  // not in the text: assume everything

  const auto bounded = parse_capability_sets("CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0000000000000000\n");
  REQUIRE(bounded.has_value());
  CHECK(bounded->bounding == 0);
  CHECK(bounded->empty());

  const auto none = parse_capability_sets("CapInh:\t0\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
                                          "CapAmb:\t0000000000000000");
  REQUIRE(none.has_value());
  CHECK(none->empty());
}

TEST_CASE("privileges: a status text without the sets, or with garbage in them, gives nothing") {
  CHECK_FALSE(parse_capability_sets("").has_value());
  CHECK_FALSE(parse_capability_sets("CapPrm:\t0\nCapEff:\t0\n").has_value());  // no CapInh
  CHECK_FALSE(parse_capability_sets("CapInh:\t0\nCapPrm:\tzz\nCapEff:\t0\n").has_value());
}
