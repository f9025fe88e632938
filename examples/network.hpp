// SPDX-License-Identifier: BSD-3-Clause
// network.hpp - the set-up every example shares, written out once: a TUN device whose kernel
// side is 10.0.3.1/24 and fd00:3::1/64, and a stack on it answering 10.0.3.50 and fd00:3::50.
// TUNSTACK_DEV picks another device name (default tun0).
#ifndef TUNSTACK_EXAMPLES_NETWORK_HPP
#define TUNSTACK_EXAMPLES_NETWORK_HPP

#include "tunstack/tunstack.hpp"

#include <asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>

namespace example {

struct network {
  tunstack::tun_device tun;  // first: the device outlives the stack
  tunstack::stack stack;

  explicit network(asio::io_context& io)
      : tun(io, {.name = std::getenv("TUNSTACK_DEV") != nullptr ? std::getenv("TUNSTACK_DEV") : "tun0"}),
        stack(io) {
    tun.configure_kernel_side({.ipv4 = asio::ip::make_network_v4("10.0.3.1/24"),
                               .stack_ipv4 = asio::ip::make_address_v4("10.0.3.50"),
                               .ipv6 = asio::ip::make_network_v6("fd00:3::1/64"),
                               .stack_ipv6 = asio::ip::make_address_v6("fd00:3::50")});
    stack.add_interface(tun, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24"),
                              .ipv6 = {asio::ip::make_network_v6("fd00:3::50/64")}});
    std::fprintf(stderr, "example: stack at 10.0.3.50 and fd00:3::50 on %s\n", tun.name().c_str());
  }
};

}  // namespace example

#endif  // TUNSTACK_EXAMPLES_NETWORK_HPP
